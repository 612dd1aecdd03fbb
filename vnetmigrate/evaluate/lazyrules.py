"""A chain's compiled rules, each rule compiled the first time the evaluator reads it.

A chain on the guests' path may hold tens of thousands of rules (a generated block list, a
rule per pod, address or port), of which one probe meets a handful: the chain index
(evaluate/index.py) names the candidates from each rule's gates (the interface, address,
port or protocol its leading matches require) and the chain runner compiles only those.
The two rule languages read their gates and targets from their own source form
(evaluate/iptlazy.py: the words of `iptables -S`; evaluate/nftlazy.py: typed nft statements);
this is what they share.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from vnetmigrate.evaluate.core import Op, Rule

Gates = tuple[tuple, tuple, tuple, tuple]  # a rule's iface_gate, addr_gate, port_gate, proto_gate


class LazyRules(Sequence):
    """The compiled rules of one chain, in order; `rules[i]` compiles rule i once.

    `memo` holds what is worked out from the rules alone (the chain index): it serves every
    ruleset holding this chain (the host now and after the switch), and the gates it is built
    from need not be kept."""

    __slots__ = ("_source", "_compiled", "memo")

    def __init__(self, source: tuple):
        self._source = source
        self._compiled: list[Rule | None] = [None] * len(source)
        self.memo: dict = {}

    def _compile(self, i: int) -> Rule:
        raise NotImplementedError

    def gates(self) -> Iterator[Gates]:
        """Each rule's gates, as its compiled `Rule` reports them (iface, addr, port, proto);
        only the first of each kind (what the chain index reads) need be there."""
        raise NotImplementedError

    def target_ops(self) -> Iterator[Op]:
        """Every operation of every rule that is not a match (the only ones that can be
        effects or verdicts), as compiling the rules would give them."""
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._source)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(len(self))))
        rule = self._compiled[i]
        if rule is None:
            rule = self._compiled[i] = self._compile(i)
        return rule

    def __iter__(self) -> Iterator[Rule]:
        for i in range(len(self._source)):
            yield self[i]

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {len(self)} rules, {self.compiled} compiled>"

    @property
    def compiled(self) -> int:
        """How many rules have been compiled so far."""
        return sum(r is not None for r in self._compiled)
