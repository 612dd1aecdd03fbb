"""nftables expressions, typed: the left-hand side of a match (`Payload`, `Meta`, `Ct`,
`Fib`, `Masked`, `RawExpr`) and right-hand values, which stay in libnftables' JSON value form.

Each expression has ``text()`` (nft syntax), ``json()`` and ``canon()`` (its part of a rule's
comparable key, see `vnetmigrate.rules.nft`); `value_text` and `value_key` do the same for
values: a prefix of full length compares equal to the plain address, sets and flag lists
compare in any order.
"""

from __future__ import annotations

import functools

import json
from typing import Any, Union

from vnetmigrate.addr import network
from vnetmigrate.dataclass_code import dataclass

# meta keys nft prints without the `meta` prefix
_BARE_META = frozenset({"iif", "oif", "iifname", "oifname", "mark", "iiftype", "oiftype", "skuid", "skgid",
                        "nftrace", "rtclassid", "ibrname", "obrname", "pkttype", "cpu", "iifgroup", "oifgroup",
                        "cgroup", "ipsec"})
IFACE_KEYS = frozenset({"iif", "oif", "iifname", "oifname"})
def compact(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"), sort_keys=True)


# -- left-hand expressions -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Payload:
    """A payload expression (ip saddr, tcp dport, ...)."""
    protocol: str  # ip, ip6, tcp, udp, th, icmp, ...
    field: str     # saddr, daddr, dport, type, flags, ...

    def text(self) -> str:
        return f"{self.protocol} {self.field}"

    def json(self) -> dict[str, Any]:
        return {"payload": {"protocol": self.protocol, "field": self.field}}

    def canon(self) -> tuple:
        return ("payload", self.protocol, self.field, "", "")


@dataclass(frozen=True, slots=True)
class Meta:
    """A meta expression (iifname, l4proto, ...)."""
    key: str

    def text(self) -> str:
        return self.key if self.key in _BARE_META else f"meta {self.key}"

    def json(self) -> dict[str, Any]:
        return {"meta": {"key": self.key}}

    def canon(self) -> tuple:
        return ("meta", "", "", self.key, "")


@dataclass(frozen=True, slots=True)
class Ct:
    """A conntrack expression (ct state, ct original saddr, ...)."""
    key: str
    dir: str | None = None

    def text(self) -> str:
        return " ".join(x for x in ("ct", self.dir, self.key) if x)

    def json(self) -> dict[str, Any]:
        return {"ct": {"key": self.key} if self.dir is None else {"dir": self.dir, "key": self.key}}

    def canon(self) -> tuple:
        return ("ct", "", "", self.key, self.dir or "")


@dataclass(frozen=True, slots=True)
class Fib:
    """A fib expression."""
    body: dict[str, Any]  # {"result": ..., "flags": ...} as listed

    @property
    def result(self) -> str | None:
        return self.body.get("result")

    @property
    def flags(self) -> list[str]:
        flags = self.body.get("flags") or []
        return [flags] if isinstance(flags, str) else list(flags)

    def text(self) -> str:
        return compact(self.json())

    def json(self) -> dict[str, Any]:
        return {"fib": self.body}

    def canon(self) -> tuple:
        return ("raw", json.dumps(self.json(), sort_keys=True))


@dataclass(frozen=True, slots=True)
class Masked:
    """``inner & mask`` (marks, tcp flags)."""

    inner: "Left"
    mask: Any

    def text(self) -> str:
        return compact(self.json())

    def json(self) -> dict[str, Any]:
        return {"&": [self.inner.json(), self.mask]}

    def canon(self) -> tuple:
        return ("raw", json.dumps(self.json(), sort_keys=True))


@dataclass(frozen=True, slots=True)
class RawExpr:
    """Any other expression (raw payload, rt, socket, osf, ...): shown and compared as its JSON."""

    value: Any

    def text(self) -> str:
        return value_text(self.value)

    def json(self) -> Any:
        return self.value

    def canon(self) -> tuple:
        return ("raw", json.dumps(self.value, sort_keys=True))


Left = Union[Payload, Meta, Ct, Fib, Masked, RawExpr]


# The same few expressions stand in tens of thousands of rules: one (frozen) object each.
_SHARED_LEFT: dict[tuple, Left] = {}


def _shared(key: tuple, make) -> Left:
    got = _SHARED_LEFT.get(key)
    if got is None:
        got = make()
        if len(_SHARED_LEFT) < 4096 and all(isinstance(k, str) for k in key):
            _SHARED_LEFT[key] = got
    return got


def parse_left(v: Any) -> Left:
    if isinstance(v, dict) and len(v) == 1:
        kind, body = next(iter(v.items()))
        if kind == "payload" and isinstance(body, dict) and len(body) == 2 and "protocol" in body and "field" in body:
            return _shared(("payload", body["protocol"], body["field"]), lambda: Payload(body["protocol"], body["field"]))
        if kind == "meta" and isinstance(body, dict) and len(body) == 1 and "key" in body:
            return _shared(("meta", body["key"]), lambda: Meta(body["key"]))
        if kind == "ct" and isinstance(body, dict) and "key" in body and set(body) <= {"key", "dir"}:
            return Ct(body["key"], body.get("dir"))
        if kind == "fib" and isinstance(body, dict):
            return Fib(body)
        if kind == "&" and isinstance(body, list) and len(body) == 2:
            return Masked(parse_left(body[0]), body[1])
    return RawExpr(v)


# -- right-hand values ---------------------------------------------------------------------

def value_text(v: Any, quote: bool = False) -> str:
    """A JSON value (or any expression nothing else renders) in nft syntax."""
    if isinstance(v, str):
        return f'"{v}"' if quote and not v.startswith("@") else v
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):  # a flag combination (bitmask): nft prints a,b
        return ",".join(value_text(x, quote) for x in v)
    if isinstance(v, dict):
        if "prefix" in v:
            return f"{value_text(v['prefix']['addr'])}/{v['prefix']['len']}"
        if "range" in v:
            a, b = v["range"]
            return f"{value_text(a)}-{value_text(b)}"
        if "set" in v:
            items = v["set"]
            return "{ " + ", ".join(value_text(x, quote) for x in (items if isinstance(items, list) else [items])) + " }"
        if "payload" in v:
            p = v["payload"]
            return f"{p.get('protocol', p.get('base', ''))} {p.get('field', p.get('offset', ''))}".strip()
        if "meta" in v:
            key = v["meta"]["key"]
            return key if key in _BARE_META else f"meta {key}"
        if "ct" in v:
            ct = v["ct"]
            return " ".join(str(x) for x in ("ct", ct.get("dir"), ct["key"]) if x)
        if "concat" in v:
            return " . ".join(value_text(x, quote) for x in v["concat"])
        if "elem" in v:
            return value_text(v["elem"]["val"], quote)
    return compact(v)


def value_key(v: Any) -> Any:
    if isinstance(v, str):  # most values: names; and prefixes as text (the model's subnets)
        if "/" not in v:
            return v
        try:
            return _prefix_key(v)
        except ValueError:
            return v
    if isinstance(v, dict) and "prefix" in v:
        return _prefix_key(f"{v['prefix']['addr']}/{v['prefix']['len']}")
    if isinstance(v, dict) and "set" in v:
        return value_key(v["set"])
    if isinstance(v, (list, tuple)):  # flags and sets: strings without "/" are their own key
        return tuple(sorted([x if type(x) is str and "/" not in x else str(value_key(x)) for x in v]))
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    return v


@functools.lru_cache(maxsize=8192)
def _prefix_key(text: str) -> str:
    """A prefix as a key: its network, or the address alone for a host prefix (a network's
    subnet is in every rule libvirt writes for it, listed and modelled: formatted once)."""
    net = network(text)
    return str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)


def range_key(v: Any) -> Any:
    """A NAT address or port: a one-element range is listed as that single value."""
    if isinstance(v, dict) and "range" in v:
        lo, hi = v["range"]
        return value_key(lo) if lo == hi else (value_key(lo), value_key(hi))
    return value_key(v) if v is not None else None
