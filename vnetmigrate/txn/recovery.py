"""Finish interrupted transactions and undo committed ones, where they ran.

A transaction is rolled back in the network namespace and under the root its journal
records, whatever the current command line says: that is where its changes are.
"""

from __future__ import annotations

from pathlib import Path

from vnetmigrate.netns import entered
from vnetmigrate.txn import engine, journal, snapshot
from vnetmigrate.txn.engine import Outcome
from vnetmigrate.txn.snapshot import Touched
from vnetmigrate.txn.statedir import StateDir, StateDirError


def _where(summary: journal.Summary) -> tuple[str | None, Path]:
    return summary.begin.get("netns"), Path(summary.begin.get("root") or "/")


def recover(state: StateDir, reason: str, retry: bool = False) -> list[Outcome]:
    """Roll back every interrupted transaction, newest first (the caller holds the lock).

    With `retry`, transactions whose rollback failed before are tried again too.
    """
    wanted = ("incomplete", "needs-attention") if retry else ("incomplete",)
    summaries = [s for s in (journal.read(d) for d in state.txn_dirs()) if s.status in wanted]
    return [roll_back_one(s, reason) for s in reversed(summaries)]


def roll_back_one(summary: journal.Summary, reason: str) -> Outcome:
    netns, root = _where(summary)
    with entered(netns):
        return engine.roll_back(summary, root, reason)


def latest_committed(state: StateDir) -> journal.Summary | None:
    committed = [s for s in (journal.read(d) for d in state.txn_dirs()) if s.status == "committed"]
    return committed[-1] if committed else None


def roll_back_committed(state: StateDir, summary: journal.Summary) -> Outcome:
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
        return engine.roll_back(summary, root, f"rollback of committed transaction {summary.id} requested")
