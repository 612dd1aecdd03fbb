"""`./bootstrap scan` puts vnetmigrate on the PATH, never over something that is not its own.

Runs the real script (as root: it checks the OS packages, which are installed by then) with
VNM_BIN_DIR pointing at a temporary directory instead of /usr/local/bin, and `scan --help` as
the command it ends with.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.packaging_tree import OS_ENV, REPO

TARGET = REPO / ".venv/bin/vnetmigrate"


def bootstrap_scan(bin_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(REPO / "bootstrap"), "scan", "--help"], cwd="/", capture_output=True, text=True,
                          env={**OS_ENV, "VNM_BIN_DIR": str(bin_dir)}, stdin=subprocess.DEVNULL, timeout=600)


def test_ci_runs_exactly_the_readmes_test_command():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("### Running the tests"):]
    opening = section.index("```sh\n") + 6
    block = section[opening:section.index("\n```", opening)]
    command = block.split("#")[0].strip()
    assert command == "./bootstrap test"
    assert (REPO / ".ci/run").read_text().rstrip().splitlines()[-1] == f"exec {command}"
    # and the users' quick start does not send them there
    quick_start = readme[readme.index("## Quick start"):readme.index("## Development")]
    assert "./bootstrap test" not in quick_start and "[test]" not in quick_start


@pytest.fixture
def as_root():
    if os.geteuid() != 0:
        pytest.skip("bootstrap runs as root")
    if not TARGET.exists():
        pytest.skip("no .venv/bin/vnetmigrate in this checkout (bootstrap makes it)")


def test_scan_links_the_command_into_a_free_bin_dir_once(as_root, tmp_path):
    bin_dir = tmp_path / "bin"
    first = bootstrap_scan(bin_dir)
    assert first.returncode == 0, first.stderr
    link = bin_dir / "vnetmigrate"
    assert link.is_symlink() and os.readlink(link) == str(TARGET)
    assert f"linked {link} -> {TARGET}" in first.stderr
    version = subprocess.run([str(link), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("vnetmigrate ")

    again = bootstrap_scan(bin_dir)
    assert again.returncode == 0 and "linked" not in again.stderr and "left alone" not in again.stderr
    assert os.readlink(link) == str(TARGET)


@pytest.mark.parametrize("occupant", ["another program", "another checkout's link"])
def test_scan_leaves_a_name_that_is_not_its_own_alone(as_root, tmp_path, occupant):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    link = bin_dir / "vnetmigrate"
    if occupant == "another program":
        link.write_text("#!/bin/sh\necho packaged\n")
    else:
        link.symlink_to("/opt/elsewhere/.venv/bin/vnetmigrate")
    before = (link.is_symlink(), os.readlink(link) if link.is_symlink() else link.read_text())

    proc = bootstrap_scan(bin_dir)
    assert proc.returncode == 0, proc.stderr
    assert f"{link} is not this checkout's: left alone; run {TARGET} instead" in proc.stderr
    assert (link.is_symlink(), os.readlink(link) if link.is_symlink() else link.read_text()) == before
