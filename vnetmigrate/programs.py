"""Finding the host's programs: what looking (collect) and changing (txn) both run."""

from __future__ import annotations

import os
import shutil

# Commands are looked up here as well as in PATH: many are in /usr/sbin, which a
# non-login root shell may not have.
EXTRA_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def which(name: str) -> str | None:
    path = os.environ.get("PATH", "")
    search = os.pathsep.join([path, *EXTRA_PATH])
    return shutil.which(name, path=search)
