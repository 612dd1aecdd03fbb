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
from pathlib import Path

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.libvirt import netconf
from vnetmigrate.netns import entered
from vnetmigrate.txn import engine, journal, snapshot
from vnetmigrate.txn.engine import AS_JOURNALED, Restart, TxnResult
from vnetmigrate.txn.snapshot import Touched
from vnetmigrate.txn.fsutil import OutsideRoot, fsync_dir, remove_durably, under_root
from vnetmigrate.txn.statedir import StateDir, StateDirError, make_private_dir


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
            host = " (the host's network namespace)"
            ran = f"--root {root}" + (f" --netns {netns}" if netns else host)
            now = f"--root {self.root}" + (f" --netns {self.netns}" if self.netns else host)
            raise StateDirError(
                f"transaction {summary.id} ran with {ran}, this command with {now}: refused, nothing was changed",
                hint=f"run `vnetmigrate rollback {summary.id} --root {root}"
                     + (f" --netns {netns}" if netns else "") + "` to roll it back where it ran")


def _where(summary: journal.Summary, where: Where | None) -> tuple[str | None, Path]:
    if where is not None:
        where.check(summary)
        return where.netns, where.root
    return summary.begin.get("netns"), Path(summary.begin.get("root") or "/")


ASIDE = "aside"
TEMP_SUFFIX = ".vnm-tmp"  # what fsutil.atomic_write's temporary files end with


def tidy(state: StateDir, root: Path, netns: str | None = None) -> list[str]:
    """Clear what killed runs left that touched nothing; what was done, as sentences.

    A transaction whose journal holds no whole record (or that has no journal) was killed
    before its begin record, so before any change, or its journal lost its records on disk:
    when what its snapshot holds equals the live state (in `netns`, under `root`: the
    command's), its directory is moved to STATE/aside/; otherwise it is refused (JournalCorrupt),
    naming what differs.
    Temporary files of atomic writes (`.NAME.*.vnm-tmp`) are removed from the transaction
    directories and from beside every file a transaction writes under `root`. A finished
    journal without its sealed summary gets one (journal.seal). The caller holds the locks: no
    other run is writing any of them.
    """
    notes: list[str] = [f"removed {p}, the write test of a killed run" for p in sorted(state.path.glob(".probe-*"))
                        if _dead(p.name.removeprefix(".probe-")) and p.is_file() and not p.is_symlink()
                        and remove_durably(p)]
    if not state.txn_root.is_dir():
        return notes
    written = {netconf.PATH}
    for d in sorted(state.txn_root.iterdir()):
        if d.is_symlink() or not d.is_dir():
            continue
        notes += _remove_temp(d, "*")
        try:
            if os.path.lexists(d / journal.NAME):
                summary = journal.read(d)
                written.update(_written_files(summary.begin))
                if not summary.sealed:
                    journal.seal(d)
                continue
        except journal.JournalNeverBegan:
            pass
        except journal.JournalCorrupt:
            continue
        _unchanged_since(d, root, netns)
        aside = state.path / ASIDE
        make_private_dir(aside)
        os.rename(d, aside / d.name)
        fsync_dir(state.txn_root)
        notes.append(f"transaction {d.name} never began (killed before its journal's first record, so before any "
                     f"change; what it would touch equals its snapshot): set aside to {aside / d.name}")
    for path in sorted(written):
        try:
            target = under_root(root, path)
        except OutsideRoot:
            continue
        notes += _remove_temp(target.parent, target.name)
    return notes


def _unchanged_since(txn_dir: Path, root: Path, netns: str | None) -> None:
    """Refuse (JournalCorrupt) unless what the transaction's snapshot holds is the live state.

    A run killed before its begin record changed nothing; a journal emptied or cut on disk
    looks the same. Only the live state tells them apart: the snapshot is written before the
    journal is created, so a transaction without one was tampered with.
    """
    hint = (f"nothing was changed; check the host by hand (`vnetmigrate scan`; its snapshot is "
            f"{txn_dir / engine.SNAPSHOT}), then move {txn_dir} aside")
    snap = engine.load_snapshot(txn_dir)
    try:
        with entered(netns):
            diffs = snapshot.differences(snap, snapshot.capture(Touched.from_dict(snap["touched"]), root))
    except (KeyError, TypeError, AttributeError) as exc:
        raise journal.JournalCorrupt(f"the snapshot of transaction {txn_dir.name} is malformed ({exc})", hint=hint)
    if diffs:
        raise journal.JournalCorrupt(
            f"journal of transaction {txn_dir.name} holds no record, yet what it touches differs from its snapshot "
            f"({', '.join(diffs)}): it may have been emptied on disk after changing the host", hint=hint)


def _dead(pid: str) -> bool:
    """Whether no process has this pid (a probe file's owner): its probe file is a leftover."""
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _written_files(begin: dict) -> list[str]:
    """The files a journal's begin record says its transaction touches (a crafted one: none)."""
    touched = begin.get("touched")
    files = touched.get("files") if isinstance(touched, dict) else None
    return [f for f in files if isinstance(f, str)] if isinstance(files, list) else []


def _remove_temp(directory: Path, name: str) -> list[str]:
    out = []
    for tmp in sorted(directory.glob(f".{name}.*{TEMP_SUFFIX}")) if directory.is_dir() else ():
        if tmp.is_file() and not tmp.is_symlink() and remove_durably(tmp):
            out.append(f"removed {tmp}, a temporary file a killed run left")
    return out


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
            where: Where | None = None) -> list[TxnResult]:
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
                  where: Where | None = None) -> TxnResult:
    """`where`: the command line's --netns and --root, which must be the journal's (None:
    trust the journal, for callers inside the project)."""
    netns, root = _where(summary, where)
    with entered(netns):
        return engine.roll_back(summary, root, reason, how)


def latest_committed(state: StateDir) -> journal.Summary | None:
    committed = [s for s in summaries(state) if s.status == "committed"]
    return committed[-1] if committed else None


def roll_back_committed(state: StateDir, summary: journal.Summary, how: Restart = AS_JOURNALED,
                        where: Where | None = None) -> TxnResult:
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
