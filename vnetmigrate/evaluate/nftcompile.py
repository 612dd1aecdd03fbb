"""Native nftables rules (typed statements, `vnetmigrate.rules.nft`) -> evaluator operations.

What is modelled: meta iif/oif/iifname/oifname (wildcards, sets), l4proto, nfproto, protocol,
mark, pkttype; ip/ip6 saddr/daddr (prefixes, ranges, anonymous sets), ip protocol, ip6
nexthdr; th/tcp/udp/sctp/dccp ports; icmp/icmpv6 type; tcp flags; ct state/status/direction/
mark; `fib saddr|daddr type`; verdicts, vmaps with inline data, reject, NAT statements;
counter/log/nftrace/set updates are ignored; `meta mark set`, `ct mark set`, `notrack` change
the state. Everything else becomes an unknown match or an opaque statement, with its text.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from vnetmigrate.evaluate import fields, values
from vnetmigrate.evaluate.core import Effect, Match, Op, Opaque, Rule, State, Verdict, VMap
from vnetmigrate.rules import nft
from vnetmigrate.rules.nft import NftRule

_IFACE = {"iif": "iif", "iifname": "iif", "oif": "oif", "oifname": "oif"}
_HARMLESS = ("counter", "log", "set", "map", "flow", "comment")


class Text:
    """A rule's or statement's nft text, rendered only when a reason or evidence needs it
    (a host has thousands of rules; most are never quoted)."""

    __slots__ = ("stmts", "comment", "_text")
    deferred = True  # the same text whenever rendered (core.quoted)

    def __init__(self, stmts, comment: str | None = None):
        self.stmts, self.comment, self._text = stmts, comment, None

    def __str__(self) -> str:
        if self._text is None:
            self._text = nft.render(self._stmts(), self.comment)
        return self._text

    def _stmts(self):
        return self.stmts

    __format__ = lambda self, spec: format(str(self), spec)  # noqa: E731


class SetText(Text):
    """The text of statements naming anonymous sets ("@__set12"), with their elements in
    place (read when the text is first needed), as `nft list` shows them."""

    __slots__ = ("where", "sets")
    deferred = False  # rendering reads the sets' elements: when is part of the evidence

    def __init__(self, stmts, comment: str | None, where: tuple[str, str], sets):
        super().__init__(stmts, comment)
        self.where, self.sets = where, sets  # (family, table) and the resolver of anonymous sets

    def _stmts(self):
        return tuple(_with_elements(st, self.where, self.sets) for st in self.stmts)


# Operations are pure (their tests read only the state they are given): statements repeated
# across rules (`accept`, `tcp dport 8080`, `oifname "eth0"`) share one compiled operation.
# Only statements with a plain-text or no right-hand side are shared: 1 == True == 1.0 as keys.
_SHARED: dict[tuple[str, nft.Statement], Op] = {}
_SHARED_MAX = 65536


def _shared(family: str, st: nft.Statement) -> Op:
    if isinstance(st, nft.Match) and type(st.right) is str or isinstance(st, (nft.Verdict, nft.Counter)):
        try:
            op = _SHARED.get((family, st))
        except TypeError:  # an expression holding JSON (unhashable)
            return _statement(family, st)
        if op is None:
            op = _statement(family, st)
            if len(_SHARED) < _SHARED_MAX:
                _SHARED[(family, st)] = op
        return op
    return _statement(family, st)


def compile_rule(rule: NftRule, sets=None) -> Rule:
    """`sets`: the resolver of anonymous sets a rule read over netlink names ("@__set12")."""
    where = (rule.family, rule.table)
    if sets is None or not any(map(_anonymous, rule.stmts)):
        ops = tuple(_shared(rule.family, st) for st in rule.stmts)
        text = Text(rule.stmts, rule.comment)
    else:
        ops = tuple(statement_op(rule, st, sets) for st in rule.stmts)
        text = SetText(rule.stmts, rule.comment, where, sets)
    return Rule(f"{rule.family} {rule.table} {rule.chain}", f"handle {rule.handle}" if rule.handle is not None else "rule",
                text, ops)


def _anonymous(st: nft.Statement) -> bool:
    return isinstance(st, nft.Match) and isinstance(st.right, str) and st.right.startswith("@__set")


def _with_elements(st: nft.Statement, where: tuple[str, str], sets) -> nft.Statement:
    """The statement with an anonymous set's elements in place of its name (if they can be read)."""
    if not _anonymous(st):
        return st
    value = sets(where[0], where[1], st.right[1:], st.left.json())
    return st if value is None else nft.Match(st.left, value, st.op)


def _lazy_set(where: tuple[str, str], st: nft.Match, sets) -> Match:
    """A lookup in an anonymous set, compiled when a packet first reaches it: only then are its
    elements read (a table may hold thousands, most never reached)."""
    text = SetText((st,), None, where, sets)
    compiled: list[Match] = []

    def test(state: State):
        if not compiled:
            compiled.append(match(where[0], st.left, st.op, _with_elements(st, where, sets).right, text))
        return compiled[0].test(state)
    return Match(test, text)


def _statement(family: str, st: nft.Statement) -> Op:
    if isinstance(st, nft.Match):
        return match(family, st.left, st.op, st.right, Text((st,)))
    if isinstance(st, nft.Verdict):
        return Verdict("reject") if st.kind == "reject" else Verdict(st.kind, st.target)
    if isinstance(st, nft.Nat):
        return Verdict("nat")
    if isinstance(st, nft.Counter):
        return Effect(lambda s: s, Text((st,)))
    if isinstance(st, nft.Mangle):
        return _mangle(st, Text((st,)))
    if isinstance(st, nft.Vmap):
        return _vmap(family, st, Text((st,)))
    text = Text((st,))
    kind = st.kind
    if not kind:
        return Opaque(f"unexpected expression {st.body!r}")
    if kind in _HARMLESS:
        return Effect(lambda s: s, text)
    if kind in ("limit", "quota"):
        return fields.unknown(text)  # acts as a match: over the rate, the rule stops here
    if kind == "notrack":
        return Effect(lambda s: replace(s, ct_state="untracked"), text, True)
    if kind == "xt":
        return fields.unknown(text) if isinstance(st.body, dict) and st.body.get("type") == "match" else \
            Opaque(f"iptables extension in `{text}`")
    if kind == "queue":
        return Opaque(f"`{text}` hands the packet to a userspace program")
    return Opaque(f"statement `{text}` is not modelled")


def _mangle(st: nft.Mangle, text: Text) -> Op:
    value = st.value
    meta = st.target.key if isinstance(st.target, nft.Meta) else None
    ct = st.target.key if isinstance(st.target, nft.Ct) else None
    if meta in ("nftrace", "priority"):
        return Effect(lambda s: s, text)
    if meta == "mark":
        v = value if isinstance(value, int) and not isinstance(value, bool) else None
        return Effect(lambda s: replace(s, mark=v), text, True)
    if ct == "mark":
        if value == {"meta": {"key": "mark"}}:
            return Effect(lambda s: replace(s, ct_mark=s.mark), text, True)
        v = value if isinstance(value, int) and not isinstance(value, bool) else None
        return Effect(lambda s: replace(s, ct_mark=v), text, True)
    return Opaque(f"`{text}` changes the packet in a way not modelled")


def _vmap(family: str, st: nft.Vmap, text: Text) -> Op:
    key, data = st.key, st.data
    items = data.get("set") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return Opaque(f"`{text}` uses a named map")
    entries = []
    for item in items:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], dict)):
            return Opaque(f"`{text}`: element {item!r} not modelled")
        vkind, vbody = next(iter(item[1].items()))
        entries.append((item[0], Verdict(vkind, vbody.get("target") if isinstance(vbody, dict) else None)))

    def test(state: State, element: object):
        return match(family, key, "==", element, text).test(state)
    return VMap(test, tuple(entries), text)


def match(family: str, left: nft.Left, op: str, rhs: Any, text: Text) -> Match:
    if isinstance(left, nft.Meta):
        return _meta(left.key, op, rhs, text)
    if isinstance(left, nft.Payload):
        return _payload(left.protocol, left.field, op, rhs, text)
    if isinstance(left, nft.Ct):
        return _ct(left, op, rhs, text)
    if isinstance(left, nft.Masked):
        return _masked(left, op, rhs, text)
    if isinstance(left, nft.Fib):
        flags = left.flags
        if left.result == "type" and flags in (["daddr"], ["saddr"]):
            return fields.addr_type(flags[0], op, rhs, text)
    return fields.unknown(text)


def gate(family: str, st: nft.Match) -> tuple[str, Any] | None:
    """("iface" | "addr" | "port" | "proto", the gate) that `match` puts on the compiled
    statement, or None, without compiling it (evaluate/nftlazy.py reads every rule's gates,
    and compiles only the rules a probe may meet). It follows `match`, `_meta` and `_payload`
    branch for branch; tests/unit/evaluate/test_nft_lazy.py compares the two on every recorded
    ruleset. (An anonymous set read later, `_lazy_set`, names no values: no gate either way.)"""
    left, op, rhs = st.left, st.op, st.right
    kind = type(left)
    if kind is nft.Meta:
        key = left.key
        if key in _IFACE:
            if op not in ("==", "!="):
                return None
            names = [rhs] if isinstance(rhs, str) else (rhs.get("set") if isinstance(rhs, dict) else None)
            if isinstance(names, list) and all(isinstance(n, str) and not n.startswith("@") for n in names) \
                    and len(names) == 1 and op == "==" and not names[0].endswith("*"):
                return "iface", (_IFACE[key], names[0])  # fields.iface's gate
            return None
        if key == "l4proto" and op in ("==", "in"):
            nums = values.NumSet(rhs, values.L4)  # fields.l4proto's
            return ("proto", tuple(nums.intervals)) if nums.intervals else None
        return None
    if kind is nft.Payload:
        proto, field = left.protocol, left.field
        if proto in ("ip", "ip6") and field in ("saddr", "daddr"):
            if op not in ("==", "in"):
                return None
            addrs = values.AddrSet(rhs)  # fields.addr's
            return ("addr", (proto, field, addrs)) if addrs.ranges is not None else None
        if proto in fields.PORT_PROTOS and proto != "th" and field in ("sport", "dport") and op in ("==", "in"):
            nums = values.NumSet(rhs)  # fields.port's
            return ("port", (field, proto, tuple(nums.intervals))) if nums.intervals else None
    return None  # ct, masks, fib, other payloads: matches without a gate


def statement_op(rule: NftRule, st: nft.Statement, sets=None) -> Op:
    """The operation `compile_rule` makes of one statement of `rule`."""
    if sets is not None and _anonymous(st):
        return _lazy_set((rule.family, rule.table), st, sets)
    return _shared(rule.family, st)


def _meta(key: str, op: str, rhs: Any, text: Text) -> Match:
    if key in _IFACE and op in ("==", "!="):
        names = [rhs] if isinstance(rhs, str) else (rhs.get("set") if isinstance(rhs, dict) else None)
        if isinstance(names, list) and all(isinstance(n, str) and not n.startswith("@") for n in names):
            return fields.iface(_IFACE[key], names, op == "!=", text)
    if key == "l4proto":
        return fields.l4proto(op, rhs, text)
    if key == "nfproto":
        return fields.nfproto(op, rhs, text)
    if key == "protocol":
        return fields.nfproto(op, rhs, text, ethertype=True)
    if key == "mark":
        return fields.mark("meta", None, op, rhs, text)
    if key == "pkttype":
        return fields.pkttype(op, rhs, text)
    return fields.unknown(text)


def _payload(proto: str, field: str, op: str, rhs: Any, text: Text) -> Match:
    if proto in ("ip", "ip6") and field in ("saddr", "daddr") and op in ("==", "!=", "in"):
        return fields.addr(field, proto, rhs, op == "!=", text)
    if (proto, field) in (("ip", "protocol"), ("ip6", "nexthdr")):
        inner = fields.l4proto(op, rhs, text)
        return Match(lambda st: [(False, st)] if st.pkt.family != proto else inner.test(st), text)
    if proto in fields.PORT_PROTOS and field in ("sport", "dport"):
        return fields.port(proto, field, op, rhs, text)
    if proto in ("icmp", "icmpv6") and field == "type":
        return fields.icmp_type("ip" if proto == "icmp" else "ip6", op, rhs, text)
    if proto == "tcp" and field == "flags":
        return fields.tcp_flags(None, op, rhs, text)
    return fields.unknown(text)


def _ct(ct: nft.Ct, op: str, rhs: Any, text: Text) -> Match:
    if ct.dir is None:
        if ct.key == "state":
            return fields.ct_state(op, rhs, text)
        if ct.key == "status":
            return fields.ct_status(op, rhs, text)
        if ct.key == "direction":
            return fields.ct_direction(op, rhs, text)
        if ct.key == "mark":
            return fields.mark("ct", None, op, rhs, text)
    return fields.unknown(text)


def _masked(left: nft.Masked, op: str, rhs: Any, text: Text) -> Match:
    inner, mask = left.inner, left.mask
    if isinstance(inner, nft.Meta) and inner.key == "mark" and isinstance(mask, int):
        return fields.mark("meta", mask, op, rhs, text)
    if isinstance(inner, nft.Ct) and inner.key == "mark" and isinstance(mask, int):
        return fields.mark("ct", mask, op, rhs, text)
    if isinstance(inner, nft.Payload) and (inner.protocol, inner.field) == ("tcp", "flags"):
        names = mask if isinstance(mask, list) else [mask]
        return fields.tcp_flags([str(n) for n in names], op, rhs, text)
    return fields.unknown(text)
