"""Enter a named network namespace (``ip netns`` style) for the calling thread.

Python 3.11 has no ``os.setns``, so libc's setns(2) is called through ctypes. Commands
started while inside inherit the namespace; /proc/net and /proc/sys/net of this process
reflect it; libnftables contexts created inside talk to its kernel tables.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
from collections.abc import Iterator

from vnetmigrate.errors import EnvironmentProblem, InputError

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = "/run/netns"
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def validate_name(name: str) -> str:
    if not _NAME_RE.match(name) or name in (".", ".."):
        raise InputError(f"invalid network namespace name {name!r}")
    return name


@contextlib.contextmanager
def entered(name: str | None) -> Iterator[None]:
    """Run the body inside network namespace `name` (no-op for None), then come back."""
    if name is None:
        yield
        return
    path = os.path.join(NETNS_RUN_DIR, validate_name(name))
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise EnvironmentProblem(f"network namespace {name!r} does not exist ({path})")
    except PermissionError:
        raise EnvironmentProblem(f"cannot open network namespace {name!r}: permission denied (run as root)")
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            _setns(target)
        except OSError as exc:
            raise EnvironmentProblem(f"cannot enter network namespace {name!r}: {exc.strerror} (run as root)")
        try:
            yield
        finally:
            _setns(original)
    finally:
        os.close(target)
        os.close(original)
