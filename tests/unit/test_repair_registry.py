"""The remedy registry: one builder per finding id, every module of vnetmigrate.repair loaded."""

import pytest

from vnetmigrate.repair import remedies


def test_a_finding_id_cannot_have_two_remedies(monkeypatch):
    monkeypatch.setattr(remedies, "REGISTRY", {})
    remedies.remedy("some-finding")(lambda facts, finding, ctx: None)
    with pytest.raises(ValueError, match="two remedies for 'some-finding'"):
        remedies.remedy("some-finding")(lambda facts, finding, ctx: None)


def test_load_all_imports_each_module_of_the_package_once():
    first = remedies.load_all()
    assert remedies.load_all() is first


def test_every_workaround_marked_repairable_has_a_remedy_and_the_reverse():
    """scan's "repair can apply this" must be true: for each finding the checks report on real
    recorded hosts, a repairable workaround means a registered remedy (or the recovery repair
    runs first), and a remedy (other than a choice made with --only) means a repairable one."""
    from tests.render import scenarios
    from tests.unit.test_checks import NFT_CONF, recorded_host
    from vnetmigrate.checks import run_all
    from vnetmigrate.facts import build
    from vnetmigrate.usecases.repair import repairable_ids

    hosts = [recorded_host("11.3-switch-no-act-csum", "after", NFT_CONF), recorded_host("11.3-switch", "after", NFT_CONF),
             recorded_host("11.3-switch-back", "after", 'firewall_backend = "iptables"\n'),
             scenarios.docker_evidence()]
    marked, found = set(), set()
    for ev in hosts:
        for f in run_all(build(ev)).findings:
            found.add(f.id)
            if any(w.repairable for w in f.workarounds):
                marked.add(f.id)
    assert {"libvirt-rules-missing", "libvirt-leftover-chains", "libvirt-leftover-rules"} <= marked
    assert marked <= repairable_ids()
    unmarked = (found & set(remedies.load_all())) - marked - remedies.NAMED_ONLY - {"libvirt-unexpected-rules"}
    assert unmarked == set()
