"""Ownership with the rule keys made once per shape (vnetmigrate.rules.iptables.canonical)
classifies a real kernel's state exactly as with every key computed directly (exact_canonical).

One namespace holds libvirt's rules from the model for networks of many kinds in both backends
(iptables-nft for some, the libvirt_network tables for others), the rules of a network that
is not active in each (leftovers), hand-made rules in libvirt's chains and a second copy of a
libvirt rule. The kernel lists them back, and the classification and the keys are compared;
what an admin sees (the hand rules unexpected, the inactive networks' rules leftover, nothing
missing) is asserted too.
"""

from __future__ import annotations

import pytest

from tests.unit.libvirt.corpus import NETWORKS
from vnetmigrate.collect import collect_live
from vnetmigrate.facts import build
from vnetmigrate.libvirt import Backend, get_version, iptables_restore, nft_text, parse_network
from vnetmigrate.libvirt import ownership, ownership_expect
from vnetmigrate.libvirt.ownership import Owner, classify
from vnetmigrate.rules.iptables import canonical, exact_canonical

pytestmark = pytest.mark.lab

IPT_ACTIVE = ["default", "nat-ports", "nat-snat", "route", "isolated", "open", "nat-ipv6"]
IPT_INACTIVE = "nat-dev"
NFT_ACTIVE = ["nat-dual", "nat-tftp", "route-dev-dual", "nat-multi-ip", "isolated-ipv6-nogw"]
NFT_INACTIVE = "nat-zone"
HAND_IPT = ["-A LIBVIRT_FWO -s 10.9.9.9/32 -j ACCEPT", "-A LIBVIRT_INP -i vnm-iso -p tcp -m tcp --dport 22 -j ACCEPT",
            "-A LIBVIRT_FWI -d 10.9.9.0/24 -o virbr0 -j ACCEPT", "-A LIBVIRT_OUT -o VNM-Hand -j ACCEPT"]
HAND_NFT = ["add rule ip libvirt_network guest_output ip saddr 10.9.9.9 accept",
            'add rule ip libvirt_network guest_input oif "vnm-dual" ip daddr 10.9.9.0/24 accept']


def _net(name: str):
    return parse_network((NETWORKS / f"{name}.xml").read_text(), f"tests/data/networks/{name}.xml")


def _rows(own):
    return ([(i.kind, i.where, i.owner, i.reason, i.network, i.text) for i in own.items],
            [(m.network, m.backend, m.where, m.text) for m in own.missing])


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    from tests.lab.conftest import _missing
    from tests.sandbox import namespaces

    if (why := _missing()) is not None:
        pytest.skip(why)
    ns = namespaces.new_name("ownkeys")
    namespaces.create([ns])
    try:
        ipt = [_net(n) for n in IPT_ACTIVE + [IPT_INACTIVE]]
        nft = [_net(n) for n in NFT_ACTIVE + [NFT_INACTIVE]]
        namespaces.ip_batch(ns, ["link add vnm-wan0 type bridge"] +
                            [f"link add {n.bridge} type bridge" for n in ipt + nft])
        for fam, cmd in ((4, "iptables-nft-restore"), (6, "ip6tables-nft-restore")):
            namespaces.run(ns, [cmd, "--noflush"], input=iptables_restore(ipt, "11.3", fam))
        copy = next("-A" + ln[2:] for ln in iptables_restore(ipt[:1], "11.3", 4).splitlines()
                    if ln.startswith("-I LIBVIRT_FWO --source"))
        for line in HAND_IPT + [copy]:  # the last: a second copy of one of the default network's rules
            namespaces.run(ns, ["iptables-nft", *line.split()])
        namespaces.run(ns, ["nft", "-f", "-"], input=nft_text(nft, "11.3") + "\n".join(HAND_NFT) + "\n")
        root = tmp_path_factory.mktemp("ownkeys-root")
        facts = build(collect_live(root=str(root), netns=ns))
        active = [(n, Backend.IPTABLES) for n in ipt[:-1]] + [(n, Backend.NFTABLES) for n in nft[:-1]]
        yield facts, active, [ipt[-1], nft[-1]]
    finally:
        namespaces.delete([ns])


def test_every_live_rule_keys_as_computed_directly(host):
    facts, _active, _known = host
    rules = [r for s in facts.iptables.saves for r in s.rules() if r.chain.startswith("LIBVIRT_")]
    assert len(rules) > 50
    for rule in rules:
        assert canonical(rule.args, rule.family) == exact_canonical(rule.args, rule.family), rule.args


def test_ownership_is_the_same_with_keys_computed_directly(host, monkeypatch):
    facts, active, known = host
    version = get_version("11.3")
    fast = classify(active, version, iptables=facts.iptables.saves, nft=facts.nft, known=known)
    monkeypatch.setattr(ownership, "ipt_key", exact_canonical)
    monkeypatch.setattr(ownership_expect, "ipt_canonical", exact_canonical)
    exact = classify(active, version, iptables=facts.iptables.saves, nft=facts.nft, known=known)
    assert _rows(fast) == _rows(exact)

    rules = [i for i in fast.items if i.kind == "rule"]
    unexpected = sorted(i.text for i in rules if i.owner is Owner.UNEXPECTED)
    assert unexpected == sorted(HAND_IPT + ["ip saddr 10.9.9.9 accept", 'oif "vnm-dual" ip daddr 10.9.9.0/24 accept'])
    leftover = {(i.network, i.reason) for i in rules if i.owner is Owner.LEFTOVER}
    assert leftover == {(IPT_INACTIVE, f"rule for network {IPT_INACTIVE}, which is not active"),
                        (NFT_INACTIVE, f"rule for network {NFT_INACTIVE}, which is not active"),
                        ("default", "a second copy of a rule network default needs")}
    assert {i.network for i in rules if i.owner is Owner.EXPECTED} - {None} == {n.name for n, _b in active
                                                                      if n.has_firewall}
    assert fast.missing == ()
