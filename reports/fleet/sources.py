"""Which paths are hosts: saved scans and saved evidence, given or found in directories.

A fleet's scans arrive from everywhere (an Ansible run's fetched facts, support bundles, files
mailed in), so every host is read and checked on its own, exactly as `vnetmigrate report`
reads one (the CLI reads them: cli/fleet.py): what is wrong with one file is that host's
error, never the fleet's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

MANIFEST = "manifest.json"  # what makes a directory saved evidence (vnetmigrate/evidence.py)


def is_evidence(path: Path) -> bool:
    try:
        return (path / MANIFEST).is_file()
    except OSError:  # a directory we may not enter (is_file raises EACCES): walking it says so
        return False


def host_paths(given: list[Path]) -> Iterator[tuple[Path, bool, str | None]]:
    """(path, found_in_a_directory, why it cannot be read or None) for each host, in the order given.

    A file or an evidence directory is one host; any other directory is searched, in sorted
    order and recursively, for `*.json` files and evidence directories. A path that does not
    exist is yielded too: reading it reports it as that host's error; so is a directory that
    cannot be listed (it may hold hosts: the report must not look complete without them)."""
    for path in given:
        if path.is_dir() and not is_evidence(path):
            yield from _walk(path)
        else:
            yield path, False, None


def _walk(top: Path) -> Iterator[tuple[Path, bool, str | None]]:
    unlisted: list[OSError] = []
    for directory, subdirs, files in os.walk(top, onerror=unlisted.append):
        here = Path(directory)
        evidence = sorted(d for d in subdirs if is_evidence(here / d))
        subdirs[:] = sorted(d for d in subdirs if d not in evidence)  # evidence is a host, not a tree
        for path in sorted([here / d for d in evidence] + [here / f for f in files if f.endswith(".json")]):
            yield path, True, None
    for exc in unlisted:
        yield Path(exc.filename), True, f"cannot list the directory {exc.filename}: {exc.strerror or exc}"

