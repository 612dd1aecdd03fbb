"""vnetmigrate's libvirt network hook, run by real libvirt 11.3 (issue 11 item 6).

libvirt's nftables backend, Docker's FORWARD DROP (the lab's Docker 28 fixture loaded into the
peer's namespace: no Docker daemon runs here) and an admin's port forward into the NAT guest.
The repair (its remedies run through the transaction engine, --root being the peer's state dir)
installs the hook as /etc/libvirt/hooks/network.d/vnetmigrate inside the peer. Then, as after a
reboot: libvirt's daemon starts again (it looks for hooks only when it starts, seen here), Docker's
DOCKER-USER comes back empty, and `virsh net-destroy` + `net-start` make real libvirt run the
hook: the accept rules are back and the guest's pings pass. The port forward's accept stays first
in libvirt's `forward` chain through the daemon's restart and the network's. `vnetmigrate
rollback` then removes the hook, its rules files and the rules, exactly.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab.txn_support import kernel_state
from tests.peer.libvirtd import PeerLibvirt
from tests.peer.require import require_peer
from tests.peer.test_migrate_real_libvirt import DEFAULT, REPO, Outside, in_ns, show_library
from tests.sandbox import fixtures

pytestmark = pytest.mark.peer
GUEST = "192.168.122.50"  # Outside's guest
FORWARD = f"*nat\n-A PREROUTING -p tcp -m tcp --dport 2222 -j DNAT --to-destination {GUEST}:22\nCOMMIT\n"


def tree(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else "dir")
            for p in sorted(root.rglob("*")) if not p.is_symlink() and "var/log" not in str(p)
            and "run/" not in str(p.relative_to(root)) + "/"}


def repair(peer: PeerLibvirt, state: Path) -> None:
    from vnetmigrate.collect import collect_live
    from vnetmigrate.netns import entered
    from vnetmigrate.repair import remedies
    from vnetmigrate.scan import analyse
    from vnetmigrate.txn import engine
    from vnetmigrate.txn.statedir import StateDir
    from vnetmigrate.txn.steps import Plan

    root = peer.state_dir
    result = analyse(collect_live(root=str(root), netns=peer.netns))
    ctx = remedies.RepairContext(root, peer.netns)
    steps = []
    for fid in ("docker-forward-drop", "port-forward-nat-guest"):
        finding = next(f for f in result.findings if f.id == fid)
        remedy = remedies.load_all()[fid](result.facts, finding, ctx)
        assert isinstance(remedy, remedies.Remedy), remedy
        steps += remedy.steps
    with entered(peer.netns), StateDir(state) as st:
        out = engine.run(Plan("repair", tuple(steps)), st, root, netns=peer.netns, command="repair")
    assert out.status == "committed", out.to_dict()


def test_real_libvirt_runs_the_hook_and_puts_the_accept_rules_back(tmp_path):
    require_peer("11.3")
    with PeerLibvirt("11.3", "nftables") as peer:
        peer.define_and_start(DEFAULT.read_text())
        show_library(peer)
        outside = Outside(peer.netns)
        try:
            assert outside.ping()
            in_ns(peer.netns, "iptables-nft-restore", "--noflush", input=fixtures.DOCKER_28)
            in_ns(peer.netns, "iptables-nft-restore", "--noflush", input=FORWARD)
            assert not outside.ping()
            before_kernel, before_files = kernel_state(peer.netns), tree(peer.state_dir / "etc")

            repair(peer, tmp_path / "state")
            hook = peer.etc_libvirt / "hooks/network.d/vnetmigrate"
            assert hook.exists() and outside.ping()

            peer.restart_daemon()  # as at boot: the daemon finds the hook when it starts
            time.sleep(0.5)
            forward = in_ns(peer.netns, "nft", "list", "chain", "ip", "libvirt_network", "forward")
            assert forward.index("vnetmigrate:port-forward-nat-guest") < forward.index("jump guest_input"), forward
            in_ns(peer.netns, "iptables-nft", "-w", "-F", "DOCKER-USER")  # Docker's chains as after a reboot
            assert not outside.ping()
            peer.destroy("default")
            peer.start("default")
            assert in_ns(peer.netns, "iptables-nft", "-w", "-S", "DOCKER-USER").count("vnetmigrate:") == 2
            forward = in_ns(peer.netns, "nft", "list", "chain", "ip", "libvirt_network", "forward")
            assert forward.count("vnetmigrate:port-forward-nat-guest") == 1, forward
            # net-destroy deleted the bridge: the guest's cable goes into the new one (as libvirt
            # does for a running domain's interface), which forwards after STP's delay.
            in_ns(peer.netns, "ip", "link", "set", "vnmg0", "master", "virbr0", "up")
            deadline = time.monotonic() + 15
            while not outside.ping():
                assert time.monotonic() < deadline, "the guest's pings never passed after net-start"

            undo = subprocess.run([sys.executable, "-m", "vnetmigrate", "rollback", "--state-dir",
                                   str(tmp_path / "state"), "--netns", peer.netns, "--root", str(peer.state_dir)],
                                  capture_output=True, text=True, cwd=REPO, timeout=120)
            assert undo.returncode == 0, undo.stdout + undo.stderr
            assert not (peer.etc_libvirt / "hooks/network.d").exists()  # Debian ships hooks/ empty
            assert tree(peer.state_dir / "etc") == before_files
            after = kernel_state(peer.netns)
            assert after["ipv4"] == before_kernel["ipv4"] and after["ipv6"] == before_kernel["ipv6"]
            assert "vnetmigrate" not in in_ns(peer.netns, "nft", "list", "ruleset")
            assert not outside.ping()
        finally:
            outside.close()
