"""`migrate --to iptables` on the state real libvirt 11.3 (and 12.9) leaves after switching itself to
nftables (tests/peer/switch.py's scenarios, run live here): its libvirt_network tables plus the
emptied LIBVIRT_* chains and their jumps, status files naming nftables, network.conf set to it.

Going back must commit and verify, with the daemon restarted: after the good switch (the tc
shim stands in for act_csum) with a guest's pings flowing through it and none lost, after the
silent switch without act_csum (no rules in either backend: the guest is cut off until the
migration), and after either, with the leftover LIBVIRT_* chains flushed by hand. The engine's own
steps must never trip its fingerprint ("the firewall changed since the plan was made").
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time

import pytest

from tests.lab.pingstream import PingStream
from tests.peer.cases import NETWORKS_DIR
from tests.peer.libvirtd import PeerLibvirt
from tests.peer.require import require_peer
from tests.peer.switch import NETWORKS
from tests.peer.test_migrate_real_libvirt import REMOTE, REPO, Outside, in_ns, ipt_listing
from tests.unit.schema_check import valid_envelope

pytestmark = pytest.mark.peer


def flush_leftover_chains(ns: str) -> None:
    for tool in ("iptables-nft", "ip6tables-nft"):
        for table in ("filter", "nat", "mangle"):
            in_ns(ns, tool, "-t", table, "-F")


@pytest.mark.parametrize("version,tc_shim,flushed",
                         [("11.3", True, False), ("11.3", False, False), ("11.3", True, True), ("11.3", False, True),
                          ("12.9", True, False), ("12.9", False, False)],
                         ids=["11.3-good-switch", "11.3-silent-switch-no-act-csum", "11.3-good-switch-chains-flushed",
                              "11.3-silent-switch-chains-flushed", "12.9-good-switch", "12.9-silent-switch-no-act-csum"])
def test_back_to_iptables_after_libvirts_own_switch(tmp_path, version, tc_shim, flushed):
    require_peer(version)
    with PeerLibvirt(version, "iptables", tc_shim=tc_shim) as peer:
        for net in NETWORKS:
            peer.define_and_start((NETWORKS_DIR / f"{net}.xml").read_text())
        outside = Outside(peer.netns)
        try:
            assert outside.ping()
            original = sorted(ipt_listing(peer.netns))
            peer.stop_daemon()
            peer.set_backend("nftables")
            peer.start_daemon()
            assert "libvirt_network" in in_ns(peer.netns, "nft", "list", "tables") or not tc_shim
            if flushed:
                flush_leftover_chains(peer.netns)
            assert outside.ping() == tc_shim  # the silent switch left the guest without NAT
            argv = [sys.executable, "-m", "vnetmigrate", "migrate", "--to", "iptables", "--netns", peer.netns,
                    "--root", str(peer.state_dir), "--state-dir", str(tmp_path / "state"),
                    "--restart-command", shlex.join(peer.restart_command()), "--format", "json"]
            with PingStream(outside.guest, REMOTE) as stream:
                time.sleep(0.2)
                proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
                time.sleep(0.2)
            assert "changed since the plan was made" not in proc.stdout + proc.stderr, proc.stdout
            assert proc.returncode == 0, proc.stdout + proc.stderr
            doc = valid_envelope(proc.stdout, "txn-v1")
            assert "restart" in [s["kind"] for s in doc["data"]["steps"]]
            if tc_shim:
                assert stream.lost == [] and len(stream.sent) > 50, f"lost {len(stream.lost)} of {len(stream.sent)}"
            assert sorted(ipt_listing(peer.netns)) == original  # libvirt's own iptables rules, none twice
            assert "libvirt_network" not in in_ns(peer.netns, "nft", "list", "tables")
            assert "<firewall name='fwRemoval' backend='iptables'>" in peer.status_xml("default")
            assert outside.ping()
        finally:
            outside.close()
