"""`vnetmigrate migrate` against real libvirt 11.3 (its own daemon, restarted by the migration).

Networks started under the iptables backend; `migrate --restart-command <peer restart>`
switches to nftables: the result must equal what real libvirt creates for the same networks
under nftables, with no LIBVIRT_* chain left and no rule twice; a guest's pings to the
outside keep flowing (100 a second, none lost) while the daemon restarts; `rollback` undoes
it exactly (the daemon restarted again), and after a second migration `migrate --to
iptables` returns to the original listing, again without a lost ping. The peer's `tc` is a shim (this kernel lacks
act_csum, see HACKING.md), so the DHCP checksum filter is logged, not loaded.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab.pingstream import PingStream
from tests.peer.libvirtd import PeerLibvirt
from tests.peer.require import require_peer
from tests.unit.schema_check import valid_envelope

pytestmark = pytest.mark.peer
REPO = Path(__file__).resolve().parents[2]
ROUTED = """<network><name>vnm-route</name><forward mode='route'/>
  <bridge name='vnm-route' stp='on' delay='0'/>
  <ip address='192.168.140.1' netmask='255.255.255.0'/></network>"""
DEFAULT = REPO / "tests/data/networks/default.xml"
REMOTE = "198.51.100.1"
COUNTERS = re.compile(r"\[\d+:\d+\]")


def networks() -> list[str]:
    return [DEFAULT.read_text(), ROUTED]


def in_ns(ns: str, *argv: str, input: str | None = None) -> str:
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, check=True,
                          input=input).stdout


def ipt_listing(ns: str) -> list[str]:
    out = []
    for tool in ("iptables-nft-save", "ip6tables-nft-save"):
        out += [f"{tool} {COUNTERS.sub('[0:0]', ln)}" for ln in in_ns(ns, tool).splitlines()
                if not ln.startswith("#")]
    return out


def libvirt_nft(ns: str) -> dict:
    """libvirt's tables: chain -> sorted rule expressions (no handles, counters): order-free,
    because libvirt re-applies networks in a random order after a restart (HACKING.md)."""
    doc = json.loads(in_ns(ns, "nft", "-j", "list", "ruleset"))
    out: dict = {}
    for item in doc["nftables"]:
        r = item.get("rule")
        if r and r["table"] == "libvirt_network":
            expr = json.dumps([{"counter": None} if "counter" in e else e for e in r["expr"]], sort_keys=True)
            out.setdefault(f"{r['family']} {r['chain']}", []).append(expr)
    return {k: sorted(v) for k, v in out.items()}


class Outside:
    """A guest on the peer's virbr0 and a "wan" behind an uplink of the peer's namespace."""

    def __init__(self, peer_ns: str):
        from tests.sandbox import namespaces

        self.namespaces = namespaces
        self.guest, self.wan = namespaces.new_name("pguest"), namespaces.new_name("pwan")
        namespaces.create([self.guest, self.wan])
        namespaces.ip_batch(peer_ns, [f"link add vnmg0 type veth peer name eth0 netns {self.guest}",
                                      "link set vnmg0 master virbr0 up",
                                      f"link add vnmup0 type veth peer name eth0 netns {self.wan}",
                                      "addr add 203.0.113.2/24 dev vnmup0", "link set vnmup0 up",
                                      "route add default via 203.0.113.1"])
        namespaces.ip_batch(self.guest, ["link set lo up", "addr add 192.168.122.50/24 dev eth0",
                                         "link set eth0 up", "route add default via 192.168.122.1"])
        namespaces.ip_batch(self.wan, ["link set lo up", "addr add 203.0.113.1/24 dev eth0",
                                       f"addr add {REMOTE}/32 dev lo", "link set eth0 up"])
        # libvirt turns STP on: the kernel keeps a new port listening, then learning, for its
        # minimum forward delay (2 s each) before it forwards.
        deadline = time.monotonic() + 10
        while "state forwarding" not in in_ns(peer_ns, "bridge", "link", "show", "dev", "vnmg0"):
            if time.monotonic() > deadline:
                raise AssertionError("the guest's bridge port never started forwarding")
            time.sleep(0.2)

    def ping(self) -> bool:
        from tests.sandbox.probes import icmp_echo

        return icmp_echo(self.guest, "guest", REMOTE, 2.0).ok

    def close(self) -> None:
        self.namespaces.delete([self.guest, self.wan])


def reference_nft(version: str) -> dict:
    """What real libvirt itself creates for the same networks with its nftables backend."""
    with PeerLibvirt(version, "nftables") as ref:
        for xml in networks():
            ref.define_and_start(xml)
        return libvirt_nft(ref.netns)


def show_library(peer: PeerLibvirt) -> str:
    """Make the peer's libvirt library visible under --root (the state dir) by its real file
    name, which is how scan and migrate read libvirt's release under another root."""
    lib = next((peer.root / "usr/lib/x86_64-linux-gnu").glob("libvirt.so.0.*.*"))
    where = peer.state_dir / "usr/lib/x86_64-linux-gnu" / lib.name
    where.parent.mkdir(parents=True, exist_ok=True)
    where.symlink_to(lib)
    return lib.name


@pytest.mark.parametrize("version", ["11.3", "12.9"])
def test_real_libvirt_switched_to_nftables_and_back(tmp_path, version):
    require_peer(version)
    expected = reference_nft(version)
    with PeerLibvirt(version, "iptables") as peer:
        for xml in networks():
            peer.define_and_start(xml)
        show_library(peer)
        outside = Outside(peer.netns)
        try:
            assert outside.ping()
            original = ipt_listing(peer.netns)
            vnm = [sys.executable, "-m", "vnetmigrate"]
            common = ["--netns", peer.netns, "--root", str(peer.state_dir), "--state-dir", str(tmp_path / "state"),
                      "--restart-command", shlex.join(peer.restart_command())]
            with PingStream(outside.guest, REMOTE) as stream:
                time.sleep(0.2)
                # Scan judges this machine's kernel (no act_csum); the peer's tc is a shim.
                proc = subprocess.run([*vnm, "migrate", *common, "--force", "nftables-prerequisites", "--format",
                                       "json"], capture_output=True, text=True, cwd=REPO)
                time.sleep(0.2)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            data = valid_envelope(proc.stdout, "txn-v1")["data"]
            steps = [s["kind"] for s in data["steps"]]
            assert "restart" in steps and "dedupe" in steps
            # the host's own release, modelled exactly (12.9: the table comment, 11.3: none)
            assert not [n for n in data["notes"] if "modelled as" in n], data["notes"]
            assert data["summary"]["libvirt_version"] == version
            assert stream.lost == [] and len(stream.sent) > 50, f"lost {len(stream.lost)} of {len(stream.sent)}"
            assert libvirt_nft(peer.netns) == expected
            assert not [ln for ln in ipt_listing(peer.netns) if "LIBVIRT" in ln]
            assert re.search(r"<firewall name='fwRemoval' backend='nftables'>", peer.status_xml("default"))
            assert outside.ping()
            # Undo it exactly (the daemon restarted again under iptables), then migrate again.
            with PingStream(outside.guest, REMOTE) as stream:
                time.sleep(0.2)
                undo = subprocess.run([*vnm, "rollback", "--state-dir", str(tmp_path / "state"), "--netns", peer.netns,
                                       "--root", str(peer.state_dir)],
                                      capture_output=True, text=True, cwd=REPO)
                time.sleep(0.2)
            assert undo.returncode == 0, undo.stdout + undo.stderr
            assert stream.lost == [] and len(stream.sent) > 50, f"lost {len(stream.lost)} of {len(stream.sent)}"
            assert ipt_listing(peer.netns) == original
            assert re.search(r"<firewall name='fwRemoval' backend='iptables'>", peer.status_xml("default"))
            again = subprocess.run([*vnm, "migrate", *common, "--force", "nftables-prerequisites"],
                                   capture_output=True, text=True, cwd=REPO)
            assert again.returncode == 0, again.stdout + again.stderr
            assert libvirt_nft(peer.netns) == expected
            with PingStream(outside.guest, REMOTE) as stream:
                time.sleep(0.2)
                back = subprocess.run([*vnm, "migrate", "--to", "iptables", *common], capture_output=True, text=True,
                                      cwd=REPO)
                time.sleep(0.2)
            assert back.returncode == 0, back.stdout + back.stderr
            assert stream.lost == [] and len(stream.sent) > 50, f"lost {len(stream.lost)} of {len(stream.sent)}"
            assert ipt_listing(peer.netns) == original
            assert "libvirt_network" not in in_ns(peer.netns, "nft", "list", "tables")
            assert outside.ping()
        finally:
            outside.close()
