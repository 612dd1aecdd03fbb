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


def test_shared_evaluation_gives_the_results_of_evaluating_alone(lab_ready, tmp_path):
    from tests.sandbox import namespaces

    ns = namespaces.new_name("share")
    namespaces.create([ns])
    try:
        build_host(ns, tmp_path, networks=4, offpath_rules=300)
        namespaces.run(ns, ["nft", "-f", "-"], input=GUARD)
        facts = build(collect_live(root=str(tmp_path), netns=ns))
        want = _compare(facts)
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
