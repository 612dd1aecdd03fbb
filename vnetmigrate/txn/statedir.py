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

The state dir is trusted only when it deserves it (`trusted`): it and every directory above it
up to / are owned by root (or the user running vnetmigrate), none is writable by group or
others (above the state dir, unless sticky, like /tmp), and no symbolic link on the way is
owned by anyone else. Otherwise another user could replace a journal (and so what a rollback
writes) or plant a link where root then writes. It is created 0700 whatever the umask; files
in it are opened with O_NOFOLLOW.
"""

from __future__ import annotations

import calendar
import errno
import fcntl
import os
import re
import secrets
import stat
import time
from pathlib import Path

from vnetmigrate import bounded
from vnetmigrate.errors import VnmError
from vnetmigrate.txn.fsutil import fsync_dir

DEFAULT = "/var/lib/vnetmigrate"
TXN = "txn"
_ID = re.compile(r"^(\d{8}T\d{6})(?:\.(\d{6}))?Z-")
_clock = time.time_ns  # tests replace it


def default_dir(root: str | os.PathLike[str] = "/") -> Path:
    """The state directory of the host whose files live under `root`."""
    return Path(root) / DEFAULT.lstrip("/")


def id_micros(txn_id: str) -> int | None:
    """The time (microseconds since the epoch) an id names; None for a name that is no id."""
    m = _ID.match(txn_id)
    try:
        seconds = calendar.timegm(time.strptime(m.group(1), "%Y%m%dT%H%M%S")) if m else None
    except ValueError:
        seconds = None
    if m is None or seconds is None:
        return None
    return seconds * 1_000_000 + int(m.group(2) or 0)


def new_id(existing: list[str]) -> str:
    """An id later than now and than every id in `existing`."""
    micros = _clock() // 1000
    micros = max([micros, *((t + 1) for n in existing if (t := id_micros(n)) is not None)])
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime(seconds))}.{fraction:06d}Z-{secrets.token_hex(3)}"


class StateDirError(VnmError):
    """The state directory cannot be used: missing permissions, not a directory, full, locked."""


def explain(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on its filesystem"
    if exc.errno == errno.EROFS:
        return "its filesystem is read-only"
    return exc.strerror or str(exc)


def _owners() -> set[int]:
    return {0, os.geteuid()}


def trusted(path: str | os.PathLike[str]) -> None:
    """Refuse (StateDirError) a state dir that another user could change: see the module's doc.

    Checked from / down, component by component with lstat (a symbolic link is judged as a
    link, then its target's own chain); stops at the first component that does not exist yet
    (what is created below a trusted directory is created by us).
    """
    try:
        _trusted_chain(os.path.abspath(path), Path(path), depth=0)
    except OSError as exc:
        raise StateDirError(f"state dir {path} cannot be checked: {explain(exc)}", hint=_HINT)


def _trusted_chain(absolute: str, named: Path, depth: int) -> None:
    if depth > 8:
        raise StateDirError(f"state dir {named}: too many symbolic links on the way")
    current = "/"
    parts = [p for p in absolute.split("/") if p]
    _check_dir(current, os.lstat(current), named, last=not parts)
    for i, part in enumerate(parts):
        nxt = os.path.join(current, part)
        try:
            st = os.lstat(nxt)
        except FileNotFoundError:
            return
        last = i == len(parts) - 1
        if stat.S_ISLNK(st.st_mode):
            if st.st_uid not in _owners():
                raise StateDirError(f"state dir {named} is not safe: {nxt} is a symbolic link owned by uid "
                                    f"{st.st_uid}", hint=_HINT)
            # The link is ours: judge where it leads, and the rest of the path from there.
            _trusted_chain(os.path.join(os.path.realpath(nxt), *parts[i + 1:]), named, depth + 1)
            return
        if not stat.S_ISDIR(st.st_mode):
            return  # not a directory: ensure/readable say so in their own words
        _check_dir(nxt, st, named, last)
        current = nxt


_HINT = "use a state dir only root can change (choose another with --state-dir DIR)"


def _check_dir(path: str, st: os.stat_result, named: Path, last: bool) -> None:
    if st.st_uid not in _owners():
        raise StateDirError(f"state dir {named} is not safe: {path} is owned by uid {st.st_uid}, not root",
                            hint=_HINT)
    writable = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if writable and (last or not st.st_mode & stat.S_ISVTX):
        who = "group and others" if st.st_mode & stat.S_IWGRP and st.st_mode & stat.S_IWOTH else \
            "its group" if st.st_mode & stat.S_IWGRP else "others"
        raise StateDirError(f"state dir {named} is not safe: {path} is writable by {who} "
                            f"(mode {stat.S_IMODE(st.st_mode):04o})", hint=_HINT)


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
        """Whether there is anything to read (history, scan and rollback never create the directory).

        A path that exists but is no directory is an error, not an empty state dir; one that
        another user could change is refused (`trusted`).
        """
        trusted(self.path)
        trusted(self.txn_root)
        if self.txn_root.is_dir():
            return True
        for path in (self.path, self.txn_root):
            if path.exists() and not path.is_dir():
                raise StateDirError(f"state dir {self.path} is not a directory" if path == self.path else
                                    f"{path} is not a directory", hint="choose another with --state-dir DIR")
        return False

    # -- the lock ---------------------------------------------------------------
    def lock(self) -> None:
        path = self.path / "lock"
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
            raise StateDirError(f"another vnetmigrate (pid {holder}) is changing this host: it holds the lock "
                                f"{path}", hint="wait for it to finish; nothing was changed")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

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
        if not self.readable():
            return []
        try:
            names = os.listdir(self.txn_root)
        except OSError as exc:
            raise StateDirError(f"cannot list {self.txn_root}: {explain(exc)}")
        dirs = [self.txn_root / n for n in names
                if not (self.txn_root / n).is_symlink() and (self.txn_root / n / "journal.jsonl").exists()]
        return sorted(dirs, key=_age)

    def txn_dir(self, txn_id: str) -> Path:
        if "/" in txn_id or txn_id in ("", ".", ".."):
            raise StateDirError(f"invalid transaction id {txn_id!r}")
        path = self.txn_root / txn_id
        if not (path / "journal.jsonl").exists():
            raise StateDirError(f"no transaction {txn_id!r} in {self.txn_root}",
                                hint="`vnetmigrate history` lists them")
        return path


def _age(directory: Path) -> tuple[int, float, str]:
    """Sort key: the id's time; for ids with whole seconds (earlier versions), then the begin
    record's time (milliseconds); then the name."""
    micros = id_micros(directory.name)
    begun = 0.0
    if micros is not None and "." not in directory.name.split("Z-", 1)[0]:
        try:
            first = bounded.read_bytes(directory / "journal.jsonl", bounded.DOCUMENT_LIMIT, nofollow=True)
            begun = float(bounded.load_json(first.split(b"\n", 1)[0]).get("time") or 0)
        except (OSError, ValueError, TypeError, AttributeError, VnmError):
            pass
    return (micros if micros is not None else -1, begun, directory.name)
