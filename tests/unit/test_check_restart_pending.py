"""libvirt-restart-pending, and ownership while a backend change waits for a daemon restart.

After `vnetmigrate migrate --no-restart` network.conf names nftables and the kernel holds
libvirt's nftables rules, but the status files still record the iptables recipe: those rules
are what guests have, so they are expected, never leftovers to delete, and the iptables rules
are not missing. Recorded real libvirt 11.3 data (tests/data/libvirt).
"""

from __future__ import annotations

from vnetmigrate.checks import run_all
from vnetmigrate.checks.registry import run
from vnetmigrate.facts import build
from vnetmigrate.findings import Severity
from tests.unit.builders import LIBVIRT_IPT, ipt, libvirt_nft, make_evidence, status_xml

NFT_CONF = 'firewall_backend = "nftables"\n'
IPT_CONF = 'firewall_backend = "iptables"\n'


def host(conf: str, status: str, nft: bool, iptables: bool, nft_objects: tuple = ()):
    files = {"/etc/libvirt/network.conf": conf, "/run/libvirt/network/default.xml": status_xml(backend=status)}
    kw = {"ipv4_save": ipt(LIBVIRT_IPT)} if iptables else {}
    return make_evidence(files=files, nft_objects=tuple(libvirt_nft()) if nft else nft_objects, **kw)


def findings(ev) -> dict[str, object]:
    return {f.id: f for f in run_all(build(ev)).findings}


def test_after_migrate_no_restart_the_new_rules_are_expected_and_one_warning_says_restart():
    found = findings(host(NFT_CONF, "iptables", nft=True, iptables=False))
    pending = found["libvirt-restart-pending"]
    assert pending.severity == Severity.WARNING
    assert pending.title == ("libvirt's network daemon has not been restarted since the backend changed; its status "
                             "files still name iptables")
    assert "systemctl restart virtnetworkd" in pending.workarounds[0].commands[0]
    assert not any(w.repairable for w in pending.workarounds)
    assert {"libvirt-leftover-rules", "libvirt-leftover-chains", "libvirt-rules-missing"}.isdisjoint(found)
    own = build(host(NFT_CONF, "iptables", nft=True, iptables=False)).ownership.ownership
    rules = [i for i in own.items if i.kind == "rule" and i.network == "default"]
    assert rules and all(i.owner.value == "expected" and "pending a restart" in i.reason for i in rules)


def test_network_conf_edited_without_restart_the_old_rules_stay_expected():
    found = findings(host(NFT_CONF, "iptables", nft=False, iptables=True))
    assert "libvirt-restart-pending" in found
    assert {"libvirt-leftover-rules", "libvirt-leftover-chains", "libvirt-rules-missing"}.isdisjoint(found)


def test_missing_rules_are_reported_in_the_backend_that_holds_the_network():
    nft = tuple(o for o in libvirt_nft() if not ("rule" in o and o["rule"]["chain"] == "guest_cross"))
    ev = host(NFT_CONF, "iptables", nft=False, iptables=False, nft_objects=nft)
    missing = [f for f in run_all(build(ev)).findings if f.id == "libvirt-rules-missing"]
    assert [f.title for f in missing] == ["Network default (virbr0) is active but 1 of its nftables rules are missing"]


def test_quiet_when_the_status_files_name_the_configured_backend():
    assert "libvirt-restart-pending" not in findings(host(IPT_CONF, "iptables", nft=False, iptables=True))
    assert "libvirt-restart-pending" not in findings(host(NFT_CONF, "nftables", nft=True, iptables=False))


def test_skipped_without_libvirt_facts():
    import dataclasses

    from vnetmigrate.checks import all_checks

    check = next(c for c in all_checks() if c.id == "libvirt-restart-pending")
    facts = dataclasses.replace(build(host(NFT_CONF, "iptables", nft=True, iptables=False)), libvirt=None)
    assert run(facts, [check]).skipped == ({"check": "libvirt-restart-pending", "reason": "facts missing: libvirt"},)
