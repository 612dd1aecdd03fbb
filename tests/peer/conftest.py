"""Peer tier fixtures: skip cleanly where real libvirt cannot run, record once per session,
and fail any test that leaves one of this process's peer namespaces behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.peer.libvirtd import NETNS_PREFIX, STATE_BASE
from tests.peer.require import require_peer


def own_peer_namespaces() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    mine = f"{NETNS_PREFIX}{os.getpid()}-"
    names = [line.split()[0] for line in out.splitlines() if line.startswith(mine)]
    if STATE_BASE.is_dir():
        names += [f"state dir {p}" for p in STATE_BASE.iterdir() if p.name.startswith(mine)]
    return names


@pytest.fixture(autouse=True)
def no_leaked_peer():
    """A peer namespace (or state dir) of ours that outlives its test is a bug."""
    yield
    if os.geteuid() != 0:
        return
    leaked = own_peer_namespaces()
    assert not leaked, f"peer left behind: {leaked}"


@pytest.fixture(scope="session")
def fresh_recording(tmp_path_factory) -> tuple[Path, list[str]]:
    """Everything tests/data/libvirt holds, recorded anew from real libvirt (once a session)."""
    require_peer("9.0", "11.3", "12.9")
    from tests.peer.record import record
    out = tmp_path_factory.mktemp("libvirt-recording")
    start = time.monotonic()
    problems = record(out, log=lambda m: print(m, file=sys.stderr))
    print(f"peer recording took {time.monotonic() - start:.1f} s", file=sys.stderr)
    return out, problems
