"""The state directory: one lock for all changes, one directory per transaction.

    STATE_DIR/lock                    flock(2)ed by the process changing the host; holds its pid
    STATE_DIR/txn/<id>/journal.jsonl  the append-only journal (journal.py)
    STATE_DIR/txn/<id>/snapshot.json  everything the transaction will touch, as it was before

STATE_DIR defaults to /var/lib/vnetmigrate under --root, for every command: the journals
describe the machine whose files the transactions change, so they live on it.

Transaction ids are UTC times with microseconds (20261126T101112.123456Z-3f9a1c): sorting
them sorts the transactions. A new id is made later than every id already there (they are
made under the lock), so a clock stepped back or two transactions in one microsecond cannot
reorder them. Ids of earlier versions have whole seconds; among those, the begin record's
time breaks ties.

The lock is an flock on an open file, so the kernel releases it when the holder dies, even by
SIGKILL: a crashed migration never leaves a stale lock, only an incomplete journal.

The state dir is trusted only when it deserves it (vnetmigrate.txnstore.trusted says when);
it is created 0700 whatever the umask, and files in it are opened with O_NOFOLLOW.
"""

from __future__ import annotations

import fcntl
import os
import stat
import time
from pathlib import Path

from vnetmigrate import txnstore
from vnetmigrate.txn.fsutil import fsync_dir
from vnetmigrate.txnstore import DEFAULT, TXN, StateDirError, default_dir, explain, id_micros, trusted

__all__ = ["DEFAULT", "TXN", "StateDir", "StateDirError", "default_dir", "explain", "id_micros",
           "make_private_dir", "new_id", "trusted"]
_clock = time.time_ns  # tests replace it


def new_id(existing: list[str]) -> str:
    """An id later than now and than every id in `existing`."""
    micros = _clock() // 1000
    micros = max([micros, *((t + 1) for n in existing if (t := id_micros(n)) is not None)])
    seconds, fraction = divmod(micros, 1_000_000)
    # os.urandom(3).hex() is secrets.token_hex(3), without importing secrets (hmac, hashlib)
    return f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime(seconds))}.{fraction:06d}Z-{os.urandom(3).hex()}"


def make_private_dir(path: Path) -> None:
    """Create `path` 0700 (and missing parents 0755) whatever the umask."""
    missing = []
    p = path
    while not os.path.lexists(p):
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        mode = 0o700 if d == path else 0o755
        try:
            os.mkdir(d, mode)
        except FileExistsError:
            continue
        os.chmod(d, mode)


class StateDir:
    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._lock_fd: int | None = None

    @property
    def txn_root(self) -> Path:
        return self.path / TXN

    # -- checks ---------------------------------------------------------------
    def ensure(self) -> "StateDir":
        """Create the directory if needed and prove it can be written (before any change)."""
        try:
            trusted(self.path)
            if self.path.exists() and not self.path.is_dir():
                raise StateDirError(f"state dir {self.path} is not a directory")
            make_private_dir(self.path)
            make_private_dir(self.txn_root)
            trusted(self.path)
            trusted(self.txn_root)
            probe = self.path / f".probe-{os.getpid()}"
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                os.write(fd, b"probe\n")
                os.fsync(fd)
            finally:
                os.close(fd)
            os.unlink(probe)
            os.listdir(self.txn_root)
        except StateDirError:
            raise
        except OSError as exc:
            raise StateDirError(f"state dir {self.path} cannot be used: {explain(exc)}",
                                hint="choose another with --state-dir DIR")
        return self

    def readable(self) -> bool:
        """Whether there is anything to read (txnstore.readable; refuses an untrusted state dir)."""
        return txnstore.readable(self.path)

    # -- the lock ---------------------------------------------------------------
    def lock(self) -> None:
        self._lock_fd = take_lock(self.path / "lock", "this host")

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def __enter__(self) -> "StateDir":
        self.ensure()
        self.lock()
        return self

    def __exit__(self, *exc: object) -> None:
        self.unlock()

    # -- transactions -------------------------------------------------------------
    def new_txn_dir(self) -> Path:
        """A directory for a new transaction (the caller holds the lock)."""
        try:
            existing = os.listdir(self.txn_root)
        except OSError as exc:
            raise StateDirError(f"cannot list {self.txn_root}: {explain(exc)}")
        path = self.txn_root / new_id(existing)
        try:
            path.mkdir(mode=0o700)
            fsync_dir(self.txn_root)
        except OSError as exc:
            raise StateDirError(f"cannot create {path}: {explain(exc)}")
        return path

    def txn_dirs(self) -> list[Path]:
        """Transaction directories, oldest first."""
        return txnstore.txn_dirs(self.path)

    def txn_dir(self, txn_id: str) -> Path:
        if "/" in txn_id or txn_id in ("", ".", ".."):
            raise StateDirError(f"invalid transaction id {txn_id!r}")
        path = self.txn_root / txn_id
        if not (path / txnstore.JOURNAL).exists():
            raise StateDirError(f"no transaction {txn_id!r} in {self.txn_root}",
                                hint="`vnetmigrate history` lists them")
        return path


def take_lock(path: Path, changing: str) -> int:
    """An exclusive flock on `path` (created 0600), with this process's pid written in it; the
    open descriptor, whose closing releases the lock. Taken by another process: refused, naming
    its pid and what it is changing (`changing`)."""
    try:
        # O_NOFOLLOW: a link planted here was once followed, and the file it named truncated.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
    except OSError as exc:
        raise StateDirError(f"cannot open the lock file {path}: {explain(exc)}")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StateDirError(f"cannot use the lock file {path}: not a regular file")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise StateDirError(f"another vnetmigrate (pid {holder}) is changing {changing}: it holds the lock "
                            f"{path}", hint="wait for it to finish; nothing was changed")
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd
