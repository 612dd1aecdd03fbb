"""Ownership of live tables, chains and rules (expected / leftover / unexpected / foreign),
on real kernel listings: rules loaded from the model into a namespace, then changed by hand
the way hosts drift (a stopped network's rules left behind, a rule deleted, a rule added
into libvirt's chain, a backend switch that left the other backend's objects)."""

import pytest

from vnetmigrate.rules.iptables_save import parse_save as facts_save
from vnetmigrate.rules.nft_ruleset import parse_ruleset_json
from vnetmigrate.libvirt import Backend, get_version, iptables_restore, nft_text
from vnetmigrate.libvirt.ownership import Item, Owner, classify

from .lab import netns
from .samples import bridges, sample_networks

pytestmark = pytest.mark.lab
V = get_version("11.3")


def live(ns):
    nft = parse_ruleset_json(ns.run("nft", "-j", "-a", "list", "ruleset").stdout)
    saves = [facts_save(ns.save(4), "ipv4", "nft"), facts_save(ns.save(6), "ipv6", "nft")]
    return saves, nft


def loaded(ns, ipt_nets, nft_nets):
    for br in bridges(sample_networks()):
        ns.add_bridge(br)
    for fam in (4, 6):
        if ipt_nets:
            ns.restore(fam, iptables_restore(ipt_nets, V, fam))
    if nft_nets:
        ns.nft_file(nft_text(nft_nets, V))


def test_everything_expected_when_state_matches():
    a, b, c, d, _e = sample_networks()
    with netns() as ns:
        loaded(ns, [a, b], [c, d])
        saves, nft = live(ns)
    own = classify([(a, Backend.IPTABLES), (b, Backend.IPTABLES), (c, Backend.NFTABLES), (d, Backend.NFTABLES)],
                   V, iptables=saves, nft=nft)
    assert own.of(Owner.LEFTOVER) == () and own.of(Owner.UNEXPECTED) == () and own.missing == ()
    rules = own.of(Owner.EXPECTED, "rule")
    assert {r.network for r in rules if r.network} == {"a", "b", "c", "d"}
    assert {i.where for i in own.of(Owner.EXPECTED, "table")} == {"ip libvirt_network", "ip6 libvirt_network"}
    foreign = own.of(Owner.FOREIGN)
    assert foreign and all(i.kind == "chain" for i in foreign)


def test_stopped_network_switch_leftovers_and_drift(monkeypatch):
    a, b, c, d, _e = sample_networks()
    with netns() as ns:
        loaded(ns, [a, b], [c])
        # drift: a rule of a deleted by hand, a stranger's rule in libvirt's chain
        ns.run("iptables-nft", "-D", "LIBVIRT_FWX", "-i", "vnmbr1", "-o", "vnmbr1", "-j", "ACCEPT")
        ns.run("iptables-nft", "-I", "LIBVIRT_FWO", "-i", "eth9", "-j", "ACCEPT")
        ns.run("nft", "add", "table", "inet", "other")
        saves, nft = live(ns)
    # b was stopped (its rules stay), c's rules moved to iptables but the nft ones remain
    own = classify([(a, Backend.IPTABLES), (c, Backend.IPTABLES)], V, iptables=saves, nft=nft, known=[b, d])
    left = [i for i in own.of(Owner.LEFTOVER, "rule") if i.network]
    jumps = [i for i in own.of(Owner.LEFTOVER, "rule") if not i.network]
    assert {i.network for i in left} == {"b", "c"}
    assert len(jumps) == 6 and all("jump to libvirt's chain" in i.reason for i in jumps)  # nft forward
    assert all("not active" in i.reason for i in left if i.network == "b")
    assert all("nftables backend" in i.reason for i in left if i.network == "c")
    assert [i.text for i in own.of(Owner.UNEXPECTED)] == ["-A LIBVIRT_FWO -i eth9 -j ACCEPT"]
    # the nft table is libvirt's but no active network uses nftables now
    assert {i.where for i in own.of(Owner.LEFTOVER, "table")} == {"ip libvirt_network", "ip6 libvirt_network"}
    assert ("inet other") in {i.where for i in own.of(Owner.FOREIGN, "table")}
    missing = {(m.network, m.where) for m in own.missing}
    assert ("a", "ipv4 filter LIBVIRT_FWX") in missing
    # c needs its iptables rules, which were never loaded
    assert {m.network for m in own.missing} == {"a", "c"}
    # leftovers' explanations are modelled only when a live rule needs one: the same as modelled first
    from vnetmigrate.libvirt import ownership, ownership_expect

    def settled(*args, **kwargs):
        exp = ownership_expect.expectations(*args, **kwargs)
        assert exp.ipt.pending and exp.nft.pending is exp.ipt.pending
        exp.ipt.explain(("no such rule",))
        assert not exp.ipt.pending
        return exp

    # a rule item's text is written when it is first read (ownership._RuleText): its live rule's
    # text, each item equal, and hashing alike, to one made with its text given
    fresh = classify([(a, Backend.IPTABLES), (c, Backend.IPTABLES)], V, iptables=saves, nft=nft, known=[b, d])
    texts = {r.where(): r.text for s in saves for t in s.tables for ch in t.chains for r in ch.rules}
    texts |= {r.where(): r.text for t in nft.tables for ch in t.chains for r in (ch.rules or ())}
    rules = [i for i in fresh.items if i.kind == "rule"]
    eager = [Item(i.kind, i.where, i.owner, i.reason, i.network, texts[i.where]) for i in rules]
    assert len(rules) > 50 and [hash(i) for i in rules] == [hash(i) for i in eager] and rules == eager
    assert [i.text for i in rules] == [texts[i.where] for i in rules]

    monkeypatch.setattr(ownership, "expectations", settled)
    assert classify([(a, Backend.IPTABLES), (c, Backend.IPTABLES)], V, iptables=saves, nft=nft, known=[b, d]) == own


def test_switch_to_nftables_leaves_iptables_chains_as_leftovers():
    a, *_ = sample_networks()
    with netns() as ns:
        loaded(ns, [a], [a])
        for fam, tool in ((4, "iptables-nft"), (6, "ip6tables-nft")):
            for chain, table in (("LIBVIRT_INP", "filter"), ("LIBVIRT_OUT", "filter"), ("LIBVIRT_FWO", "filter"),
                                 ("LIBVIRT_FWI", "filter"), ("LIBVIRT_FWX", "filter"), ("LIBVIRT_PRT", "nat"),
                                 ("LIBVIRT_PRT", "mangle")):
                ns.run(tool, "-t", table, "-F", chain)
        saves, nft = live(ns)
    own = classify([(a, Backend.NFTABLES)], V, iptables=saves, nft=nft)
    assert own.missing == () and own.of(Owner.UNEXPECTED) == ()
    chains = own.of(Owner.LEFTOVER, "chain")
    assert len(chains) == 14 and all(i.where.split()[-1].startswith("LIBVIRT_") for i in chains)
    jumps = own.of(Owner.LEFTOVER, "rule")
    assert len(jumps) == 14 and all("jump to libvirt's chain" in i.reason for i in jumps)
