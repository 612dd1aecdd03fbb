"""`vnetmigrate repair` on the state real libvirt 11.3 leaves when it switches itself to nftables
on a kernel without act_csum (this machine's: no tc shim): the three networks stay "active"
without any rule, the guest is cut off, network.conf says nftables.

repair must take libvirt back to its iptables backend (the migration's path, with the daemon
restarted) and pin firewall_backend, verified; the guest's pings pass again, and keep passing
after libvirt's daemon restarts once more (what a reboot would do), because network.conf now
says iptables.
"""

from __future__ import annotations

import shlex
import subprocess
import sys

import pytest

from tests.peer.cases import NETWORKS_DIR
from tests.peer.libvirtd import PeerLibvirt
from tests.peer.require import require_peer
from tests.peer.switch import NETWORKS
from tests.peer.test_migrate_real_libvirt import REPO, Outside, in_ns, ipt_listing, show_library
from tests.unit.schema_check import valid_envelope

pytestmark = pytest.mark.peer


def test_repair_brings_guests_back_after_the_silent_switch_and_it_survives_a_restart(tmp_path):
    require_peer("11.3")
    with PeerLibvirt("11.3", "iptables", tc_shim=False) as peer:
        for net in NETWORKS:
            peer.define_and_start((NETWORKS_DIR / f"{net}.xml").read_text())
        show_library(peer)  # so scan knows it is libvirt 11.3 (its tc filter needs act_csum)
        outside = Outside(peer.netns)
        try:
            assert outside.ping()
            original = sorted(ipt_listing(peer.netns))
            peer.stop_daemon()
            peer.set_backend("nftables")
            peer.start_daemon()
            assert not outside.ping()  # the silent switch: "active", no rules
            argv = [sys.executable, "-m", "vnetmigrate", "repair", "--yes", "--netns", peer.netns,
                    "--root", str(peer.state_dir), "--state-dir", str(tmp_path / "state"),
                    "--restart-command", shlex.join(peer.restart_command()), "--format", "json"]
            proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
            doc = valid_envelope(proc.stdout, "repair-v1")
            data = doc["data"]
            assert data["transaction"] and data["transaction"]["status"] == "committed", proc.stdout + proc.stderr
            (remedy,) = [r for r in data["remedies"] if r["finding"] == "libvirt-rules-missing"]
            assert "back to its iptables backend" in remedy["summary"] and "nftables-prerequisites" in remedy["covers"]
            assert "restart" in [s["kind"] for s in data["steps"]]
            assert proc.returncode == data["after"]["exit_code"]
            assert "libvirt-rules-missing" not in {f["id"] for f in data["after"]["findings"]}
            assert doc["libvirt_version"] == "11.3.0"
            assert outside.ping()
            assert sorted(ipt_listing(peer.netns)) == original  # libvirt's own rules, none twice
            assert "<firewall name='fwRemoval' backend='iptables'>" in peer.status_xml("default")
            assert 'firewall_backend = "iptables"' in (peer.state_dir / "etc/libvirt/network.conf").read_text()
            peer.stop_daemon()
            peer.start_daemon()  # a reboot's restart: network.conf keeps it on iptables
            assert outside.ping()
            assert "libvirt_network" not in in_ns(peer.netns, "nft", "list", "tables")
        finally:
            outside.close()
