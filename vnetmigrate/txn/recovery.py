"""Finish interrupted transactions and undo committed ones, where they ran.

A transaction is rolled back in the network namespace and under the root its journal
records: that is where its changes are. The command line must name the same ones
(`Where`): a journal is data, and one crafted or copied from elsewhere must not choose where
root writes. A mismatch is refused, naming the options that match.

Rolling back restores a transaction's snapshot. An unfinished transaction with a committed
one after it (a rollback failed, then a later migration committed anyway) would restore its
old snapshot over the later one's changes: that is refused unless the user names it and
forces it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vnetmigrate.netns import entered
from vnetmigrate.txn import engine, journal, snapshot
from vnetmigrate.txn.engine import AS_JOURNALED, Outcome, Restart
from vnetmigrate.txn.snapshot import Touched
from vnetmigrate.txn.statedir import StateDir, StateDirError


@dataclass(frozen=True)
class Where:
    """Where the invoking command works: its --netns and --root."""

    netns: str | None
    root: Path

    def check(self, summary: journal.Summary) -> None:
        netns, root = summary.begin.get("netns"), summary.begin.get("root") or "/"
        if not isinstance(root, str) or (netns is not None and not isinstance(netns, str)):
            raise journal.JournalCorrupt(f"journal of transaction {summary.id}: its netns or root is malformed")
        if netns != self.netns or os.path.realpath(root) != os.path.realpath(self.root):
            ran = f"--root {root}" + (f" --netns {netns}" if netns else " (the host's network namespace)")
            now = f"--root {self.root}" + (f" --netns {self.netns}" if self.netns else " (the host's network namespace)")
            raise StateDirError(
                f"transaction {summary.id} ran with {ran}, this command with {now}: refused, nothing was changed",
                hint=f"run `vnetmigrate rollback {summary.id} --root {root}"
                     + (f" --netns {netns}" if netns else "") + "` to roll it back where it ran")


def _where(summary: journal.Summary, where: Where | None) -> tuple[str | None, Path]:
    if where is not None:
        where.check(summary)
        return where.netns, where.root
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


def recover(state: StateDir, reason: str, retry: bool = False, how: Restart = AS_JOURNALED,
            where: Where | None = None) -> list[Outcome]:
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
    chosen = [s for s in reversed(every) if s.status in wanted]
    for s in chosen if where is not None else ():  # every one checked before any is touched
        where.check(s)
    return [roll_back_one(s, reason, how, where) for s in chosen]


def roll_back_one(summary: journal.Summary, reason: str, how: Restart = AS_JOURNALED,
                  where: Where | None = None) -> Outcome:
    """`where`: the command line's --netns and --root, which must be the journal's (None:
    trust the journal, for callers inside the project)."""
    netns, root = _where(summary, where)
    with entered(netns):
        return engine.roll_back(summary, root, reason, how)


def latest_committed(state: StateDir) -> journal.Summary | None:
    committed = [s for s in summaries(state) if s.status == "committed"]
    return committed[-1] if committed else None


def roll_back_committed(state: StateDir, summary: journal.Summary, how: Restart = AS_JOURNALED,
                        where: Where | None = None) -> Outcome:
    """Undo a committed transaction: only the newest, and only if nobody changed its objects since."""
    newest = latest_committed(state)
    if newest is None or newest.id != summary.id:
        raise StateDirError(f"transaction {summary.id} is not the newest committed one ({newest.id if newest else 'none'}): "
                            "undo the newer one first")
    netns, root = _where(summary, where)
    commit = next(r for r in reversed(summary.records) if r["rec"] == "commit")
    with entered(netns):
        now = snapshot.probe(Touched.from_dict(summary.begin["touched"]))
        if commit.get("fingerprint") and now != commit["fingerprint"]:
            raise StateDirError(f"what transaction {summary.id} changed has been changed again since it committed "
                                "(libvirt restarted a network, or someone edited the rules): rolling it back "
                                "would undo that too", hint="compare with `vnetmigrate plan`; migrate again instead")
        return engine.roll_back(summary, root, f"rollback of committed transaction {summary.id} requested", how)
