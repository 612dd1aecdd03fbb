"""iptables rules (parsed words, `vnetmigrate.rules.iptables`) -> evaluator operations.

Modelled: -i/-o (with `+`), -s/-d, -p, `!`; matches tcp/udp (--dport/--sport, ranges),
multiport, conntrack (--ctstate, --ctstatus, --ctdir), state, comment, addrtype (without
--limit-iface-*), icmp/icmp6 types, mark, connmark, pkttype, iprange; targets ACCEPT, DROP,
REJECT, RETURN, user chains (-j/-g), LOG/NFLOG/TRACE/CHECKSUM/TCPMSS/AUDIT (no verdict),
MARK/CONNMARK (state), CT --notrack/NOTRACK, NAT targets (accept in the nat table). Other
matches are unknown; other targets are opaque. Both are reported by name.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from vnetmigrate.evaluate import fields
from vnetmigrate.evaluate.core import Effect, Match, Op, Opaque, Rule, Verdict
from vnetmigrate.firewall import Family
from vnetmigrate.rules.iptables import IptRule, Parsed

NO_VERDICT = ("LOG", "NFLOG", "ULOG", "TRACE", "CHECKSUM", "TCPMSS", "AUDIT", "CLASSIFY", "DSCP", "TOS", "TTL",
              "HL", "SECMARK", "CONNSECMARK")
NAT = ("DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP")
CORE = {"-i": "iif", "-o": "oif", "-s": "saddr", "-d": "daddr", "-p": "proto"}
_PROTO_ALIAS = {"ipv6-icmp": "ipv6-icmp", "icmpv6": "ipv6-icmp", "ip": "all", "0": "all"}


MODELLED = ("tcp", "udp", "sctp", "dccp", "multiport", "conntrack", "state", "comment", "addrtype", "icmp",
            "icmp6", "mark", "connmark", "pkttype", "iprange")


class RuleText:
    """A rule's `-A CHAIN ...` text, rendered only when a reason or evidence quotes it (a big
    host has tens of thousands of rules; quoting each word of each costs seconds), once: every
    probe of a network that ends on the rule quotes it again."""

    __slots__ = ("rule", "_text")
    deferred = True  # the same text whenever rendered (core.quoted)

    def __init__(self, rule: IptRule):
        self.rule = rule
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            self._text = self.rule.text
        return self._text

    __format__ = lambda self, spec: format(str(self), spec)  # noqa: E731


def compile_rule(rule: IptRule, where_chain: str, chains: frozenset[str] | set[str]) -> Rule:
    """`chains`: the user chains of the rule's table (a target naming one is a jump)."""
    parsed = rule.parse()
    ops = match_ops(parsed, Family(rule.family).nft)
    if parsed.target is not None:
        ops += target_ops(parsed, rule.table, chains)
    return Rule(where_chain, f"rule {rule.index}", RuleText(rule), tuple(ops))


def target_ops(parsed: Parsed, table: str, chains: frozenset[str] | set[str]) -> list[Op]:
    """The operations of a rule's target (none of them a match)."""
    return _target(parsed.target, list(parsed.target_args), parsed.goto, table, chains)


def match_ops(parsed: Parsed, family: str) -> list[Op]:
    """The matches of a rule, in order (`family`: nft's ip / ip6); every one is a `Match`."""
    ops: list[Op] = []
    for module, name, values, neg in parsed.opts:
        if name == "-m":
            if values[0] not in MODELLED:
                ops.append(fields.unknown(f"match `-m {values[0]}`"))
        elif module is None and name in CORE:
            ops.append(core_match(name, values[0], neg, family))
        elif module in MODELLED:
            ops.append(module_match(module, name, tuple(values), neg, family))
        elif module is None or not name.startswith("--"):
            ops.append(fields.unknown(f"`{' '.join((name, *values))}`"))
    return ops


def core_match(name: str, value: str, neg: bool, family: str, cached: bool = True) -> Match:
    """The match of a core option (`name`: the normalized -i, -o, -s, -d or -p); `cached`
    False for a value few rules share (an address, a veth), read once and dropped."""
    build = _core if cached else _core.__wrapped__
    return build(CORE[name], family, value, neg, f"! {name} {value}" if neg else f"{name} {value}")


def module_match(module: str, name: str, values: tuple[str, ...], neg: bool, family: str) -> Op:
    """The match of an option of a modelled module (`name` normalized, as `parse` gives it)."""
    return _module_option(module, name, values, neg, family)


# Matches are pure (their tests read only the state they are given): rules repeating an option
# (`-p tcp`, `-o docker0`, `--ctstate NEW`) share one compiled match.
@lru_cache(maxsize=16384)
def _core(kind: str, family: str, value: str, neg: bool, text: str) -> Match:
    if kind in ("iif", "oif"):
        return fields.iface(kind, [value[:-1] + "*" if value.endswith("+") else value], neg, text)
    if kind in ("saddr", "daddr"):
        return fields.addr(kind, family, value.split(",") if "," in value else value, neg, text)
    proto = _PROTO_ALIAS.get(value.lower(), value.lower())
    if proto == "all":
        return Match(lambda st: [(not neg, st)], text)
    return fields.l4proto("!=" if neg else "==", int(proto) if proto.isdigit() else proto, text)


def _ports(text: str) -> list[object]:
    out: list[object] = []
    for part in text.split(","):
        a, _, b = part.partition(":")
        out.append({"range": [int(a or 0), int(b or 65535)]} if _ else int(a))
    return out


@lru_cache(maxsize=16384)
def _module_option(module: str, opt: str, vals: tuple[str, ...], neg: bool, family: str) -> Op:
    value = vals[0] if vals else ""
    text = f"-m {module} " + ("! " if neg else "") + " ".join([opt, *vals])
    op = "!=" if neg else "=="
    if module in ("tcp", "udp", "sctp", "dccp") and opt in ("--dport", "--sport"):
        which = "dport" if opt == "--dport" else "sport"
        return fields.port(module, which, op, {"set": _ports(value)}, text)
    if module == "tcp" and opt == "--tcp-flags" and len(vals) == 2:
        mask, want = ([f.lower() for f in v.split(",") if f != "NONE"] for v in vals)
        return fields.tcp_flags(mask, op, {"set": want}, text)
    if module == "tcp" and opt == "--syn":
        return fields.tcp_flags(["syn", "rst", "ack", "fin"], op, {"set": ["syn"]}, text)
    if module == "multiport" and opt in ("--dports", "--sports"):
        which = "dport" if opt == "--dports" else "sport"
        return fields.port("th", which, op, {"set": _ports(value)}, text)
    if module in ("conntrack", "state") and opt in ("--ctstate", "--state"):
        return fields.ct_state("!=" if neg else "in", {"set": [s.lower() for s in value.split(",")]}, text)
    if module == "conntrack" and opt == "--ctstatus":
        return fields.ct_status("!=" if neg else "in", {"set": [s.lower() for s in value.split(",")]}, text)
    if module == "conntrack" and opt == "--ctdir":
        return fields.ct_direction(op, value.lower(), text)
    if module == "comment":
        return Match(lambda st: [(True, st)], text)
    if module == "addrtype" and opt in ("--src-type", "--dst-type"):
        kinds = {"set": [k.lower() for k in value.split(",")]}
        return fields.addr_type("saddr" if opt == "--src-type" else "daddr", op, kinds, text)
    if module in ("icmp", "icmp6") and opt in ("--icmp-type", "--icmpv6-type") and "/" not in value:
        return fields.icmp_type(family, op, int(value) if value.isdigit() else value, text)
    if module in ("mark", "connmark") and opt == "--mark":
        v, _, m = value.partition("/")
        return fields.mark("meta" if module == "mark" else "ct", int(m, 0) if m else None, op, int(v, 0), text)
    if module == "pkttype" and opt == "--pkt-type":
        return fields.pkttype(op, value.lower(), text)
    if module == "iprange" and opt in ("--src-range", "--dst-range"):
        a, _, b = value.partition("-")
        return fields.addr("saddr" if opt == "--src-range" else "daddr", family, {"range": [a, b]}, neg, text)
    return fields.unknown(f"`{text}`")


def _target(target: str, rest: list[str], goto: bool, table: str, chains) -> list[Op]:
    if target in chains:
        return [Verdict("goto" if goto else "jump", target)]
    if target in ("ACCEPT", "DROP", "RETURN"):
        return [Verdict(target.lower())]
    if target == "REJECT":
        return [Verdict("reject")]
    if target in NO_VERDICT:
        return [Effect(lambda s: s, target)]
    if target in NAT:
        return [Verdict("nat")] if table == "nat" else [Opaque(f"{target} outside the nat table")]
    if target == "NOTRACK" or (target == "CT" and "--notrack" in rest):
        return [Effect(lambda s: replace(s, ct_state="untracked"), target, True)]
    if target in ("MARK", "CONNMARK"):
        return [_mark_target(target, rest)]
    return [Opaque(f"target {target or '(none)'} is not modelled")]


def _mark_target(target: str, rest: list[str]) -> Op:
    opts = dict(zip(rest[::2], rest[1::2]))
    if target == "CONNMARK":
        if "--save-mark" in rest:
            return Effect(lambda s: replace(s, ct_mark=s.mark if s.mark is not None else None), "CONNMARK --save-mark", True)
        if "--restore-mark" in rest:
            return Effect(lambda s: replace(s, mark=s.ct_mark), "CONNMARK --restore-mark", True)
    for key in ("--set-mark", "--set-xmark"):
        if key in opts:
            v, _, m = opts[key].partition("/")
            value, mask = int(v, 0), int(m, 0) if m else 0xFFFFFFFF
            attr = "mark" if target == "MARK" else "ct_mark"

            def apply(s, value=value, mask=mask, attr=attr, xor=key == "--set-xmark"):
                old = getattr(s, attr)
                if old is None:
                    return replace(s, **{attr: None})
                new = ((old & ~mask) ^ value) if xor else ((old & ~mask) | value)
                return replace(s, **{attr: new & 0xFFFFFFFF})
            return Effect(apply, f"{target} {key} {opts[key]}", True)
    return Effect(lambda s: replace(s, **{"mark" if target == "MARK" else "ct_mark": None}), f"{target} (not modelled)", True)
