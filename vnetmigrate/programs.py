"""Finding the host's programs: what looking (collect) and changing (txn) both run."""

from __future__ import annotations

import os

# Commands are looked up here as well as in PATH: many are in /usr/sbin, which a
# non-login root shell may not have.
EXTRA_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def which(name: str) -> str | None:
    path = os.environ.get("PATH", "")
    search = os.pathsep.join([path, *EXTRA_PATH])
    return _which(name, search)


def _which(cmd: str, path: str) -> str | None:
    """shutil.which(cmd, path=path) on POSIX, without importing shutil (and the compression
    modules it loads): a few ms of every command's start-up."""
    if os.path.dirname(cmd):
        return cmd if _executable(cmd) else None
    seen = set()
    for directory in path.split(os.pathsep):
        if directory not in seen:
            seen.add(directory)
            name = os.path.join(directory, cmd)
            if _executable(name):
                return name
    return None


def _executable(name: str) -> bool:
    return os.path.exists(name) and os.access(name, os.F_OK | os.X_OK) and not os.path.isdir(name)
