"""Finish interrupted transactions and undo committed ones, where they ran.

A transaction is rolled back in the network namespace and under the root its journal
records, whatever the current command line says: that is where its changes are.

Rolling back restores a transaction's snapshot. An unfinished transaction with a committed
one after it (a rollback failed, then a later migration committed anyway) would restore its
old snapshot over the later one's changes: that is refused unless the user names it and
forces it.
"""

from __future__ import annotations

from pathlib import Path

from vnetmigrate.netns import entered
from vnetmigrate.txn import engine, journal, snapshot
from vnetmigrate.txn.engine import AS_JOURNALED, Restart, TxnResult
from vnetmigrate.txn.snapshot import Touched
from vnetmigrate.txn.statedir import StateDir, StateDirError


def _where(summary: journal.Summary) -> tuple[str | None, Path]:
    return summary.begin.get("netns"), Path(summary.begin.get("root") or "/")


def summaries(state: StateDir) -> list[journal.Summary]:
    """Every transaction's summary, oldest first."""
    return [journal.read(d) for d in state.txn_dirs()]


def committed_after(state: StateDir, summary: journal.Summary) -> list[journal.Summary]:
    """The committed transactions made after `summary`."""
    every = summaries(state)
    later = every[[s.id for s in every].index(summary.id) + 1:]
    return [s for s in later if s.status == "committed"]


def superseded(summary: journal.Summary, later: list[journal.Summary]) -> StateDirError:
    ids = ", ".join(s.id for s in later)
    return StateDirError(
        f"transaction {summary.id} is {summary.status}, but {ids} committed after it: rolling {summary.id} back "
        f"would restore its snapshot over {ids}'s changes",
        hint=f"roll the later one back first (`vnetmigrate rollback {later[-1].id}`), or restore "
             f"{summary.id}'s snapshot anyway with `vnetmigrate rollback {summary.id} --force`")


def recover(state: StateDir, reason: str, retry: bool = False, how: Restart = AS_JOURNALED) -> list[TxnResult]:
    """Roll back every interrupted transaction, newest first (the caller holds the lock).

    With `retry`, transactions whose rollback failed before are tried again too. Refused
    (nothing done) when a committed transaction follows one of them.
    """
    wanted = ("incomplete", "needs-attention") if retry else ("incomplete",)
    every = summaries(state)
    for i, s in enumerate(every):
        later = [t for t in every[i + 1:] if t.status == "committed"]
        if s.status in wanted and later:
            raise superseded(s, later)
    return [roll_back_one(s, reason, how) for s in reversed(every) if s.status in wanted]


def roll_back_one(summary: journal.Summary, reason: str, how: Restart = AS_JOURNALED) -> TxnResult:
    netns, root = _where(summary)
    with entered(netns):
        return engine.roll_back(summary, root, reason, how)


def latest_committed(state: StateDir) -> journal.Summary | None:
    committed = [s for s in summaries(state) if s.status == "committed"]
    return committed[-1] if committed else None


def roll_back_committed(state: StateDir, summary: journal.Summary, how: Restart = AS_JOURNALED) -> TxnResult:
    """Undo a committed transaction: only the newest, and only if nobody changed its objects since."""
    newest = latest_committed(state)
    if newest is None or newest.id != summary.id:
        raise StateDirError(f"transaction {summary.id} is not the newest committed one ({newest.id if newest else 'none'}): "
                            "undo the newer one first")
    netns, root = _where(summary)
    commit = next(r for r in reversed(summary.records) if r["rec"] == "commit")
    with entered(netns):
        now = snapshot.probe(Touched.from_dict(summary.begin["touched"]))
        if commit.get("fingerprint") and now != commit["fingerprint"]:
            raise StateDirError(f"what transaction {summary.id} changed has been changed again since it committed "
                                "(libvirt restarted a network, or someone edited the rules): rolling it back "
                                "would undo that too", hint="compare with `vnetmigrate plan`; migrate again instead")
        return engine.roll_back(summary, root, f"rollback of committed transaction {summary.id} requested", how)
