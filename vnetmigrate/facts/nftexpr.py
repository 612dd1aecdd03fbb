"""Render libnftables JSON rule expressions as readable nft text, for evidence.

Covers what firewall managers commonly use; anything else is shown as compact JSON so
nothing is ever hidden. Counters are left out on purpose: evidence should not change
between two scans of the same ruleset.
"""

from __future__ import annotations

import json
from typing import Any

VERDICTS = ("accept", "drop", "reject", "return", "jump", "goto", "queue", "continue")
# meta keys nft prints without the `meta` prefix
_BARE_META = {"iif", "oif", "iifname", "oifname", "mark", "iiftype", "oiftype", "skuid", "skgid",
              "nftrace", "rtclassid", "ibrname", "obrname", "pkttype", "cpu", "iifgroup", "oifgroup",
              "cgroup", "ipsec"}
_QUOTED_META = {"iif", "oif", "iifname", "oifname"}


def _value(v: Any, quote: bool = False) -> str:
    if isinstance(v, str):
        return f'"{v}"' if quote and not v.startswith("@") else v
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, list):
        return "{ " + ", ".join(_value(x, quote) for x in v) + " }"
    if isinstance(v, dict):
        if "prefix" in v:
            return f"{_value(v['prefix']['addr'])}/{v['prefix']['len']}"
        if "range" in v:
            a, b = v["range"]
            return f"{_value(a)}-{_value(b)}"
        if "set" in v:
            items = v["set"]
            return _value(items if isinstance(items, list) else [items], quote)
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
            return " . ".join(_value(x, quote) for x in v["concat"])
        if "elem" in v:
            return _value(v["elem"]["val"], quote)
    return json.dumps(v, separators=(",", ":"), sort_keys=True)


def _statement(st: dict[str, Any]) -> str | None:
    kind, body = next(iter(st.items()))
    if kind == "counter":
        return None
    if kind == "match":
        left = _value(body["left"])
        quote = isinstance(body["left"], dict) and body["left"].get("meta", {}).get("key") in _QUOTED_META
        op = body.get("op", "==")
        right = _value(body["right"], quote)
        return f"{left} {right}" if op in ("==", "in") else f"{left} {op} {right}"
    if kind in ("jump", "goto"):
        return f"{kind} {body['target']}"
    if kind in ("accept", "drop", "return", "continue"):
        return kind
    if kind == "reject":
        if not body:
            return "reject"
        expr = body.get("expr")
        return "reject" + (f" with {body.get('type', 'icmp')} {expr}" if expr else "")
    if kind in ("masquerade", "snat", "dnat", "redirect"):
        parts = [kind]
        if body and body.get("addr") is not None:
            parts.append("to " + _value(body["addr"]) + (f":{_value(body['port'])}" if body.get("port") else ""))
        elif body and body.get("port") is not None:
            parts.append(f"to :{_value(body['port'])}")
        return " ".join(parts)
    if kind == "vmap":
        return f"{_value(body['key'])} vmap {_value(body['data'])}"
    if kind == "xt":
        return f"xt {body.get('type', '')} {body.get('name', '')}".strip()
    if kind == "log":
        return "log" + (f' prefix "{body["prefix"]}"' if body and body.get("prefix") else "")
    return json.dumps(st, separators=(",", ":"), sort_keys=True)


def render_rule(expr: tuple[Any, ...] | list[Any], comment: str | None = None) -> str:
    words = [w for w in (_statement(st) for st in expr if isinstance(st, dict)) if w]
    if comment:
        words.append(f'comment "{comment}"')
    return " ".join(words)


def verdict_of(expr: tuple[Any, ...] | list[Any]) -> str | None:
    for st in reversed(list(expr)):
        if isinstance(st, dict):
            for kind in st:
                if kind in VERDICTS:
                    return kind
    return None
