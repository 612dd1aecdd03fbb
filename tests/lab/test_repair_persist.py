"""The persistent remedies of `vnetmigrate repair` (issue 11 item 6), proven with packets.

Each test breaks a lab host as a scenario of tests/lab/scenarios.py does, scans it (in-process,
--root and --netns as the CLI would), builds the finding's remedy and runs its steps through
the transaction engine. Then: every probe passes; the host "reboots" (the ruleset flushed and
re-created the way the services do at boot: Docker's chains re-created as Docker creates them,
libvirt's table loaded and the installed hook run as libvirt runs it when the network starts,
ufw and nftables.service loading their files) and every probe still passes; `vnetmigrate
rollback` (the CLI, from the journal) brings the ruleset (without handles and counters) and
every file under --root back exactly.

Docker, libvirt and systemd do not run in the lab: their boot is re-enacted from the lab's
fixtures of what they create (tests/sandbox/fixtures.py). `dockerd --version` is read only on the
live root (the lab's root is a directory), so the daemon.json test gives the facts the version
a live scan of Docker 28.3 reads.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab import repair_driver
from tests.lab.scenarios import BY_ID, build, probe
from tests.lab.test_lab_scan import NETWORK_XML
from tests.lab.txn_support import REPO, kernel_state, vnm
from tests.sandbox import fixtures
from tests.sandbox.inbound import port_forward_rules
from vnetmigrate.programs import which
from vnetmigrate.repair import remedies
from vnetmigrate.repair.hookrules import HOOK, RULES_DIR

pytestmark = pytest.mark.lab
LOST = 0.3
FORWARDED = ("ping", "tcp", "udp")
ALL = ("dhcp", "dns", "ping", "tcp", "udp")


def tree(root: Path) -> dict[str, object]:
    """Every file (bytes, mode) and directory under `root`: what must come back exactly."""
    out: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        rel = "/" + str(path.relative_to(root))
        out[rel] = "dir" if path.is_dir() and not path.is_symlink() else \
            (path.read_bytes(), os.lstat(path).st_mode) if not path.is_symlink() else os.readlink(path)
    return out


def failing(lab, names) -> list[str]:
    return [str(r) for n in names if not (r := probe(lab, n, LOST if n in FORWARDED else 1.0)).ok]


def repair(lab, root: Path, state: Path, ids: tuple[str, ...], facts_as=None):
    """Scan the lab, build the remedies of `ids` and run them as one transaction."""
    built, out = repair_driver.run(lab.host, root, state, ids, facts_as)
    assert out.status == "committed", out.to_dict()
    return built


def blockers(lab, root: Path) -> set[str]:
    from vnetmigrate.collect import collect_live
    from vnetmigrate.scan import analyse

    result = analyse(collect_live(root=str(root), netns=lab.host))
    return {f.id for f in result.findings if f.severity.value == "blocker"}


def rollback(lab, root: Path, state: Path, env: dict | None = None) -> None:
    proc = vnm("rollback", "--state-dir", str(state), "--netns", lab.host, "--root", str(root), env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def libvirt_starts(lab, root: Path, rules: bool = True) -> None:
    """libvirt's network starts: its table, then the hooks of network.d, as libvirt runs them."""
    if rules:
        lab.nft(fixtures.libvirt_nftables())
    hook = root / HOOK.lstrip("/")
    lab.run([str(hook), "default", "started", "begin", "-"], input=NETWORK_XML)


def docker_starts(lab, no_drop: bool = False) -> None:
    """Docker 28 creates its chains; an existing DOCKER-USER it keeps, rules and all (it never
    flushes it); with "ip-forward-no-drop" it leaves FORWARD's policy alone."""
    text = fixtures.DOCKER_28.replace(":DOCKER-USER - [0:0]\n", "")
    lab.run(["iptables-nft", "-w", "-N", "DOCKER-USER"], check=False)
    lab.iptables_restore(text.replace(":FORWARD DROP", ":FORWARD ACCEPT") if no_drop else text)


def test_docker_drop_and_port_forward_kept_by_the_hook_across_a_reboot_then_rolled_back(lab, tmp_path):
    host = build(lab, BY_ID["docker"], "nftables")
    g = lab.guest(0)
    lab.iptables_restore(port_forward_rules(g))  # the admin's own forward (libvirt wiki's recipe)
    root, state = host.write_root(tmp_path / "root"), tmp_path / "state"
    assert set(failing(lab, (*ALL, "port-forward"))) and failing(lab, ("ping", "port-forward"))
    before_kernel, before_files = kernel_state(lab.host), tree(root)

    built = repair(lab, root, state, ("docker-forward-drop", "port-forward-nat-guest"))
    assert "DOCKER-USER" in built[0].summary and "hook" in built[1].summary
    assert failing(lab, (*ALL, "port-forward")) == []
    assert blockers(lab, root) == {"nftables-prerequisites"}  # the scan after the repair: the kernel's only
    hook = root / HOOK.lstrip("/")
    assert os.access(hook, os.X_OK) and sorted(p.name for p in (root / RULES_DIR.lstrip("/")).iterdir()) == [
        "docker-forward-drop.rules", "port-forward-nat-guest.rules"]

    # Reboot: empty ruleset; libvirt's autostarted network first (its hook creates DOCKER-USER),
    # then Docker, then the admin's forward. Then a restart of the network (net-destroy and
    # net-start: libvirt re-inserts its rules at the head of its chains, the hook runs again).
    lab.run(["nft", "flush", "ruleset"])
    libvirt_starts(lab, root)
    docker_starts(lab)
    lab.iptables_restore(port_forward_rules(g))
    assert failing(lab, (*ALL, "port-forward")) == []
    for family in ("ip", "ip6"):
        lab.run(["nft", "delete", "table", family, "libvirt_network"])
    libvirt_starts(lab, root)
    libvirt_starts(lab, root, rules=False)  # another network starting: still one copy of each rule
    listing = lab.run(["nft", "list", "chain", "ip", "libvirt_network", "forward"]).stdout
    assert listing.count("vnetmigrate:port-forward-nat-guest") == 1, listing
    assert listing.index("vnetmigrate:port-forward-nat-guest") < listing.index("jump guest_input"), listing
    assert lab.iptables("-S", "DOCKER-USER").stdout.count("vnetmigrate:docker-forward-drop") == 2
    assert failing(lab, (*ALL, "port-forward")) == []

    rollback(lab, root, state)
    assert tree(root) == before_files
    assert kernel_state(lab.host) == before_kernel
    assert failing(lab, ("ping", "port-forward"))


def test_docker_that_knows_ip_forward_no_drop_gets_it_in_daemon_json(lab, tmp_path):
    host = build(lab, BY_ID["docker"], "nftables")
    root, state = host.write_root(tmp_path / "root"), tmp_path / "state"
    before_kernel, before_files = kernel_state(lab.host), tree(root)

    def docker_28_3(facts):
        return dataclasses.replace(facts, docker=dataclasses.replace(facts.docker, version=(28, 3)))

    built = repair(lab, root, state, ("docker-forward-drop",), facts_as=docker_28_3)
    assert "ip-forward-no-drop" in built[0].summary
    assert not (root / HOOK.lstrip("/")).exists()
    assert json.loads((root / "etc/docker/daemon.json").read_text()) == {"ip-forward-no-drop": True}
    assert failing(lab, ALL) == []

    lab.run(["nft", "flush", "ruleset"])  # reboot: Docker reads daemon.json and sets no DROP policy
    docker_starts(lab, no_drop=True)
    lab.nft(fixtures.libvirt_nftables())
    assert failing(lab, ALL) == []
    lab.run(["nft", "flush", "ruleset"])  # the same state as before the reboot, for the comparison
    docker_starts(lab, no_drop=True)
    lab.nft(fixtures.libvirt_nftables())

    rollback(lab, root, state)
    assert tree(root) == before_files
    assert kernel_state(lab.host) == before_kernel  # the DROP policy is back: rollback is exact
    assert failing(lab, FORWARDED)


def test_ufw_rules_added_with_ufw_persist_and_are_deleted_with_ufw(lab, tmp_path, monkeypatch):
    host = build(lab, BY_ID["ufw"], "nftables")
    root, state = host.write_root(tmp_path / "root"), tmp_path / "state"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    # The command steps run `ufw` from PATH: this one is confined to the lab (never the machine's).
    wrapper = host.ufw.wrapper(str(bindir))
    env = {"PATH": f"{bindir}:{os.environ.get('PATH', '')}"}
    monkeypatch.setenv("PATH", env["PATH"])
    assert which("ufw") == wrapper

    def boot():  # ufw.service loads its files, then libvirt starts its network
        lab.run(["nft", "flush", "ruleset"])
        host.ufw.run("--force", "enable")
        lab.nft(fixtures.libvirt_nftables())

    # ufw's first enable in a fresh namespace leaves two of its ip6 user-limit rules out (seen
    # here); from a boot on, its chains are whole: compare boot with boot.
    boot()
    assert failing(lab, ("dhcp", "tcp"))
    before_kernel, before_ufw = kernel_state(lab.host), host.ufw.files()

    built = repair(lab, root, state, ("ufw-blocks-guests",))
    assert failing(lab, ALL) == []
    assert host.ufw.files()["/etc/ufw/user.rules"] != before_ufw["/etc/ufw/user.rules"]
    assert "-A ufw-user-input -i virbr0 -j ACCEPT" in host.ufw.files()["/etc/ufw/user.rules"]

    boot()
    assert failing(lab, ALL) == []

    rollback(lab, root, state, env=env)
    assert host.ufw.files() == before_ufw  # ufw's files byte for byte, changed by ufw only
    assert kernel_state(lab.host) == before_kernel
    for step in built[0].steps:  # an undo whose step never took effect succeeds, changing nothing
        step.undo({"nft": {}, "ipt": {}, "files": {}}, root)
    assert host.ufw.files() == before_ufw
    assert failing(lab, ("dhcp", "tcp"))


SERVICE_CONF = """#!/usr/sbin/nft -f
flush ruleset

table inet filter {
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\tct state established,related accept
\t}
\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t}
}
"""


def test_nftables_service_config_deletes_only_its_own_table_after_repair(lab, tmp_path):
    host = build(lab, BY_ID["libvirt-only"], "nftables")
    conf_path = "/etc/sysconfig/nftables.conf"  # the lab host is Fedora 41
    host.files[conf_path] = SERVICE_CONF
    host.enabled_units.append("nftables.service")
    root, state = host.write_root(tmp_path / "root"), tmp_path / "state"
    conf = root / conf_path.lstrip("/")
    reload = ["nft", "-f", str(conf)]  # what `systemctl reload nftables` runs
    lab.run(reload)
    assert failing(lab, ("ping", "tcp"))  # the reload deleted libvirt's table
    lab.nft(fixtures.libvirt_nftables())  # libvirt's network restarted
    before_kernel, before_files = kernel_state(lab.host), tree(root)

    repair(lab, root, state, ("nftables-service-flush",))
    assert "flush ruleset" not in conf.read_text() and "delete table inet filter" in conf.read_text()
    assert (root / (conf_path + ".before-vnetmigrate").lstrip("/")).read_text() == SERVICE_CONF
    for _ in range(2):
        lab.run(reload)
    assert failing(lab, ALL) == []

    lab.run(["nft", "flush", "ruleset"])  # reboot: the service loads its file, then libvirt starts
    lab.run(reload)
    lab.nft(fixtures.libvirt_nftables())
    lab.run(reload)
    assert failing(lab, ALL) == []

    rollback(lab, root, state)
    assert tree(root) == before_files
    assert kernel_state(lab.host) == before_kernel


def test_a_repair_killed_at_any_step_boundary_is_rolled_back_exactly(lab, tmp_path):
    """SIGKILL (tests/crashpoint.py) before and after each step of the Docker + port-forward
    repair, and before its commit; the rollback then restores ruleset and files."""
    from vnetmigrate.usecases.rollback import rollback as rollback_usecase

    host = build(lab, BY_ID["docker"], "nftables")
    lab.iptables_restore(port_forward_rules(lab.guest(0)))
    root = host.write_root(tmp_path / "root")
    before_kernel, before_files = kernel_state(lab.host), tree(root)
    ids = ("docker-forward-drop", "port-forward-nat-guest")
    points = [f"{i}:{w}" for i in range(6) for w in ("before", "after")] + ["commit"]
    for n, point in enumerate(points):
        state = tmp_path / f"state{n}"
        proc = subprocess.run([sys.executable, "-m", "tests.lab.repair_driver", lab.host, str(root), str(state), *ids],
                              capture_output=True, text=True, cwd=REPO, timeout=120,
                              env={**os.environ, "VNETMIGRATE_TEST_CRASH_AT": point})
        assert proc.returncode == -9, (point, proc.stdout + proc.stderr)
        undone = rollback_usecase(state, netns=lab.host, root=root)  # in-process: the CLI's is tested above
        assert undone.exit_code == 0, (point, undone.to_data())
        assert (tree(root), kernel_state(lab.host)) == (before_files, before_kernel), point
