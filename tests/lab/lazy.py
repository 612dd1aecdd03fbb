"""What the lab tests of lazily compiled chains (test_iptables_lazy.py, test_nft_lazy.py) compare
with: the same ruleset with every rule compiled up front, as scan did before."""

from __future__ import annotations

from vnetmigrate.evaluate import after_switch, evaluate, host_probes, of_facts
from vnetmigrate.evaluate.lazyrules import LazyRules
from vnetmigrate.evaluate.switch import libvirt_tables


def compiled_up_front(rs):
    """`rs` with every lazily compiled chain (iptables or nftables) compiled up front."""
    return rs.replace_chains([type(c)(**{**c.__dict__, "rules": tuple(c.rules)}) for c in rs.chains.values()
                              if isinstance(c.rules, LazyRules)])


def same_verdicts(facts):
    """Every probe of the host, now and after the switch, evaluated with the lazily compiled
    ruleset and with it compiled up front; asserts the results are equal. Returns the lazy
    ruleset (now), the probes and every step of the lazy evaluations' paths."""
    probes = host_probes(facts)
    lazy, exact = of_facts(facts), compiled_up_front(of_facts(facts))
    tables = libvirt_tables(facts)
    cases = [("now", lazy, exact), ("after", after_switch(lazy, tables).ruleset, after_switch(exact, tables).ruleset)]
    steps = []
    for when, rs_lazy, rs_exact in cases:
        for probe in probes:
            got, want = evaluate(rs_lazy, probe.packet), evaluate(rs_exact, probe.packet)
            assert got == want, f"{when} {probe.id}: {got.explain()} != {want.explain()}"
            steps += got.path
    return lazy, probes, steps
