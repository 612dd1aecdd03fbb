"""A clean copy of the source tree for package builds, and what the packages are built from.

Package builds write into their tree (build/, .pybuild/, debian/vnetmigrate/, *.egg-info):
tests build from a copy so the checkout stays as it is.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What ends up in the packages: a change anywhere here needs a new build.
PACKAGE_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "MANIFEST.in",
                  "vnetmigrate", "checks", "reports", "man", "completions", "debian", "packaging")
_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", "build", "dist",
                                     "*.egg-info", ".cache", "*.pyc")
# A clean PATH: a developer's pyenv or venv shims must not stand in for the OS Python that
# Debian's and Fedora's tooling build with.
OS_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LC_ALL": "C.UTF-8"}


def copy_source(dst: Path) -> Path:
    """Copy the checkout (without .git, .venv and build output) to dst; returns dst."""
    shutil.copytree(REPO, dst, ignore=_NOT_SOURCE, symlinks=True)
    return dst


def inputs_hash() -> str:
    """A digest of every file the packages are built from."""
    digest = hashlib.sha256()
    for top in PACKAGE_INPUTS:
        path = REPO / top
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()
                                                     and "__pycache__" not in p.parts and p.suffix != ".pyc")
        for f in files:
            digest.update(f.relative_to(REPO).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
