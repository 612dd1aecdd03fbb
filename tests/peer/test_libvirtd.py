"""The peer harness itself: isolation from this machine, clean-up on every exit path,
restarts that keep /run/libvirt, and the tc shim's narrow scope."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.peer.cases import NETWORKS_DIR
from tests.peer.require import require_peer
from tests.peer.libvirtd import PeerLibvirt, sweep_stale

pytestmark = pytest.mark.peer

REPO = Path(__file__).resolve().parents[2]
DEFAULT_XML = (NETWORKS_DIR / "default.xml").read_text()
HOST_DIRS = ("/etc/libvirt", "/var/lib/libvirt", "/var/cache/libvirt", "/var/log/libvirt", "/run/libvirt")


def netns_names() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def wait_until(cond, timeout=10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def host_state() -> dict:
    """What must not change on this machine: its ruleset and libvirt's directories."""
    nft = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    state = {"nft": re.sub(r"packets \d+ bytes \d+", "", nft)}
    for top in HOST_DIRS:
        entries = {}
        for dirpath, dirnames, filenames in os.walk(top):
            for name in dirnames + filenames:
                p = Path(dirpath) / name
                entries[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        state[top] = (os.path.isdir(top), entries)
    return state


def test_rejects_nftables_for_9_0():
    with pytest.raises(ValueError):
        PeerLibvirt("9.0", "nftables")


@pytest.mark.parametrize("version,backend", [("9.0", "iptables"), ("11.3", "nftables")])
def test_machine_untouched_and_everything_removed(version, backend):
    require_peer(version)
    before = host_state()
    with PeerLibvirt(version, backend) as peer:
        peer.define_and_start(DEFAULT_XML)
        assert "virbr0" in peer.nft_ruleset_text()
        netns = peer.netns
        # holder, libvirtd, dnsmasq (its pid file holds its pid inside the peer's PID
        # namespace, so take them all from the network namespace instead)
        pids = [int(p) for p in subprocess.run(["ip", "netns", "pids", netns], capture_output=True,
                                                text=True).stdout.split()]
        assert peer.holder_pid in pids and peer.daemon_pid() in pids and len(pids) >= 3
        # The paths a scanner gets as --root, seen from this machine's mount namespace.
        assert (peer.state_dir / "run/libvirt/network/default.xml").is_file()
        if version == "11.3":
            assert 'firewall_backend = "nftables"' in (peer.state_dir / "etc/libvirt/network.conf").read_text()
    assert netns not in netns_names()
    assert not peer.state_dir.exists()
    assert wait_until(lambda: not any(alive(p) for p in pids))
    assert host_state() == before


def test_exception_inside_cleans_up():
    require_peer("9.0")
    names = {}
    with pytest.raises(RuntimeError, match="deliberate"):
        with PeerLibvirt("9.0", "iptables") as peer:
            peer.define_and_start(DEFAULT_XML)
            names.update(netns=peer.netns, holder=peer.holder_pid, daemon=peer.daemon_pid())
            raise RuntimeError("deliberate")
    assert names["netns"] not in netns_names()
    assert wait_until(lambda: not alive(names["holder"]) and not alive(names["daemon"]))


OWNER = """
import sys, time
sys.path.insert(0, {repo!r})
from tests.peer.libvirtd import PeerLibvirt
with PeerLibvirt("9.0", "iptables") as peer:
    peer.define_and_start(open({xml!r}).read())
    print(peer.netns, peer.holder_pid, peer.daemon_pid(), flush=True)
    time.sleep(120)
"""


def start_owner() -> tuple[subprocess.Popen, str, int, int]:
    code = OWNER.format(repo=str(REPO), xml=str(NETWORKS_DIR / "default.xml"))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().split()
    assert len(line) == 3, "owner process did not start its peer"
    return proc, line[0], int(line[1]), int(line[2])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_owner_cleans_up(sig):
    """Ctrl-C (SIGINT) and SIGTERM unwind the with-statement: nothing is left."""
    require_peer("9.0")
    proc, netns, holder, daemon = start_owner()
    proc.send_signal(sig)
    proc.wait(timeout=30)
    assert netns not in netns_names()
    assert wait_until(lambda: not alive(holder) and not alive(daemon))


def test_killed_owner_takes_the_peer_down_and_sweep_removes_the_rest():
    """SIGKILL leaves no chance to clean up: the holder sees its owner's pipe close and
    ends the PID namespace (daemon, dnsmasq); the next peer sweeps the namespace."""
    require_peer("9.0")
    proc, netns, holder, daemon = start_owner()
    proc.kill()
    proc.wait(timeout=10)
    assert wait_until(lambda: not alive(holder) and not alive(daemon))
    assert netns in netns_names()
    assert netns in sweep_stale()
    assert netns not in netns_names()


def test_restart_command_keeps_networks_and_run_libvirt():
    require_peer("9.0")
    with PeerLibvirt("9.0", "iptables") as peer:
        peer.define_and_start(DEFAULT_XML)
        rules = peer.iptables_save()
        old = peer.daemon_pid()
        subprocess.run(peer.restart_command(), check=True, timeout=60)
        assert peer.daemon_pid() not in (None, old)
        assert {"name": "default", "state": "active", "autostart": "no", "persistent": "yes"} \
            in peer.net_list()
        assert peer.status_xml("default") is not None
        strip = lambda t: [l for l in t.splitlines() if not l.startswith("#")]  # noqa: E731
        assert strip(peer.iptables_save()) == strip(rules)


def test_tc_shim_fakes_only_the_csum_filter():
    require_peer("11.3")
    with PeerLibvirt("11.3", "nftables") as peer:
        peer.add_link("vnm-br9", "bridge")
        csum = ["filter", "add", "dev", "vnm-br9", "prio", "2", "protocol", "ip", "parent", "1:",
                "u32", "match", "ip", "dport", "68", "ffff", "action", "csum", "ip", "and", "udp"]
        assert peer.exec(["tc", *csum]).returncode == 0
        other = list(csum)
        other[5] = "3"  # another priority: not libvirt's filter, so the real tc decides
        peer.exec(["tc", *other])
        assert peer.exec(["tc", "qdisc", "show", "dev", "vnm-br9"]).returncode == 0
        log = peer.tc_log().splitlines()
        assert log[0] == "faked: " + " ".join(csum)
        assert log[1].startswith("ran: " + " ".join(other) + " -> exit ")
        assert log[2] == "ran: qdisc show dev vnm-br9 -> exit 0"
