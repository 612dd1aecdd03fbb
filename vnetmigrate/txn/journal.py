"""The append-only journal of one transaction (design principle 6: the journal is the truth).

One JSON object per line. Every record is written with one write(2), then the file and its
directory are fsynced before the caller goes on, so what the journal says happened is on disk
before the next change to the host starts:

    begin      what the transaction is for, its plan fingerprint, its step count
    snapshot   the snapshot file was written (its sha256)
    intent     step i is about to run: its data and its undo
    done       step i completed (its result, the fingerprint of the state after it)
    failed     step i failed (the error)
    rollback   rolling back starts (why)
    undoing    step i is about to be undone (a rollback's intent; every undo is state-based, so a
               killed rollback is resumed by undoing every started step again)
    undone     step i was undone          undo-failed   undoing step i failed (the error)
    commit     the transaction completed and was verified
    rolled-back        every started step was undone and the old state verified
    rollback-failed    something could not be undone: the host needs attention

A last line without its newline is a record whose write was cut by a crash: it was never
acknowledged, so the step it announces never started, and it is ignored. Anything else
unparseable makes the journal corrupt: one clear error, and nothing is changed.
"""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

from vnetmigrate import bounded
from vnetmigrate.errors import VnmError
from vnetmigrate.txn.fsutil import atomic_write, fsync_dir, reserve
from vnetmigrate.txnstore import JOURNAL as NAME
from vnetmigrate.txnstore import SEALED
from vnetmigrate.txnstore import (RECORD_KINDS, TERMINAL, JournalCorrupt, JournalNeverBegan, StateDirError, Summary,
                                  explain, journal_identity, read, sealed, sealed_text)

__all__ = ["NAME", "RECORD_KINDS", "TERMINAL", "Journal", "JournalCorrupt", "JournalNeverBegan", "JournalWriteError",
           "Summary", "read", "seal"]
RESERVE = 4 * 1024 * 1024


class JournalWriteError(StateDirError):
    pass


class Journal:
    """Appends records durably. Open with `create` (new transaction) or `append_to` (recovery)."""

    def __init__(self, path: Path, fd: int):
        self.path = path
        self._fd = fd

    @classmethod
    def create(cls, directory: Path) -> "Journal":
        path = directory / NAME
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW,
                         0o600)
        except OSError as exc:
            raise JournalWriteError(f"cannot create the journal {path}: {explain(exc)}")
        try:
            reserve(fd, RESERVE)
            fsync_dir(directory)
        except OSError as exc:
            os.close(fd)
            os.unlink(path)
            raise JournalWriteError(f"cannot create the journal {path}: {explain(exc)}")
        return cls(path, fd)

    @classmethod
    def append_to(cls, directory: Path) -> "Journal":
        path = directory / NAME
        try:
            # Never through a link, never a FIFO (O_NONBLOCK: its open would wait for a reader).
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            raise JournalWriteError(f"cannot open the journal {path}: {explain(exc)}")
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise JournalWriteError(f"cannot open the journal {path}: not a regular file")
            _drop_torn_tail(path, fd)
            fsync_dir(directory)  # a crash may have come between its creation and create's own sync
        except OSError as exc:
            os.close(fd)
            raise JournalWriteError(f"cannot open the journal {path}: {explain(exc)}")
        except VnmError:
            os.close(fd)
            raise
        return cls(path, fd)

    def append(self, rec: str, **fields: Any) -> dict[str, Any]:
        entry = {"rec": rec, "time": round(time.time(), 3), **fields}
        data = (json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n").encode()
        try:
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(28, "short write to the journal")
            # The file's fsync makes the record and the new length durable; the journal's
            # directory entry became durable when it was opened (create, append_to), so the
            # directory is not synced again per record (13 a migration).
            os.fsync(self._fd)
        except OSError as exc:
            raise JournalWriteError(f"cannot write the journal {self.path}: {explain(exc)}")
        return entry

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _drop_torn_tail(path: Path, fd: int) -> None:
    """Cut a final record that lacks its newline (a write cut short by a crash)."""
    try:
        data = bounded.read_bytes(path, bounded.DOCUMENT_LIMIT, nofollow=True)
    except bounded.Unreadable as exc:
        raise JournalWriteError(f"cannot open the journal {exc.message}")
    if data and not data.endswith(b"\n"):
        os.ftruncate(fd, data.rfind(b"\n") + 1)
        os.fsync(fd)


def seal(directory: Path) -> bool:
    """Write the sealed summary of a finished journal beside it (txnstore: `sealed`), so later
    runs read that instead of the whole journal. The caller holds the state dir's lock. False,
    and nothing written, for a journal still running, already sealed, unreadable or changing,
    or when the summary cannot be written (it only saves time: the journal stays the truth)."""
    path = directory / NAME
    identity = journal_identity(path)
    if identity is None or sealed(directory) is not None:
        return False
    try:
        text = sealed_text(read(directory, full=True), identity)
    except JournalCorrupt:
        return False
    if text is None or journal_identity(path) != identity:
        return False
    try:
        # Not synced: a crash leaves the old state (no summary) or a file that is not this
        # summary's JSON (empty, cut short), which txnstore.sealed passes over for the journal.
        atomic_write(directory / SEALED, text, mode=0o600, durable=False)
    except OSError:
        return False
    return True
