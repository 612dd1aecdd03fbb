"""The after-switch simulation takes the libvirt model's typed commands straight
(switch.libvirt_commands) instead of their libnftables JSON read back (switch.libvirt_tables):
both must give the same chains, rule for rule, for every kind of network and every modelled
release with the nftables backend, and the same verdict for every probe."""

import dataclasses

import pytest

from vnetmigrate.evaluate import after_switch, evaluate, host_probes, of_facts
from vnetmigrate.evaluate.switch import _as_read, _chains, libvirt_commands, libvirt_tables
from vnetmigrate.libvirt import parse_network
from vnetmigrate.libvirt.nft_commands import NftState, command_list
from vnetmigrate.libvirt.versions import VERSIONS, Backend
from vnetmigrate.rules.nft import NftRule
from tests.unit.evaluate.test_switch_probes import facts, with_dnat
from tests.unit.builders import LIBVIRT_IPT, ipt

# every kind of network the nftables backend writes rules for
NETWORKS = [
    "<network><name>nat</name><forward mode='nat'/><bridge name='lvnat'/>"
    "<ip address='10.70.0.1' netmask='255.255.255.0'/></network>",
    "<network><name>natports</name><forward mode='nat'><nat><port start='20000' end='29999'/></nat></forward>"
    "<bridge name='lvports'/><ip address='10.70.1.1' netmask='255.255.255.0'/></network>",
    "<network><name>snat</name><forward mode='nat' dev='eth0'><nat><address start='203.0.113.10' "
    "end='203.0.113.20'/><port start='1500' end='1600'/></nat></forward><bridge name='lvsnat'/>"
    "<ip address='10.70.6.1' netmask='255.255.255.0'/></network>",
    "<network><name>snat1</name><forward mode='nat'><nat><address start='203.0.113.30' end='203.0.113.30'/>"
    "</nat></forward><bridge name='lvsnat1'/><ip address='10.70.7.1' netmask='255.255.255.0'/></network>",
    "<network><name>nat6</name><forward mode='nat'><nat ipv6='yes'/></forward><bridge name='lvnat6'/>"
    "<ip address='10.70.2.1' netmask='255.255.255.0'/><ip family='ipv6' address='fd00:70:2::1' prefix='64'/>"
    "</network>",
    "<network><name>routed</name><forward mode='route' dev='eth1'/><bridge name='lvroute'/>"
    "<ip address='10.70.3.1' netmask='255.255.255.0'/><ip family='ipv6' address='fd00:70:3::1' prefix='64'/>"
    "</network>",
    "<network><name>isolated</name><bridge name='lviso'/><ip address='10.70.4.1' netmask='255.255.255.0'/>"
    "<ip family='ipv6' address='fd00:70:4::1' prefix='64'/></network>",
    "<network ipv6='yes'><name>v6yes</name><bridge name='lvv6'/></network>",
    "<network><name>open</name><forward mode='open'/><bridge name='lvopen'/>"
    "<ip address='10.70.5.1' netmask='255.255.255.0'/></network>",
]
NFT_RELEASES = sorted(v for v, lv in VERSIONS.items() if lv.supports(Backend.NFTABLES))


def test_there_are_releases_to_compare():
    assert len(NFT_RELEASES) >= 2


@pytest.mark.parametrize("version", NFT_RELEASES)
def test_the_models_typed_commands_are_their_json_read_back(version):
    nets = [parse_network(x, "net.xml") for x in NETWORKS]
    # a host with libvirt's table and chains already there: no setup commands, only rules
    partial = NftState(frozenset({"ip"}), frozenset({("ip", "forward"), ("ip", "guest_nat")}))
    for state in (None, partial):
        commands = command_list(nets, version, state)
        rules = [c for c in commands if c.kind == "rule"]
        assert len(rules) > 60
        read: dict = {}
        for c in rules:
            read_back = NftRule.from_json(c.json()[c.verb]["rule"])
            typed = tuple(_as_read(st, c.family, read) for st in c.rule.exprs)
            assert NftRule(c.family, c.table, c.rule.chain, None, typed) == read_back, c.text()
        typed, from_json = _chains(commands), _chains([c.json() for c in commands])
        assert [ch.name for ch in typed] == [ch.name for ch in from_json]
        assert [_plain(ch) for ch in typed] == [_plain(ch) for ch in from_json]


def _plain(chain):
    """A compiled chain without what compiling makes anew each time (closures): its metadata,
    and each rule's place, statements, text and the kinds of its operations; the verdicts
    below compare what the operations do."""
    rules = tuple((r.chain, r.where, r.text.stmts, r.text.comment, str(r.text), tuple(type(op) for op in r.ops))
                  for r in chain.rules)
    return dataclasses.replace(chain, rules=rules)


@pytest.mark.parametrize("save", [ipt(LIBVIRT_IPT, policy="DROP"), with_dnat(ipt(LIBVIRT_IPT))])
def test_the_ruleset_after_the_switch_and_every_verdict_are_the_same_both_ways(save):
    f = facts(save)
    rs = of_facts(f)
    typed, from_json = after_switch(rs, libvirt_commands(f)), after_switch(rs, libvirt_tables(f))
    assert typed.libvirt_modelled and typed.removed == from_json.removed
    assert {k: _plain(c) for k, c in typed.ruleset.chains.items() if c.kind == "nft"} == \
        {k: _plain(c) for k, c in from_json.ruleset.chains.items() if c.kind == "nft"}
    probes = host_probes(f)
    assert probes
    for p in probes:
        assert evaluate(typed.ruleset, p.packet) == evaluate(from_json.ruleset, p.packet), p.id


def test_without_model_facts_there_are_no_commands():
    f = dataclasses.replace(facts(), ownership=None)
    assert libvirt_commands(f) is None and libvirt_tables(f) is None
