"""Native nftables rules (libnftables JSON expressions) -> evaluator operations.

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

from vnetmigrate.evaluate import fields
from vnetmigrate.evaluate.core import Effect, Match, Op, Opaque, Rule, State, Verdict, VMap
from vnetmigrate.facts.nftexpr import render_rule

_IFACE = {"iif": "iif", "iifname": "iif", "oif": "oif", "oifname": "oif"}
_HARMLESS = ("counter", "log", "set", "map", "flow", "comment")
_VERDICTS = ("accept", "drop", "return", "continue", "jump", "goto")
_NAT = ("snat", "dnat", "masquerade", "redirect")


class Text:
    """A rule's or statement's nft text, rendered only when a reason or evidence needs it
    (a host has thousands of rules; most are never quoted)."""

    __slots__ = ("expr", "comment", "_text")

    def __init__(self, expr, comment: str | None = None):
        self.expr, self.comment, self._text = expr, comment, None

    def __str__(self) -> str:
        if self._text is None:
            self._text = render_rule(self.expr, self.comment)
        return self._text

    __format__ = lambda self, spec: format(str(self), spec)  # noqa: E731


def compile_rule(family: str, table: str, chain: str, handle: int | None, expr: tuple[Any, ...],
                 comment: str | None = None) -> Rule:
    ops: list[Op] = []
    for st in expr:
        ops.append(_statement(family, st) if isinstance(st, dict) else Opaque(f"unexpected expression {st!r}"))
    return Rule(f"{family} {table} {chain}", f"handle {handle}" if handle is not None else "rule",
                Text(expr, comment), tuple(ops))


def _statement(family: str, st: dict[str, Any]) -> Op:
    kind, body = next(iter(st.items()))
    text = Text([st])
    if kind == "match":
        return match(family, body.get("left"), body.get("op", "=="), body.get("right"), text)
    if kind in _VERDICTS:
        return Verdict(kind, body.get("target") if isinstance(body, dict) else None)
    if kind == "reject":
        return Verdict("reject")
    if kind in _NAT:
        return Verdict("nat")
    if kind in _HARMLESS:
        return Effect(lambda s: s, text)
    if kind in ("limit", "quota"):
        return fields.unknown(text)  # acts as a match: over the rate, the rule stops here
    if kind == "notrack":
        return Effect(lambda s: replace(s, ct_state="untracked"), text, True)
    if kind == "mangle":
        return _mangle(body, text)
    if kind == "vmap":
        return _vmap(family, body, text)
    if kind == "xt":
        return fields.unknown(text) if body.get("type") == "match" else Opaque(f"iptables extension in `{text}`")
    if kind == "queue":
        return Opaque(f"`{text}` hands the packet to a userspace program")
    return Opaque(f"statement `{text}` is not modelled")


def _mangle(body: dict[str, Any], text: str) -> Op:
    key, value = body.get("key", {}), body.get("value")
    meta = key.get("meta", {}).get("key") if isinstance(key, dict) else None
    ct = key.get("ct", {}).get("key") if isinstance(key, dict) else None
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


def _vmap(family: str, body: dict[str, Any], text: str) -> Op:
    key, data = body.get("key"), body.get("data")
    items = data.get("set") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return Opaque(f"`{text}` uses a named map")
    entries = []
    for item in items:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], dict)):
            return Opaque(f"`{text}`: element {item!r} not modelled")
        vkind, vbody = next(iter(item[1].items()))
        entries.append((item[0], Verdict(vkind, vbody.get("target") if isinstance(vbody, dict) else None)))

    def test(st: State, element: object):
        return match(family, key, "==", element, text).test(st)
    return VMap(test, tuple(entries), text)


def match(family: str, left: Any, op: str, rhs: Any, text: str) -> Match:
    if not isinstance(left, dict):
        return fields.unknown(text)
    if "&" in left:
        return _masked(family, left["&"], op, rhs, text)
    if "meta" in left:
        return _meta(left["meta"].get("key"), op, rhs, text)
    if "payload" in left:
        return _payload(left["payload"], op, rhs, text)
    if "ct" in left:
        return _ct(left["ct"], op, rhs, text)
    if "fib" in left:
        fib = left["fib"]
        flags = fib.get("flags") or []
        flags = [flags] if isinstance(flags, str) else flags
        if fib.get("result") == "type" and flags in (["daddr"], ["saddr"]):
            return fields.addr_type(flags[0], op, rhs, text)
    return fields.unknown(text)


def _meta(key: str | None, op: str, rhs: Any, text: str) -> Match:
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


def _payload(p: dict[str, Any], op: str, rhs: Any, text: str) -> Match:
    proto, field = p.get("protocol"), p.get("field")
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


def _ct(ct: dict[str, Any], op: str, rhs: Any, text: str) -> Match:
    key = ct.get("key")
    if ct.get("dir") is None:
        if key == "state":
            return fields.ct_state(op, rhs, text)
        if key == "status":
            return fields.ct_status(op, rhs, text)
        if key == "direction":
            return fields.ct_direction(op, rhs, text)
        if key == "mark":
            return fields.mark("ct", None, op, rhs, text)
    return fields.unknown(text)


def _masked(family: str, pair: Any, op: str, rhs: Any, text: str) -> Match:
    if isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], dict):
        inner, mask = pair
        if inner.get("meta", {}).get("key") == "mark" and isinstance(mask, int):
            return fields.mark("meta", mask, op, rhs, text)
        if inner.get("ct", {}).get("key") == "mark" and isinstance(mask, int):
            return fields.mark("ct", mask, op, rhs, text)
        if inner.get("payload") == {"protocol": "tcp", "field": "flags"}:
            names = mask if isinstance(mask, list) else [mask]
            return fields.tcp_flags([str(n) for n in names], op, rhs, text)
    return fields.unknown(text)
