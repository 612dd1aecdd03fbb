"""nftables rules, typed: statements parsed once from libnftables JSON (or built by the model).

A rule is a tuple of statements: `Match` (left expression, operator, right value),
`Counter`, `Verdict` (accept, drop, reject, return, continue, jump, goto), `Nat`, `Vmap`,
`Mangle`, and `Other` for every statement nothing here interprets (kept as its JSON, so it
is shown, compared and evaluated as exactly that). Left expressions are `Payload`, `Meta`,
`Ct`, `Fib`, `Masked` (``&``) or `RawExpr`. Right values stay in libnftables' JSON value
form (strings, numbers, ``{"prefix": ...}``, ``{"range": ...}``, ``{"set": ...}``, flag
lists), which the evaluator's value tests read; the libvirt model may also write a CIDR
string for an address (JSON: a prefix) and a tuple of flags (JSON: a list with ``op: in``).

Each statement has three forms:

- ``text(counters)``: nft syntax, as `nft list` prints it (counters, which carry values in a
  listing, as a bare ``counter`` or left out: evidence must not change between two scans);
- ``json()``: libnftables JSON;
- ``canon()``: a comparable key, equal for a rule as the model writes it and as the kernel
  lists it back (the reject default spelled out, a /32 prefix listed as an address, flags in
  kernel order, ``family`` added to NAT statements by newer nft, sets in any order).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from typing import Any, Union

from vnetmigrate.addr import network
# the expression types are re-exported: readers of rules need only this module
from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.rules.nft_values import (IFACE_KEYS, Ct, Fib, Left, Masked, Meta, Payload, RawExpr,  # noqa: F401
                                          compact, parse_left, range_key, value_key, value_text)

VERDICTS = ("accept", "drop", "reject", "return", "jump", "goto", "queue", "continue")
# `reject` without arguments, as ip and ip6 tables list it (inet lists icmpx: not the same key)
_DEFAULT_REJECT = (("icmp", "port-unreachable"), ("icmpv6", "port-unreachable"))
# ... and per family, as `nft list` shows it: a bare `reject` (JSON spells the default out)
FAMILY_REJECT = {"ip": ("icmp", "port-unreachable"), "ip6": ("icmpv6", "port-unreachable"),
                 "inet": ("icmpx", "port-unreachable")}
CT_STATE_ORDER = ("invalid", "established", "related", "new", "untracked")  # kernel bit order


# -- statements ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Match:
    """``left [op] right``; op is ``==``, ``!=``, ``in`` (bitmask flags), ``<``, ..."""

    left: Left
    right: Any
    op: str = "=="

    kind = "match"

    def text(self, counters: bool = True) -> str:
        left = self.left
        quote = isinstance(left, Meta) and left.key in IFACE_KEYS
        right = value_text(self.right, quote)
        return f"{left.text()} {right}" if self.op in ("==", "in") else f"{left.text()} {self.op} {right}"

    def json(self) -> dict[str, Any]:
        right = self.right
        if isinstance(right, tuple):
            return {"match": {"op": "in", "left": self.left.json(), "right": list(right)}}
        if isinstance(right, str) and "/" in right and isinstance(self.left, Payload):
            net = network(right)
            right = {"prefix": {"addr": str(net.network_address), "len": net.prefixlen}}
        return {"match": {"op": self.op, "left": self.left.json(), "right": right}}

    def canon(self) -> tuple:
        right = self.right
        if type(right) is str and "/" not in right:  # most matches (names, protocols): value_key(right) is right
            return ("match", self.op, self.left.canon(), right)
        right = value_key(right)
        op = "in" if isinstance(right, tuple) and self.op == "==" else self.op
        return ("match", op, self.left.canon(), right)


_COUNTER_KEY = ("counter",)


@dataclass(frozen=True, slots=True)
class Counter:
    """A counter statement."""
    kind = "counter"

    def text(self, counters: bool = True) -> str | None:
        return "counter" if counters else None

    def json(self) -> dict[str, Any]:
        return {"counter": None}

    def canon(self) -> tuple:
        return _COUNTER_KEY


@dataclass(frozen=True, slots=True)
class Verdict:
    """accept, drop, reject, return, continue, jump/goto `target`; reject `with` (type, expr)."""

    kind: str
    target: str | None = None
    reject_with: tuple[str | None, str | None] | None = None

    def text(self, counters: bool = True) -> str:
        if self.kind in ("jump", "goto"):
            return f"{self.kind} {self.target}"
        if self.kind == "reject" and self.reject_with and self.reject_with[1]:
            rtype, expr = self.reject_with
            return f"reject with {rtype or 'icmp'} {expr}"
        return self.kind

    def _reject_body(self) -> dict[str, Any] | None:
        if self.reject_with is None:
            return None
        return {k: v for k, v in zip(("type", "expr"), self.reject_with) if v is not None}

    def json(self) -> dict[str, Any]:
        if self.kind in ("jump", "goto"):
            return {self.kind: {"target": self.target}}
        if self.kind == "reject":
            return {"reject": self._reject_body()}
        return {self.kind: None}

    def canon(self) -> tuple:
        if self.kind in ("jump", "goto"):
            return (self.kind, self.target)
        if self.kind == "reject" and self.reject_with is not None and self.reject_with not in _DEFAULT_REJECT:
            return ("reject", json.dumps(self._reject_body(), sort_keys=True))
        return (self.kind,)


@dataclass(frozen=True, slots=True)
class Nat:
    """snat, dnat, masquerade, redirect; `body` as libnftables has it (addr, port, family, flags)."""

    kind: str
    body: dict[str, Any] | None = None

    @property
    def addr(self) -> Any:
        return self.body.get("addr") if self.body else None

    @property
    def port(self) -> Any:
        return self.body.get("port") if self.body else None

    def text(self, counters: bool = True) -> str:
        parts = [self.kind]
        body = self.body
        if body and body.get("addr") is not None:
            parts.append("to " + value_text(body["addr"]) + (f":{value_text(body['port'])}" if body.get("port") else ""))
        elif body and body.get("port") is not None:
            parts.append(f"to :{value_text(body['port'])}")
        return " ".join(parts)

    def json(self) -> dict[str, Any]:
        return {self.kind: self.body}

    def canon(self) -> tuple:
        if self.kind == "redirect":
            return ("raw", json.dumps(self.json(), sort_keys=True))
        rest = {k: v for k, v in (self.body or {}).items() if k not in ("family", "addr", "port")}
        return (self.kind, range_key(self.addr), range_key(self.port), json.dumps(rest, sort_keys=True) if rest else "{}")


def Masquerade(ports: tuple[int, int] | None = None) -> Nat:  # noqa: N802 (a constructor)
    """``masquerade [to :lo-hi]``, as the libvirt model writes it."""
    return Nat("masquerade", {"port": {"range": list(ports)}} if ports else None)


def Snat(start: str, end: str | None = None, ports: tuple[int, int] | None = None) -> Nat:  # noqa: N802
    """``snat to start[-end][:lo-hi]``, as the libvirt model writes it."""
    body: dict[str, Any] = {"addr": {"range": [start, end]} if end else start}
    if ports:
        body["port"] = {"range": list(ports)}
    return Nat("snat", body)


@dataclass(frozen=True, slots=True)
class Vmap:
    """``key vmap data``: data is an anonymous map (``{"set": [[value, verdict], ...]}``) or a name."""

    key: Left
    data: Any

    kind = "vmap"

    def text(self, counters: bool = True) -> str:
        return f"{self.key.text()} vmap {value_text(self.data)}"

    def json(self) -> dict[str, Any]:
        return {"vmap": {"key": self.key.json(), "data": self.data}}

    def canon(self) -> tuple:
        return ("raw", json.dumps(self.json(), sort_keys=True))


@dataclass(frozen=True, slots=True)
class Mangle:
    """``key set value`` (meta mark set, ct mark set, ...)."""

    target: Left
    value: Any

    kind = "mangle"

    def text(self, counters: bool = True) -> str:
        return compact(self.json())

    def json(self) -> dict[str, Any]:
        return {"mangle": {"key": self.target.json(), "value": self.value}}

    def canon(self) -> tuple:
        return ("raw", json.dumps(self.json(), sort_keys=True))


@dataclass(frozen=True, slots=True)
class Other:
    """A statement nothing here interprets (log, limit, xt, queue, set updates, ...), as listed.
    `kind` is its JSON key ("" for an element that is not a statement object at all)."""

    kind: str
    body: Any

    def text(self, counters: bool = True) -> str | None:
        body = self.body
        if not self.kind:
            return None
        if self.kind == "xt" and isinstance(body, dict):
            return f"xt {body.get('type', '')} {body.get('name', '')}".strip()
        if self.kind == "log":
            return "log" + (f' prefix "{body["prefix"]}"' if isinstance(body, dict) and body.get("prefix") else "")
        return compact(self.json())

    def json(self) -> Any:
        return {self.kind: self.body} if self.kind else self.body

    def canon(self) -> tuple:
        return ("raw", json.dumps(self.json(), sort_keys=True))


Statement = Union[Match, Counter, Verdict, Nat, Vmap, Mangle, Other]
_NAT = ("snat", "dnat", "masquerade", "redirect")
_COUNTER = Counter()
# shared, not one copy a rule (a host may have 100,000 rules)
_PLAIN_VERDICTS = {k: Verdict(k) for k in ("accept", "drop", "return", "continue")}
_OPS = {op: op for op in ("==", "!=", "in", "<", ">", "<=", ">=")}


def parse_statement(st: Any, family: str | None = None) -> Statement:
    """One statement of libnftables JSON; with the table's `family`, a reject with that
    family's default arguments becomes a bare reject, as `nft list` prints it."""
    if not isinstance(st, dict) or not st:
        return Other("", st)
    kind, body = next(iter(st.items()))
    if kind == "match" and isinstance(body, dict):
        op = body.get("op", "==")
        return Match(parse_left(body.get("left")), body.get("right"), _OPS.get(op, op) if isinstance(op, str) else op)
    if kind == "counter":
        return _COUNTER
    if kind in ("accept", "drop", "return", "continue"):
        return _PLAIN_VERDICTS[kind]
    if kind in ("jump", "goto"):
        return Verdict(kind, body.get("target") if isinstance(body, dict) else None)
    if kind == "reject":
        if isinstance(body, dict):
            with_ = (body.get("type"), body.get("expr"))
            return Verdict("reject") if family and FAMILY_REJECT.get(family) == with_ else Verdict("reject", reject_with=with_)
        return Verdict("reject")
    if kind in _NAT and (body is None or isinstance(body, dict)):
        return Nat(kind, body)
    if kind == "vmap" and isinstance(body, dict):
        return Vmap(parse_left(body.get("key")), body.get("data"))
    if kind == "mangle" and isinstance(body, dict):
        return Mangle(parse_left(body.get("key", {})), body.get("value"))
    return Other(kind, body)


def parse_statements(expr: Iterable[Any], family: str | None = None) -> tuple[Statement, ...]:
    return tuple(parse_statement(st, family) for st in expr)


def render(stmts: Iterable[Statement], comment: str | None = None, counters: bool = False) -> str:
    """A rule's statements in nft syntax (and its comment)."""
    words = [w for w in (s.text(counters) for s in stmts) if w]
    if comment:
        words.append(f'comment "{comment}"')
    return " ".join(words)


def canonical(stmts: Iterable[Statement]) -> tuple:
    """A comparable key for a rule's statements (listed by the kernel or built by the model)."""
    return tuple([s.canon() for s in stmts])


def verdict_of(stmts: Iterable[Statement]) -> str | None:
    """The rule's last verdict word (accept, drop, reject, jump, queue, ...), if any."""
    for s in reversed(tuple(stmts)):
        if s.kind in VERDICTS:
            return s.kind
    return None


def jump_targets(stmts: Iterable[Statement]) -> Iterator[str]:
    """Every chain the statements jump or go to, verdict maps included."""
    for s in stmts:
        if isinstance(s, Verdict) and s.kind in ("jump", "goto") and isinstance(s.target, str):
            yield s.target
        elif not isinstance(s, (Match, Counter, Verdict)):
            yield from _json_jumps(s.json())


# statements the typed reading keeps no JSON of (verdicts, counters, matches): no jump inside
_NO_JUMPS = frozenset(("counter", "accept", "drop", "return", "continue", "reject"))


def raw_jump_targets(expr: Iterable[Any]) -> Iterator[str]:
    """`jump_targets(parse_statements(expr))` without typing the statements: the collector
    follows jumps through listings of thousands of rules, which facts types once, later."""
    for st in expr:
        if not isinstance(st, dict) or not st:
            yield from _json_jumps(st)
            continue
        kind, body = next(iter(st.items()))
        if kind in ("jump", "goto"):
            if isinstance(body, dict) and isinstance(body.get("target"), str):
                yield body["target"]
        elif not (kind in _NO_JUMPS or (kind == "match" and isinstance(body, dict))):
            yield from _json_jumps({kind: body})


def _json_jumps(v: Any) -> Iterator[str]:
    if isinstance(v, dict):
        for verdict in ("jump", "goto"):
            inner = v.get(verdict)
            if isinstance(inner, dict) and isinstance(inner.get("target"), str):
                yield inner["target"]
        for value in v.values():
            yield from _json_jumps(value)
    elif isinstance(v, list):
        for value in v:
            yield from _json_jumps(value)


def as_listed(s: Statement) -> Statement:
    """The statement as the kernel lists it back after the model's text or JSON was loaded:
    flags in kernel bit order, a /32 (/128) prefix as a plain address, a one-address SNAT
    range as a /32 prefix (seen with nft 1.0.6)."""
    if isinstance(s, Match):
        if isinstance(s.right, (tuple, list)):
            order = {f: i for i, f in enumerate(CT_STATE_ORDER)}
            return Match(s.left, tuple(sorted(s.right, key=lambda f: order.get(f, 99))), s.op)
        if isinstance(s.left, Payload) and isinstance(s.right, str) and "/" in s.right:
            net = network(s.right)
            return Match(s.left, str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net), s.op)
    if isinstance(s, Nat) and s.kind == "snat" and isinstance(s.addr, dict) and "range" in s.addr:
        lo, hi = s.addr["range"]
        if lo == hi:
            return Nat("snat", {**s.body, "addr": f"{lo}/32"})
    return s


def _intern(v: Any) -> Any:
    """One string object for a name tens of thousands of rules repeat."""
    return sys.intern(v) if type(v) is str else v


@dataclass(frozen=True, slots=True)
class NftRule:
    """One rule of a live ruleset (or of libnftables JSON commands)."""

    family: str
    table: str
    chain: str
    handle: int | None
    stmts: tuple[Statement, ...]
    comment: str | None = None

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "NftRule":
        return cls(_intern(obj["family"]), _intern(obj["table"]), _intern(obj["chain"]), obj.get("handle"),
                   parse_statements(obj.get("expr", ()), obj["family"]), obj.get("comment"))

    @property
    def text(self) -> str:
        """The rule in nft syntax (counters left out)."""
        return render(self.stmts, self.comment)

    @property
    def verdict(self) -> str | None:
        """The rule's final verdict word (accept, drop, reject, jump, ...), if it has one."""
        return verdict_of(self.stmts)

    def jump_targets(self) -> list[str]:
        return list(jump_targets(self.stmts))

    def canon(self) -> tuple:
        return canonical(self.stmts)

    def expr_json(self) -> list[Any]:
        return [s.json() for s in self.stmts]

    def where(self) -> str:
        return f"{self.family} {self.table} {self.chain}" + (f" handle {self.handle}" if self.handle else "")
