"""One change at a time per host — per network namespace — whatever state dir each run uses.

The state dir's own lock (statedir.py) only excludes runs that share a state dir: two
migrations with different --state-dir on one host ran at once and collided (spurious exit 6).
What they share is the firewall of one network namespace, so that is what is locked:

    /run/vnetmigrate/netns-<inode>.lock    flock(2)ed by the process changing that namespace

keyed by the inode of the namespace (what `ip netns identify` and /proc/PID/ns/net name), so
`--netns NAME` and a process already inside it agree, and namespaces never share a lock.
/run is a tmpfs: nothing outlives a reboot, and the kernel drops the flock when its holder
dies, even by SIGKILL.

VNETMIGRATE_LOCK_DIR replaces /run/vnetmigrate (the tests point it at a temporary directory,
so they never touch this machine's /run). The directory is trusted like the state dir.
"""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

from vnetmigrate.netns import entered
from vnetmigrate.txn.statedir import make_private_dir
from vnetmigrate.txnstore import StateDirError, explain, trusted

DEFAULT = "/run/vnetmigrate"
ENV = "VNETMIGRATE_LOCK_DIR"


def lock_dir() -> Path:
    return Path(os.environ.get(ENV) or DEFAULT)


def namespace_inode(netns: str | None) -> int:
    with entered(netns):
        return os.stat("/proc/thread-self/ns/net").st_ino


class HostLock:
    """flock on the lock file of `netns` (None: this process's namespace), held while in `with`."""

    def __init__(self, netns: str | None):
        self.netns = netns
        self._fd: int | None = None

    def __enter__(self) -> "HostLock":
        directory = lock_dir()
        try:
            trusted(directory)
            make_private_dir(directory)
            trusted(directory)
        except OSError as exc:
            raise StateDirError(f"cannot create the lock directory {directory}: {explain(exc)}")
        where = f"network namespace {self.netns}" if self.netns else "the host's network namespace"
        path = directory / f"netns-{namespace_inode(self.netns)}.lock"
        try:
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
            raise StateDirError(f"another vnetmigrate (pid {holder}) is changing the firewall of {where}: it holds "
                                f"the lock {path}", hint="wait for it to finish; nothing was changed")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None
