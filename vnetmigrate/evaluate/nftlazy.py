"""A native nftables chain's compiled rules, each rule compiled the first time the evaluator
reads it (evaluate/lazyrules.py says why).

Compiling every rule of a chain of 50,000 (`inet filter` forward with a block list, per-pod
veths, service addresses and open ports) held ~110 MB of operations, about 2.2 KB a rule,
that no probe ever ran. A rule's gates are read from its typed statements by
`nftcompile.gate`, which follows the compiler's own branches; its targets are the compiler's
own operations of every statement that is not a match (`nftcompile.statement_op`).
tests/unit/evaluate/test_nft_lazy.py compares both with the exact compile on recorded
rulesets; tests/lab/test_nft_lazy.py compares verdicts on kernel state.
"""

from __future__ import annotations

from collections.abc import Iterator

from vnetmigrate.evaluate import lazyrules, nftcompile
from vnetmigrate.evaluate.core import Match, Op, Rule
from vnetmigrate.evaluate.lazyrules import Gates
from vnetmigrate.rules import nft
from vnetmigrate.rules.nft import NftRule

_NO_GATES: Gates = ((), (), (), ())
_ORDER = ("iface", "addr", "port", "proto")  # what the chain index reads first (evaluate/index.py)
# statements that compile to an operation ending a rule's leading matches (evaluate/core.py `Rule`)
_NOT_MATCHES = (nft.Counter, nft.Verdict, nft.Nat, nft.Mangle, nft.Vmap)


class LazyNftRules(lazyrules.LazyRules):
    """A native chain's rules (`NftRule`), compiled on first use; `sets` resolves the
    anonymous sets they name (facts/nftsets.py)."""

    __slots__ = ("_sets",)

    def __init__(self, source: tuple[NftRule, ...], sets=None):
        super().__init__(source)
        self._sets = sets

    def _compile(self, i: int) -> Rule:
        return nftcompile.compile_rule(self._source[i], self._sets)

    def gates(self) -> Iterator[Gates]:
        """The first gate of the first kind the index reads, the others left empty."""
        for rule in self._source:
            yield rule_gates(rule)

    def target_ops(self) -> Iterator[Op]:
        # kept: both the order check (engine._changes_state) and engine.can_block read them
        ops = self.memo.get("targets")
        if ops is None:
            sets = self._sets
            ops = self.memo["targets"] = [op for rule in self._source for st in rule.stmts if type(st) is not nft.Match
                                          for op in (nftcompile.statement_op(rule, st, sets),)
                                          if not isinstance(op, Match)]
        return iter(ops)


def rule_gates(rule: NftRule) -> Gates:
    """The gate of `rule` the chain index reads: of its leading matches (those before the
    first statement that compiles to anything but a match), the first interface gate, else
    the first address gate, else port, else protocol."""
    found: dict[str, object] = {}
    family = rule.family
    for st in rule.stmts:
        kind = type(st)
        if kind is nft.Match:
            g = nftcompile.gate(family, st)
            if g is not None and g[0] not in found:
                found[g[0]] = g[1]
                if g[0] == "iface":
                    break  # it comes first whatever follows
        elif kind in _NOT_MATCHES or not isinstance(nftcompile.statement_op(rule, st), Match):
            break  # (an unmodelled statement may still compile to a match: limit, quota, xt match)
    for i, name in enumerate(_ORDER):
        if name in found:
            return tuple((found[name],) if j == i else () for j in range(4))
    return _NO_GATES


def chain_rules(source: tuple[NftRule, ...], sets=None) -> tuple | LazyNftRules:
    """A listed chain's rules for the evaluator: () when it has none (an empty chain compares
    equal to ()), else compiled on first use."""
    return LazyNftRules(source, sets) if source else ()
