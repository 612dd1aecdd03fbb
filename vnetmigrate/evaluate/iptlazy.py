"""An iptables chain's compiled rules, each rule compiled the first time the evaluator reads it
(evaluate/lazyrules.py says why). Compiling
all 50,000 rules of such a chain up front took about as long as listing them (~0.5 s) and held
~95 MB of matches that no probe ever ran.

Gates come from the compiler's own match builders (`iptcompile.match_ops`) and the same
`Rule` properties the index reads on a compiled rule, so they are the compiled rule's gates;
the targets (what `engine` reads to know whether a chain changes marks or jumps) are the
compiler's own target operations. tests/lab/test_iptables_lazy.py compares verdicts with
every rule compiled, on kernel state.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from vnetmigrate.evaluate import lazyrules
from vnetmigrate.evaluate.core import Match, Op, Rule
from vnetmigrate.evaluate.iptcompile import compile_rule, core_match, match_ops, module_match, target_ops
from vnetmigrate.evaluate.lazyrules import Gates
from vnetmigrate.evaluate.values import AddrSet, v4_text_range
from vnetmigrate.firewall import Family
from vnetmigrate.rules.iptables import _LONG, _TARGET, CORE, IptRule, Parsed


class LazyRules(lazyrules.LazyRules):
    """An iptables chain's rules (`IptRule`), compiled on first use."""

    __slots__ = ("_where", "_chains", "_targets")

    def __init__(self, source: tuple[IptRule, ...], where_chain: str, chains: frozenset[str]):
        super().__init__(source)
        self._where = where_chain
        self._chains = chains
        self._targets: list[tuple[Op, ...]] | None = None

    def _compile(self, i: int) -> Rule:
        return compile_rule(self._source[i], self._where, self._chains)

    def gates(self) -> list[Gates]:
        """Each rule's gates, as its compiled `Rule` reports them (iface, addr, port, proto);
        not kept (the chain index that reads them is: `memo`)."""
        return self._summarize()

    def target_ops(self) -> Iterator[Op]:
        """The target operations of every rule: the only ones that can be effects or verdicts
        (an iptables rule's matches all come before its target)."""
        if self._targets is None:
            self._summarize()
        return itertools.chain.from_iterable(self._targets)  # in C: 50,000 rules' ops are read twice a scan

    def _summarize(self) -> list[Gates]:
        gates: list[Gates] = []
        targets: list[tuple[Op, ...]] = []
        shared: dict[tuple, tuple[Op, ...]] = {}  # targets repeat (ACCEPT, DROP, a chain): one tuple each
        families: dict[str, str] = {}
        add_gates, add_target = gates.append, targets.append
        for rule in self._source:
            fam = families.get(rule.family)
            if fam is None:
                fam = families[rule.family] = Family(rule.family).nft
            words = rule.args
            parsed = None
            g = _fast_gates(words, fam)
            if g is None:
                parsed = rule.parse()
                g = _gates(match_ops(parsed, fam))
            add_gates(g)
            t = _fast_target(words)
            if t is None:
                parsed = parsed or rule.parse()
                t = (parsed.target, parsed.target_args, parsed.goto)
            if t[0] is None:
                add_target(())
                continue
            key = (*t, rule.table)
            ops = shared.get(key)
            if ops is None:
                target, args, goto = t
                ops = shared[key] = tuple(target_ops(Parsed((), target, goto, args), rule.table, self._chains))
            add_target(ops)
        self._targets = targets
        return gates


# The fast paths below read the words of a rule as `iptables -S` prints them (core options
# first, then matches, then the target) and give up (None: parse the rule) on anything else.
_IFACE_FLAGS = frozenset(f for f, n in CORE.items() if n in ("-i", "-o"))
_ADDR_WORDS = frozenset(f for f, n in CORE.items() if n in ("-s", "-d")) | {"iprange", "--src-range", "--dst-range"}
_PORT_WORDS = frozenset(("--dport", "--sport", "--destination-port", "--source-port"))
_PROTO_FLAGS = frozenset(f for f, n in CORE.items() if n == "-p")
_PORT_MODULES = frozenset(("tcp", "udp", "sctp", "dccp"))
_TARGET_FLAGS = frozenset(("-j", "--jump", "-g", "--goto"))
_TAKES_NEXT = frozenset(CORE) | {"--comment", "-m", "--match"}  # their next word is their value, whatever it is
_NO_GATES: Gates = ((), (), (), ())


def _fast_gates(words: tuple[str, ...], family: str) -> Gates | None:
    """The gate the chain index reads first (interface, else address, else port, else
    protocol; evaluate/index.py), the others left empty; None: parse the rule instead.

    The leading core options are parsed as `parse` does; a later word that could be a
    core option, an address or port match sends the rule to the full parse, so what is
    returned is the first gate of that kind in the compiled rule."""
    n, i = len(words), 0
    leading = []
    core = CORE
    while i < n:
        w = words[i]
        if w == "!":
            if i + 2 >= n or words[i + 1] not in core:
                break
            leading.append((core[words[i + 1]], words[i + 2], True))
            i += 3
        elif i + 1 < n and w in core:
            leading.append((core[w], words[i + 1], False))
            i += 2
        else:
            break
    rest = words[i:]
    for name, value, neg in leading:
        # fields.iface's gate, without building the match: a plain name, not negated
        if name in _IFACES and not neg and not value.endswith(("+", "*")):
            return (("iif" if name == "-i" else "oif", value),), (), (), ()
    if not _IFACE_FLAGS.isdisjoint(rest):
        return None
    for name, value, neg in leading:
        if name in _ADDRS and not neg:
            gate = _v4_gate(name, value) if family == "ip" else None
            if gate is None:
                gate = core_match(name, value, neg, family, False).needs_addr
            if gate:
                return (), (gate,), (), ()
    if not _ADDR_WORDS.isdisjoint(rest):
        return None
    if not _PORT_WORDS.isdisjoint(rest):
        # `-m tcp --dport N` first: its port is the first port match
        if len(rest) >= 4 and rest[0] == "-m" and rest[1] in _PORT_MODULES and rest[2] in _PORT_WORDS \
                and not rest[3].startswith("-") and rest[3] != "!" \
                and (len(rest) == 4 or rest[4].startswith("-") or rest[4] == "!"):
            m = module_match(rest[1], _LONG.get(rest[2], rest[2]), (rest[3],), False, family)
            if m.needs_port:
                return (), (), (m.needs_port,), ()
        return None
    for name, value, neg in leading:
        if name == "-p" and (gate := core_match(name, value, neg, family).needs_proto):
            return (), (), (), (gate,)
    if not _PROTO_FLAGS.isdisjoint(rest):
        return None
    return _NO_GATES


_IFACES = frozenset(("-i", "-o"))
_ADDRS = {"-s": "saddr", "-d": "daddr"}


def _v4_gate(name: str, value: str) -> tuple | None:
    """The address gate `core_match` gives `-s`/`-d` with one plain IPv4 address or prefix
    (what iptables -S prints: `10.0.0.1/32`), without building the match: (ip, saddr|daddr,
    AddrSet); None for anything else (`core_match` judges it). The range is read as
    `values.AddrSet` reads it."""
    r = v4_text_range(value)
    return None if r is None else ("ip", _ADDRS[name], AddrSet.of_ranges([r]))


def _fast_target(words: tuple[str, ...]) -> tuple[str, tuple[str, ...], bool] | None:
    """(target, its words, goto) of a rule ending in `-j TARGET` with no other target word;
    None: parse the rule instead."""
    n = len(words)
    if n >= 2 and words[-2] in _TARGET_FLAGS and (n < 3 or words[-3] not in _TAKES_NEXT) \
            and _TARGET_FLAGS.isdisjoint(words[:-2]):
        return words[-1], (), _TARGET[words[-2]]
    return None


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
