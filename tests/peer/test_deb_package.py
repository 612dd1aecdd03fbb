"""The Debian package: built here with Debian's Python tooling, installed with apt into a
throwaway Debian 13 root, and its `vnetmigrate scan` run there against real libvirt 11.3.

What it proves: debian/ builds; apt resolves every Depends from Debian 13 itself (typer 0.15,
rich, python3-nftables, python3-iptables: nothing from PyPI); the packaged command, man page
and completions land where Debian looks for them; and the packaged scan, running on Debian
13's Python with those libraries, reads a real libvirt 11.3 host (its daemon, its nftables
rules in the kernel, its files) and returns a valid report. Building takes ~7 s (cached per
tree digest), apt ~30-60 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.packaging_tree import OS_ENV
from tests.peer.cases import NETWORKS_DIR
from tests.peer.debroot import apt_install, built_deb, overlay_root
from tests.peer.libvirtd import PeerLibvirt
from tests.peer.require import require_peer
from tests.unit.schema_check import valid_envelope
from vnetmigrate import __version__

pytestmark = pytest.mark.peer

INSTALLED_FILES = (
    "usr/bin/vnetmigrate",
    "usr/share/man/man8/vnetmigrate.8.gz",
    "usr/share/bash-completion/completions/vnetmigrate",
    "usr/share/zsh/vendor-completions/_vnetmigrate",
    "usr/share/fish/vendor_completions.d/vnetmigrate.fish",
    "usr/share/doc/vnetmigrate/copyright",
)


def test_the_deb_installs_with_apt_on_debian_13_and_scans_real_libvirt_11_3(tmp_path):
    require_peer("11.3")
    deb, build_seconds = built_deb(tmp_path)
    print(f"deb: {deb.name}, build {'cached' if build_seconds is None else f'{build_seconds:.1f} s'}",
          file=sys.stderr)
    with overlay_root(tmp_path / "overlay") as root:
        apt_log, apt_seconds = apt_install(root, deb)
        print(f"apt-get install in Debian 13: {apt_seconds:.1f} s", file=sys.stderr)
        for path in INSTALLED_FILES:
            assert (root / path).is_file(), path
        # The libvirt hook `vnetmigrate repair` installs comes from the package, executable.
        assert os.access(root / "usr/lib/python3/dist-packages/vnetmigrate/data/libvirt-network-hook", os.X_OK)

        with PeerLibvirt("11.3", "nftables", root=root) as peer:
            peer.define_and_start((NETWORKS_DIR / "default.xml").read_text())
            versions = peer.exec(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "vnetmigrate",
                                  "python3-typer", "python3-rich", "python3-nftables", "python3-iptables"],
                                 check=True).stdout
            libs = peer.exec(["python3", "-c", "import typer, nftables, iptc; print(typer.__file__)"],
                             check=True).stdout
            version = peer.exec(["vnetmigrate", "--version"], check=True).stdout
            proc = peer.exec(["vnetmigrate", "scan", "--format", "json"])
            text = peer.exec(["vnetmigrate", "scan"])
    print(versions, file=sys.stderr)

    # Debian's libraries, not a virtual environment's.
    assert libs.startswith("/usr/lib/python3/dist-packages/typer/"), libs
    assert f"vnetmigrate {__version__}" in versions and "python3-typer 0.15" in versions, versions
    assert version.strip() == f"vnetmigrate {__version__}"

    doc = valid_envelope(proc.stdout)
    assert proc.returncode == doc["exit_code"], proc.stderr
    assert doc["errors"] == [], (doc["errors"], proc.stderr)
    facts = doc["data"]["facts"]
    # Inside the root the daemon's binaries are where Debian puts them: scan names the version.
    assert facts["libvirt"]["version"] == "11.3.0"
    assert facts["libvirt"]["effective_backend"] == "nftables"
    assert facts["system"]["nft_via"] == "libnftables"      # Debian 13's python3-nftables binding
    assert [n["name"] for n in facts["libvirt"]["networks"] if n["active"]] == ["default"]
    # A healthy host but for this machine's kernel, which lacks act_csum (HACKING.md's facts):
    # that is the one blocker a scan may report here.
    blockers = {f["id"] for f in doc["data"]["findings"] if f["severity"] == "blocker"}
    assert blockers <= {"nftables-prerequisites"}, doc["data"]["findings"]
    # The text report of the same host exits the same way.
    assert text.returncode == doc["exit_code"] and text.stdout.startswith("Verdict: "), text.stdout[:200]


def test_the_deb_is_lintian_clean(tmp_path):
    if shutil.which("lintian", path=OS_ENV["PATH"]) is None:
        pytest.skip("lintian is missing (./bootstrap test installs it)")
    deb, _ = built_deb(tmp_path)
    # (as root it also prints "running with root privileges is not recommended!": not a tag)
    proc = subprocess.run(["lintian", "--fail-on", "warning", str(deb)], capture_output=True, text=True,
                          env=OS_ENV, timeout=300)
    tags = [line for line in proc.stdout.splitlines() if line[:2] in ("E:", "W:")]
    assert proc.returncode == 0 and not tags, proc.stdout + proc.stderr
