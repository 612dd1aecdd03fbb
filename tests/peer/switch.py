"""The real backend switch of libvirt 11.3 and 12.9, recorded.

Each scenario starts a few corpus networks under one firewall_backend, writes the other
one into network.conf and restarts the daemon, as an admin (or a distribution upgrade)
would. The kernel state and the status files are recorded before and after:

    <scenario>/before/   nft-ruleset.{nft,json}, ip{,6}tables-save.txt, status/, tc-shim.log
    <scenario>/after/    the same after the restart, plus daemon-log.txt (warnings and
                         errors of the restarted daemon) and net-list.json
    <scenario>/scenario.json

11.3-switch-no-act-csum runs without the tc shim: libvirt then meets this kernel's missing
act_csum exactly as a real host without CONFIG_NET_ACT_CSUM would.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.peer import normalise
from tests.peer.cases import NETWORKS_DIR
from tests.peer.libvirtd import PeerLibvirt
from tests.peer.record import snapshot, write

# The default NAT network, a dual-stack NAT network (IPv6 side routed) and a routed one.
NETWORKS = ("default", "nat-dual", "route")


@dataclass(frozen=True)
class Scenario:
    id: str
    before: str
    after: str
    tc_shim: bool
    about: str

    @property
    def version(self) -> str:
        return self.id.split("-", 1)[0]


SCENARIOS = (
    Scenario("11.3-switch", "iptables", "nftables", True,
             "iptables -> nftables with active networks, then a daemon restart"),
    Scenario("11.3-switch-back", "nftables", "iptables", True,
             "nftables -> iptables (the documented revert path), then a daemon restart"),
    Scenario("11.3-switch-no-act-csum", "iptables", "nftables", False,
             "iptables -> nftables on a kernel without act_csum (no tc shim)"),
    Scenario("12.9-switch", "iptables", "nftables", True,
             "iptables -> nftables with active networks, then a daemon restart"),
    Scenario("12.9-switch-no-act-csum", "iptables", "nftables", False,
             "iptables -> nftables on a kernel without act_csum (no tc shim)"),
)


def run(scenario: Scenario, out: Path) -> dict:
    """Run one scenario inside a fresh peer, writing before/ and after/ into `out`."""
    with PeerLibvirt(scenario.version, scenario.before, tc_shim=scenario.tc_shim) as peer:
        for net in NETWORKS:
            peer.define_and_start((NETWORKS_DIR / f"{net}.xml").read_text())
        snapshot(peer, out / "before", list(NETWORKS))
        write(out / "before" / "net-list.json", normalise.dump_json(peer.net_list()))
        peer.clear_tc_log()
        peer.stop_daemon()
        peer.daemon_log_path.write_text("")  # keep only what the restarted daemon says
        peer.set_backend(scenario.after)
        peer.start_daemon()
        snapshot(peer, out / "after", list(NETWORKS))
        net_list = peer.net_list()
        write(out / "after" / "net-list.json", normalise.dump_json(net_list))
        write(out / "after" / "daemon-log.txt", normalise.daemon_log(peer.daemon_log()))
        return {"net_list": net_list}


def record_scenario(scenario: Scenario, out: Path) -> list[str]:
    if out.exists():
        shutil.rmtree(out)
    result = run(scenario, out)
    write(out / "scenario.json", normalise.dump_json({
        "scenario": scenario.id, "about": scenario.about, "libvirt_version": scenario.version,
        "networks": list(NETWORKS), "firewall_backend_before": scenario.before,
        "firewall_backend_after": scenario.after, "tc_shim": scenario.tc_shim}))
    inactive = [n["name"] for n in result["net_list"] if n["state"] != "active"]
    return [f"{scenario.id}: networks inactive after the restart: {inactive}"] if inactive else []
