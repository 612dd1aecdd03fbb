"""What the persistent remedies plan, from facts (unit). Their effect on a real kernel, with
ufw, the hook and the engine, is proven in tests/lab/test_repair_persist.py and, with real
libvirt running the hook, in tests/peer/test_repair_hook_real_libvirt.py."""

from __future__ import annotations

from pathlib import Path

from tests.unit.builders import make_evidence
from tests.unit.test_detectors import DEBIAN_NFT_CONF, PUBLIC_WITH_BRIDGE, ZONE, found, running_firewalld, scan
from vnetmigrate.facts import build
from vnetmigrate.repair import remedies
from vnetmigrate.repair.nftables_service import without_flush
from vnetmigrate.txn.steps import CommandStep

RUNNING = "Id=firewalld.service\nLoadState=loaded\nUnitFileState=enabled\nActiveState=active\n"


def test_dockerd_version_is_read_from_its_version_line():
    ev = make_evidence(commands={"dockerd.version": "Docker version 28.3.2, build 578ccf6\n"})
    assert build(ev).docker.version == (28, 3)
    assert build(make_evidence()).docker.version is None


def test_firewalld_binding_steps_and_their_exact_inverses(tmp_path: Path):
    # firewall-cmd needs D-Bus and a running firewalld; neither runs here, and the repository
    # holds no recorded firewall-cmd session to replay. So this checks what the steps would run
    # and what their undo runs, not firewalld's answer to them.
    facts, out = scan(running_firewalld(libvirt=ZONE, public=PUBLIC_WITH_BRIDGE), show=RUNNING)
    (finding,) = found(out, "firewalld-zones")
    assert [w.id for w in finding.workarounds if w.repairable] == ["bind-libvirt-zone"]
    remedy = remedies.load_all()["firewalld-zones"](facts, finding, remedies.RepairContext(tmp_path))
    assert all(isinstance(s, CommandStep) for s in remedy.steps)
    assert [(s.argv, s.undo_argv) for s in remedy.steps] == [
        (["firewall-cmd", "--permanent", "--zone=libvirt", "--change-interface=virbr0"],
         ["firewall-cmd", "--permanent", "--zone=public", "--change-interface=virbr0"]),
        (["firewall-cmd", "--zone=libvirt", "--change-interface=virbr0"],
         ["firewall-cmd", "--zone=public", "--change-interface=virbr0"])]


def test_firewalld_without_a_libvirt_zone_is_not_repairable(tmp_path: Path):
    facts, out = scan(running_firewalld(public="<zone/>"), show=RUNNING)
    (finding,) = found(out, "firewalld-zones")
    outcome = remedies.load_all()["firewalld-zones"](facts, finding, remedies.RepairContext(tmp_path))
    assert isinstance(outcome, remedies.NotRepairable) and "libvirt` zone" in outcome.reason


def test_flush_ruleset_becomes_deleting_the_configurations_own_tables():
    edited = without_flush(DEBIAN_NFT_CONF, ("inet filter",))
    assert "flush ruleset" not in edited
    assert "table inet filter\ndelete table inet filter\n" in edited
    assert edited.replace("table inet filter\ndelete table inet filter\n", "flush ruleset\n", 1) == DEBIAN_NFT_CONF


def test_the_nftables_service_remedy_keeps_a_copy_and_the_old_text_for_its_undo(tmp_path: Path):
    root = tmp_path
    (root / "etc").mkdir()
    (root / "etc/nftables.conf").write_text(DEBIAN_NFT_CONF)
    facts, out = scan({"/etc/nftables.conf": DEBIAN_NFT_CONF}, wants=("nftables.service",))
    (finding,) = found(out, "nftables-service-flush")
    remedy = remedies.load_all()["nftables-service-flush"](facts, finding, remedies.RepairContext(root))
    backup, edit = remedy.steps
    assert (backup.path, backup.content, backup.old_content) == ("/etc/nftables.conf.before-vnetmigrate",
                                                                 DEBIAN_NFT_CONF, None)
    assert edit.path == "/etc/nftables.conf" and edit.old_content == DEBIAN_NFT_CONF
