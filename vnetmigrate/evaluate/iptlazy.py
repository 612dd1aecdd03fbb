"""An iptables chain's compiled rules, each rule compiled the first time the evaluator reads it.

A chain on the guests' path may hold tens of thousands of rules (a generated block list, a
rule per pod, address or port), of which one probe meets a handful: the chain index
(evaluate/index.py) names the candidates from each rule's gates (the interface, address,
port or protocol its matches require) and the chain runner compiles only those. Compiling
all 50,000 rules of such a chain up front took longer than listing them and held ~100 MB of
closures that no probe ever ran.

Gates come from the compiler's own match builders (`iptcompile.match_ops`) and the same
`Rule` properties the index reads on a compiled rule, so they are the compiled rule's gates;
the targets (what `engine` reads to know whether a chain changes marks or jumps) are the
compiler's own target operations. tests/lab/test_iptables_lazy.py compares verdicts with
every rule compiled, on kernel state.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from vnetmigrate.evaluate.core import Match, Op, Rule
from vnetmigrate.evaluate.iptcompile import compile_rule, match_ops, target_ops
from vnetmigrate.firewall import Family
from vnetmigrate.rules.iptables import IptRule

Gates = tuple[tuple, tuple, tuple, tuple]  # a rule's iface_gate, addr_gate, port_gate, proto_gate


class LazyRules(Sequence):
    """The compiled rules of one chain, in order; `rules[i]` compiles rule i once."""

    __slots__ = ("_source", "_where", "_chains", "_compiled", "_gates", "_targets")

    def __init__(self, source: tuple[IptRule, ...], where_chain: str, chains: frozenset[str]):
        self._source = source
        self._where = where_chain
        self._chains = chains
        self._compiled: list[Rule | None] = [None] * len(source)
        self._gates: list[Gates] | None = None
        self._targets: list[tuple[Op, ...]] | None = None

    def __len__(self) -> int:
        return len(self._source)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return tuple(self[j] for j in range(*i.indices(len(self))))
        rule = self._compiled[i]
        if rule is None:
            rule = self._compiled[i] = compile_rule(self._source[i], self._where, self._chains)
        return rule

    def __iter__(self) -> Iterator[Rule]:
        for i in range(len(self._source)):
            yield self[i]

    def __repr__(self) -> str:
        done = sum(r is not None for r in self._compiled)
        return f"<LazyRules {self._where}: {len(self)} rules, {done} compiled>"

    @property
    def compiled(self) -> int:
        """How many rules have been compiled so far."""
        return sum(r is not None for r in self._compiled)

    def gates(self) -> list[Gates]:
        """Each rule's gates, as its compiled `Rule` reports them (iface, addr, port, proto)."""
        if self._gates is None:
            self._summarize()
        return self._gates

    def target_ops(self) -> Iterator[Op]:
        """The target operations of every rule: the only ones that can be effects or verdicts
        (an iptables rule's matches all come before its target)."""
        if self._targets is None:
            self._summarize()
        for ops in self._targets:
            yield from ops

    def _summarize(self) -> None:
        gates: list[Gates] = []
        targets: list[tuple[Op, ...]] = []
        shared: dict[tuple, tuple[Op, ...]] = {}  # targets repeat (ACCEPT, DROP, a chain): one tuple each
        for rule in self._source:
            parsed = rule.parse()
            gates.append(_gates(match_ops(parsed, Family(rule.family).nft)))
            if parsed.target is None:
                targets.append(())
                continue
            key = (parsed.target, parsed.target_args, parsed.goto, rule.table)
            if key not in shared:
                shared[key] = tuple(target_ops(parsed, rule.table, self._chains))
            targets.append(shared[key])
        self._gates, self._targets = gates, targets


def _gates(matches: list[Match]) -> Gates:
    """`Rule.iface_gate` ... `Rule.proto_gate` of a rule whose ops start with `matches` (the
    gates read the leading matches only, and an iptables rule's matches all lead)."""
    iface, addr, port, proto = [], [], [], []
    for m in matches:
        if m.needs_iface:
            iface.append(m.needs_iface)
        if m.needs_addr:
            addr.append(m.needs_addr)
        if m.needs_port:
            port.append(m.needs_port)
        if m.needs_proto:
            proto.append(m.needs_proto)
    return tuple(iface), tuple(addr), tuple(port), tuple(proto)


def chain_rules(source: tuple[IptRule, ...], where_chain: str, chains: frozenset[str]) -> tuple | LazyRules:
    """A listed chain's rules for the evaluator: () when it has none (an empty chain compares
    equal to ()), else compiled on first use."""
    return LazyRules(source, where_chain, chains) if source else ()
