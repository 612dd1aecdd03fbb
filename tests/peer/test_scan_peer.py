"""`vnetmigrate scan` against real libvirt: what it reports on hosts real libvirt set up.

Each peer runs libvirt in its own namespaces; scan reads the kernel through --netns and the
daemon's files through --root (the peer's state dir is laid out like a root). The peers'
/etc has no os-release and the daemon binaries are not under that root, so libvirt's version
is unknown to scan and the effective backend comes from network.conf.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.peer.cases import NETWORKS_DIR
from tests.peer.libvirtd import PeerLibvirt
from tests.peer.require import require_peer
from tests.unit.schema_check import valid_envelope

pytestmark = pytest.mark.peer

NETWORKS = [(NETWORKS_DIR / f"{n}.xml").read_text() for n in ("default", "route", "nat-dual")]


def scan(peer: PeerLibvirt) -> dict:
    proc = subprocess.run([sys.executable, "-m", "vnetmigrate", "scan", "--netns", peer.netns,
                           "--root", str(peer.state_dir), "--format", "json"], capture_output=True, text=True)
    doc = valid_envelope(proc.stdout)
    assert proc.returncode == doc["exit_code"], proc.stderr
    return doc


def ids(doc, severity=None) -> set[str]:
    return {f["id"] for f in doc["data"]["findings"] if severity is None or f["severity"] == severity}


@pytest.mark.parametrize("version,backend", [("9.0", "iptables"), ("11.3", "iptables"), ("11.3", "nftables"),
                                             ("12.9", "iptables"), ("12.9", "nftables")])
def test_healthy_peer_scans_without_errors_and_without_rule_findings(version, backend):
    require_peer(version)
    with PeerLibvirt(version, backend) as peer:
        for xml in NETWORKS:
            peer.define_and_start(xml)
        doc = scan(peer)
    assert doc["errors"] == []
    facts = doc["data"]["facts"]["libvirt"]
    # libvirt 9.0 has no firewall_backend setting: its status files (no removal recipe) say it
    # predates the nftables backend.
    assert facts["configured_backend"] == (None if version == "9.0" else backend)
    assert facts["effective_backend"] == backend
    assert {n["name"] for n in facts["networks"] if n["active"]} == {"default", "route", "nat-dual"}
    assert not ids(doc) & {"libvirt-rules-missing", "libvirt-unexpected-rules", "libvirt-leftover-rules",
                           "libvirt-leftover-chains", "libvirt-rules-both-backends"}, doc["data"]["findings"]


@pytest.mark.parametrize("version", ["11.3", "12.9"])
def test_real_switch_to_nftables_leaves_chains_that_scan_names(version):
    require_peer(version)
    with PeerLibvirt(version, "iptables") as peer:
        for xml in NETWORKS:
            peer.define_and_start(xml)
        peer.set_backend("nftables")
        peer.restart_daemon()
        doc = scan(peer)
    assert doc["errors"] == []
    leftover = next(f for f in doc["data"]["findings"] if f["id"] == "libvirt-leftover-chains")
    assert len(leftover["evidence"]) == 14  # 7 chains (filter x5, nat, mangle) for ip and ip6
    assert "libvirt-rules-missing" not in ids(doc)


@pytest.mark.parametrize("version", ["11.3", "12.9"])
def test_real_switch_without_act_csum_is_a_blocker_naming_each_network(version):
    """Without the tc shim, as on this kernel: networks stay 'active' with no rules at all."""
    require_peer(version)
    with PeerLibvirt(version, "iptables", tc_shim=False) as peer:
        for xml in NETWORKS:
            peer.define_and_start(xml)
        peer.set_backend("nftables")
        peer.restart_daemon()
        doc = scan(peer)
    missing = [f for f in doc["data"]["findings"] if f["id"] == "libvirt-rules-missing"]
    assert {f["title"].split()[1] for f in missing} == {"default", "route", "nat-dual"}
    assert doc["status"] == "blockers" and doc["exit_code"] == 4
