"""The evaluator's shared work gives exactly the results of evaluating every packet from scratch.

scan evaluates nine probes per libvirt network; evaluate/engine.py shares work between them: a
packet's result is reused for a later packet whose fields read by the evaluation are equal, a
chain run for a later packet state that reads the same of the packet and its devices
(evaluate/reads.py), and naming the blockers of a blocked packet skips base chains that cannot
drop or reject (engine.can_block). On kernel state — Docker's FORWARD DROP with kube-proxy's nat
chains (KUBE-SERVICES not read); a native table dropping and rejecting at the same forward hook
and priority, through a jump; one that only rejects; a chain indexed by interface (more rules
than are tried one by one) dropping for one bridge; nat chains that drop at prerouting and at
postrouting; a rate limit, a verdict map, a DSCP rewrite the evaluator does not model; then a
chain setting a mark beside the forward chains — every probe's result (verdict, deciding rule,
path, blockers, notes, reasons), now and after the switch, in probe order and reversed, is the
one `engine.SHARE = False` gives: every packet evaluated alone, every base chain run again for
the blockers.
"""

from __future__ import annotations

import re

import pytest

from tests.bench.hostgen import build_host
from vnetmigrate.collect import collect_live
from vnetmigrate.evaluate import after_switch, engine, evaluate, host_probes, of_facts
from vnetmigrate.evaluate.switch import libvirt_tables
from vnetmigrate.facts import build

pytestmark = pytest.mark.lab

GUARD = """table inet guard {
    chain forward_guard {
        type filter hook forward priority 0; policy accept;
        iifname "vbr1" tcp dport 443 drop
        oifname "vbr2" ct state established,related accept
        jump checks
    }
    chain checks {
        ip saddr 10.200.3.0/24 meta l4proto udp reject
        meta l4proto icmp ip daddr 10.200.0.0/24 drop
        ip saddr 10.200.1.0/24 meta l4proto udp limit rate 10/second accept
        ip saddr 10.200.2.0/24 meta l4proto icmp ip dscp set cs1
        iifname "vbr2" meta l4proto vmap { udp : drop, tcp : accept }
    }
}
table ip rejecter {
    chain forward_reject {
        type filter hook forward priority 10; policy accept;
        iifname "vbr3" meta l4proto tcp reject
    }
}
table ip indexed {
    chain input_filter {
        type filter hook input priority 0; policy accept;
        iifname "other0" drop
        iifname "other1" drop
        iifname "other2" drop
        iifname "other3" drop
        iifname "other4" drop
        iifname "other5" drop
        iifname "other6" drop
        iifname "other7" drop
        iifname "other8" drop
        iifname "other9" drop
        iifname "other10" drop
        iifname "other11" drop
        iifname "other12" drop
        iifname "vbr1" udp dport 53 drop
    }
}
table ip natguard {
    chain prerouting_guard {
        type nat hook prerouting priority -100; policy accept;
        iifname "vbr0" udp dport 67 drop
    }
    chain postrouting_guard {
        type nat hook postrouting priority 100; policy accept;
        ip saddr 10.200.2.0/24 tcp dport 443 drop
    }
}
"""
# beside the forward chains at priority 0: the verdict may depend on which the kernel runs first
MARKER = """table ip marker {
    chain forward_guard {
        type filter hook forward priority 0; policy accept;
        iifname "vbr3" meta mark set 0x1
    }
}
"""


def _results(facts, share: bool, reverse: bool) -> dict:
    saved = engine.SHARE
    engine.SHARE = share
    try:
        probes = host_probes(facts)
        now = of_facts(facts)
        runs = (("now", now), ("after", after_switch(now, libvirt_tables(facts)).ruleset))
        order = list(reversed(probes)) if reverse else probes
        return {(when, p.id): evaluate(rs, p.packet) for when, rs in runs for p in order}
    finally:
        engine.SHARE = saved


def _compare(facts) -> dict:
    """The results from scratch; asserts the shared ones equal them, in both probe orders."""
    want = _results(facts, share=False, reverse=False)
    for reverse in (False, True):
        got = _results(facts, share=True, reverse=reverse)
        assert got.keys() == want.keys()
        for key, result in want.items():
            assert got[key] == result, f"{key} (reversed: {reverse}): {got[key].explain()} != {result.explain()}"
    return want


def _hits(results) -> list:
    return [h for r in results.values() for h in (*(s for p in r.path for s in (*p.steps, p.end)),
                                                  r.decided_by and r.decided_by.end, *(b.end for b in r.blockers))
            if h is not None]


def _compare_quoting(facts) -> None:
    """Hits keep a rule's text object and write it when read (core.quoted): every result equals
    the one whose hits were written as the rule decided (a text naming an anonymous set
    always is: rendering it reads the set)."""
    from vnetmigrate.evaluate import chainrun
    from vnetmigrate.evaluate.nftcompile import SetText

    deferred = _results(facts, share=True, reverse=False)
    kept = [h.__dict__["text"] for h in _hits(deferred) if type(h.__dict__["text"]) is not str]
    assert kept and not any(isinstance(t, SetText) for t in kept)  # deferred, but never a set's
    saved = chainrun.quoted
    chainrun.quoted = str
    try:
        written = _results(facts, share=True, reverse=False)
    finally:
        chainrun.quoted = saved
    assert all(type(h.__dict__["text"]) is str for h in _hits(written))
    assert written.keys() == deferred.keys()
    for key, result in written.items():
        assert deferred[key] == result, f"{key}: {deferred[key].explain()} != {result.explain()}"
        assert deferred[key].explain() == result.explain()


def test_shared_evaluation_gives_the_results_of_evaluating_alone(lab_ready, tmp_path):
    from tests.sandbox import namespaces

    ns = namespaces.new_name("share")
    namespaces.create([ns])
    try:
        build_host(ns, tmp_path, networks=4, offpath_rules=300)
        namespaces.run(ns, ["nft", "-f", "-"], input=GUARD)
        facts = build(collect_live(root=str(tmp_path), netns=ns))
        want = _compare(facts)
        _compare_quoting(facts)
        now = {pid: r for (when, pid), r in want.items() if when == "now"}
        assert len(now) == 36
        # what the host exercises: blockers in several tables, a nat chain's drop, an unmodelled
        # rule, a drop and a reject at one hook and priority, the unread KUBE-SERVICES
        blockers = {b.base for r in now.values() for b in r.blockers}
        assert {"ip filter FORWARD", "inet guard forward_guard", "ip rejecter forward_reject", "ip indexed input_filter",
                "ip natguard prerouting_guard", "ip natguard postrouting_guard"} <= blockers, blockers
        assert any(len(r.blockers) >= 2 for r in now.values())
        reasons = " ".join(x for r in now.values() for x in r.reasons)
        assert "not modelled" in reasons and "not listed anywhere" in reasons, reasons
        assert any("KUBE-SERVICES" in str(s) for r in now.values() for p in r.path for s in p.steps)
        # ... and the work was shared: libvirt's postrouting chain cannot block, the nat ones can
        rs = of_facts(facts)
        chains = {c.name: c for c in rs.base_chains()}
        assert not engine.can_block(rs, chains["ip libvirt_network guest_nat"])
        assert engine.can_block(rs, chains["ip natguard postrouting_guard"])
        assert engine.can_block(rs, chains["inet guard forward_guard"])
        for p in host_probes(facts):
            evaluate(rs, p.packet)
        evaluated = sum(len(v) for k, v in rs.memo.items() if k[0] == "evaluate")
        assert evaluated < len(now), evaluated  # probes whose rules read the same fields share one

        namespaces.run(ns, ["nft", "-f", "-"], input=MARKER)
        facts = build(collect_live(root=str(tmp_path), netns=ns))
        want = _compare(facts)
        reasons = " ".join(x for r in want.values() for x in r.reasons)
        assert "change marks or conntrack state" in reasons, reasons
    finally:
        namespaces.delete([ns])


# Networks of one shape (libvirt writes the same rules for each, naming its bridge and subnet)
# beside look-alikes differing in one thing a chain reads: the prefix length, IPv6 on one only,
# the forward mode, a hand rule naming one bridge (in a short chain and in an indexed one), an
# address block holding two of the subnets but not a third.
LOOKALIKES = [("lk0", "nat", "10.201.0.1/24", None), ("lk1", "nat", "10.201.1.1/24", None),
              ("lk2", "nat", "10.201.2.1/24", None), ("lk3", "nat", "10.201.3.1/25", None),
              ("lk4", "nat", "10.201.4.1/24", "fd00:4::1/64"), ("lk5", "route", "10.201.5.1/24", None),
              ("lk6", "nat", "10.201.6.1/24", None), ("lk7", "nat", "10.201.7.1/24", None)]
HAND = """table inet hand {
    chain forward_hand {
        type filter hook forward priority 10; policy accept;
        iifname "lk6" tcp dport 443 drop
        ip saddr 10.201.0.0/23 meta l4proto udp reject
        oifname "lk7" ct state established drop
    }
    chain input_hand {
        type filter hook input priority 10; policy accept;
""" + "".join(f'        iifname "other{i}" drop\n' for i in range(13)) + """        iifname "lk2" udp dport 53 drop
        iifname "lk*" tcp dport 53 accept
    }
}
"""


def _lookalike_xml(name: str, mode: str, v4: str, v6: str | None) -> str:
    import ipaddress

    ips = ""
    for addr in (v4, v6):
        if addr:
            iface = ipaddress.ip_interface(addr)
            ips += (f"<ip address='{iface.ip}' netmask='{iface.netmask}'/>" if iface.version == 4
                    else f"<ip family='ipv6' address='{iface.ip}' prefix='{iface.network.prefixlen}'/>")
    return f"<network><name>{name}</name><forward mode='{mode}'/><bridge name='{name}'/>{ips}</network>\n"


def test_networks_that_look_alike_share_only_what_they_read_alike(lab_ready, tmp_path):
    from tests.bench.hostgen import write_root
    from tests.sandbox import namespaces
    from vnetmigrate.libvirt import nft_text, parse_network

    ns = namespaces.new_name("alike")
    namespaces.create([ns])
    try:
        xmls = {name: _lookalike_xml(name, mode, v4, v6) for name, mode, v4, v6 in LOOKALIKES}
        namespaces.ip_batch(ns, [f"link add {n} type bridge" for n in xmls])
        write_root(tmp_path, 0)
        for name, xml in xmls.items():
            (tmp_path / f"etc/libvirt/qemu/networks/{name}.xml").write_text(xml)
            (tmp_path / f"run/libvirt/network/{name}.xml").write_text(
                f"<networkstatus>{xml}<firewall name='fwRemoval' backend='nftables'/></networkstatus>\n")
        models = [parse_network(x, f"{n}.xml") for n, x in xmls.items()]
        namespaces.run(ns, ["nft", "-f", "-"], input=nft_text(models, "11.3") + HAND)
        facts = build(collect_live(root=str(tmp_path), netns=ns))
        want = _compare(facts)
        now = {pid: r for (when, pid), r in want.items() if when == "now"}
        assert len(now) == 8 * 9 + 9, sorted(now)  # lk4 has IPv6 probes too
        # the look-alikes got different results where the hand rules tell them apart ...
        assert now["lk6/forward-tcp"].verdict == "drop" and now["lk1/forward-tcp"].verdict == "accept"
        assert now["lk0/forward-udp"].verdict == "reject" and now["lk1/forward-udp"].verdict == "reject"
        assert now["lk2/forward-udp"].verdict == "accept"
        assert now["lk7/reply-tcp"].verdict == "drop" and now["lk6/reply-tcp"].verdict == "accept"
        assert now["lk2/dns-udp"].verdict == "drop" and now["lk1/dns-udp"].verdict == "accept"
        # ... and the same results, but for the names, where they are alike
        def named(r, net):  # the path with the network's bridge, subnet and rule handles left out
            return [(p.base, p.verdict, re.sub(r"handle \d+|10\.201\.\d+\.", "", str(p.end).replace(net, "NET")))
                    for p in r.path]
        assert named(now["lk0/forward-icmp"], "lk0") == named(now["lk1/forward-icmp"], "lk1")
    finally:
        namespaces.delete([ns])
