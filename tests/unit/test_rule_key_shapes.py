"""The iptables rule key made once per shape (`canonical`) against the direct computation
(`exact_canonical`), over every rule the model writes for every kind of network the project
keeps (NAT, routed, isolated, open, IPv6, port ranges, SNAT ranges, forward devices) in every
registered release, every rule real libvirt's recordings list, and hand-made rules that put
odd words where the shape's slots are. The namespace comparison is
tests/lab/test_ownership_fast_keys.py."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from vnetmigrate.errors import InputError
from vnetmigrate.libvirt import iptables_rules
from vnetmigrate.libvirt.versions import VERSIONS, Backend
from vnetmigrate.rules import iptables
from vnetmigrate.rules.iptables import canonical, exact_canonical
from vnetmigrate.rules.iptables_save import parse_save

from .libvirt.corpus import NETWORKS, recordings
from vnetmigrate.libvirt import parse_network


def _networks():
    for path in sorted(NETWORKS.glob("*.xml")):
        net = parse_network(path.read_text(), str(path))
        yield net
        # the same shape with another bridge and name: must key to the other values
        if net.bridge:
            yield dataclasses.replace(net, name=net.name + "2", bridge=net.bridge[:-1] + "7")


def _model_specs():
    for net, version in itertools.product(_networks(), VERSIONS.values()):
        if not version.supports(Backend.IPTABLES):
            continue
        try:
            rules = iptables_rules.network_rules(net, version)
        except InputError:
            continue
        yield from ((r.spec, r.family) for r in rules)


HAND_MADE = [
    "-i virbr0 -j ACCEPT", "! -i virbr0 -o virbr0 -j REJECT", "-i virbr0 -i virbr1 -j ACCEPT",
    "-s 10.0.0.1 -d 10.0.0.0/8 -j ACCEPT", "-s not-an-address -j DROP", "-d 192.168.1.5/24 -j DROP",
    "-m comment --comment -i -i virbr0 -j ACCEPT", "-m comment --comment -s virbr0 -j ACCEPT",
    "-i -o virbr0 -j ACCEPT", "-i ! -j ACCEPT", "-o", "-i virbr0", "-p TCP -i VIRBR0 --dport 53 -j ACCEPT",
    "-m multiport --dports 1,2 -i virbr0 -j ACCEPT", "-j SNAT --to-source 10.0.0.1-10.0.0.1 -s 10.0.0.0/24",
    "-i a -o b -s 1.1.1.1 -d 2.2.2.2 -i c -o d -s 3.3.3.3 -d 4.4.4.4 -s 5.5.5.5 -j ACCEPT",
    "-i virbr0 -m conntrack --ctstate established,RELATED -j ACCEPT", "--in-interface virbr0 --jump ACCEPT",
    "-i virbr0 -g LIBVIRT_FWX", "-d fd00::1 -o virbr0 -j REJECT --reject-with icmp6-port-unreachable",
]


def test_model_rules_key_as_computed_directly():
    specs = list(_model_specs())
    assert len(specs) > 500
    for spec, family in specs:
        assert canonical(spec, family) == exact_canonical(spec, family), spec


def test_recorded_listings_key_as_computed_directly():
    rules = [r for rec in recordings() for fam, name in ((4, "iptables-save.txt"), (6, "ip6tables-save.txt"))
             if rec.text(name) for r in parse_save(rec.text(name), f"ipv{fam}", "nft").rules()]
    if not rules:
        pytest.skip("no recordings of real libvirt in tests/data/libvirt")
    for rule in rules:
        assert canonical(rule.args, rule.family) == exact_canonical(rule.args, rule.family), rule.args


@pytest.mark.parametrize("text", HAND_MADE)
@pytest.mark.parametrize("family", [4, 6])
def test_odd_words_key_as_computed_directly(text, family):
    words = text.split()
    assert canonical(words, family) == exact_canonical(words, family)
    assert canonical(words, family) == exact_canonical(words, family)  # the shape now known


def test_the_shape_is_made_once_and_filled_in():
    iptables._PLANS.clear()
    a = canonical("-s 10.1.2.0/24 -i virbr3 -p udp -m udp --dport 53 -j ACCEPT".split(), 4)
    b = canonical("-s 10.9.9.0/24 -i virbr9 -p udp -m udp --dport 53 -j ACCEPT".split(), 4)
    assert len(iptables._PLANS) == 1
    assert ("in", False, "virbr9") in b and ("src", False, "10.9.9.0/24") in b
    assert a != b
