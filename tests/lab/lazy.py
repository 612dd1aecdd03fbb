"""What the lab tests of lazily compiled chains (test_iptables_lazy.py, test_nft_lazy.py) compare
with: the same ruleset with every rule compiled up front, as scan did before."""

from __future__ import annotations

from vnetmigrate.evaluate.lazyrules import LazyRules


def compiled_up_front(rs):
    """`rs` with every lazily compiled chain (iptables or nftables) compiled up front."""
    return rs.replace_chains([type(c)(**{**c.__dict__, "rules": tuple(c.rules)}) for c in rs.chains.values()
                              if isinstance(c.rules, LazyRules)])
