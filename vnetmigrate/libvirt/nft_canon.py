"""Compare nftables rules as listed (``nft -j list``) with the rules the model builds.

A listing and our input JSON say the same rule differently: counters carry values,
``reject`` gets its default type spelled out, ``ip daddr 255.255.255.255/32`` comes back
as a plain address, ``ct state`` flags come back in kernel order, newer nft adds a
``family`` to NAT statements. ``canonical()`` maps both to one comparable key. Statements
it does not know are kept as their JSON text, so they only equal the very same statement.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from vnetmigrate.addr import network

_DEFAULT_REJECT = ({"type": "icmp", "expr": "port-unreachable"}, {"type": "icmpv6", "expr": "port-unreachable"})


def _value(v: Any) -> Any:
    if isinstance(v, dict) and "prefix" in v:
        net = network(f"{v['prefix']['addr']}/{v['prefix']['len']}")
        return str(net.network_address) if net.prefixlen == net.max_prefixlen else str(net)
    if isinstance(v, dict) and "set" in v:
        return _value(v["set"])
    if isinstance(v, list):
        return tuple(sorted(str(_value(x)) for x in v))
    if isinstance(v, str) and "/" in v:
        try:
            return _value({"prefix": dict(zip(("addr", "len"), v.split("/", 1)))})
        except ValueError:
            return v
    if isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    return v


def _range(v: Any) -> Any:
    """A NAT address or port: a one-element range is listed as that single value."""
    if isinstance(v, dict) and "range" in v:
        lo, hi = v["range"]
        return _value(lo) if lo == hi else (_value(lo), _value(hi))
    return _value(v) if v is not None else None


def _left(left: dict[str, Any]) -> tuple:
    for kind in ("payload", "meta", "ct"):
        if kind in left:
            body = left[kind]
            return (kind, body.get("protocol", ""), body.get("field", ""), body.get("key", ""), body.get("dir", ""))
    return ("raw", json.dumps(left, sort_keys=True))


def _statement(st: dict[str, Any]) -> tuple | None:
    kind, body = next(iter(st.items()))
    if kind == "counter":
        return ("counter",)
    if kind == "match":
        right = _value(body["right"])
        op = body.get("op", "==")
        if isinstance(right, tuple) and op == "==":
            op = "in"
        return ("match", op, _left(body["left"]), right)
    if kind in ("accept", "drop", "return", "continue"):
        return (kind,)
    if kind == "reject":
        return ("reject",) if body is None or body in _DEFAULT_REJECT else ("reject", json.dumps(body, sort_keys=True))
    if kind in ("jump", "goto"):
        return (kind, body["target"])
    if kind in ("masquerade", "snat", "dnat"):
        body = dict(body or {})
        body.pop("family", None)
        addr = body.pop("addr", None)
        port = body.pop("port", None)
        return (kind, _range(addr), _range(port), json.dumps(body, sort_keys=True))
    return ("raw", json.dumps(st, sort_keys=True))


def canonical(exprs: Iterable[dict[str, Any]]) -> tuple:
    """A comparable key for a rule's statement list (libnftables JSON, listing or input)."""
    return tuple(s for s in (_statement(e) for e in exprs) if s is not None)


def rule_key(rule) -> tuple:
    """The key of a model NftRule (vnetmigrate.libvirt.nft_rules)."""
    return canonical(e.json() for e in rule.exprs)
