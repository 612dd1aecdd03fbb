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

import os
from pathlib import Path

from vnetmigrate.netns import entered
from vnetmigrate.txn.statedir import make_private_dir, take_lock
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
        self._fd = take_lock(path, f"the firewall of {where}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None
