"""Right-hand sides of matches: scalars, prefixes, ranges and anonymous sets, tested against
a packet's value. Every test answers True, False or None (cannot tell: a named set, a
concatenation, a partly overlapping interval), never a guess."""

from __future__ import annotations

import ipaddress
from typing import Any

L4 = {"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "dccp": 33, "ipv6-icmp": 58, "icmpv6": 58, "gre": 47,
      "esp": 50, "ah": 51, "sctp": 132, "udplite": 136}
ICMP = {"echo-reply": 0, "destination-unreachable": 3, "source-quench": 4, "redirect": 5,
        "echo-request": 8, "router-advertisement": 9, "router-solicitation": 10, "time-exceeded": 11,
        "parameter-problem": 12, "timestamp-request": 13, "timestamp-reply": 14}
ICMP6 = {"destination-unreachable": 1, "packet-too-big": 2, "time-exceeded": 3, "parameter-problem": 4,
         "echo-request": 128, "echo-reply": 129, "mld-listener-query": 130, "nd-router-solicit": 133,
         "nd-router-advert": 134, "nd-neighbor-solicit": 135, "nd-neighbor-advert": 136}


def elements(rhs: Any) -> list[Any] | None:
    """The elements a right-hand side stands for; None for a named set (`@name`)."""
    if isinstance(rhs, str) and rhs.startswith("@"):
        return None
    if isinstance(rhs, dict) and "set" in rhs:
        items = rhs["set"]
        items = items if isinstance(items, list) else [items]
        return [i["elem"]["val"] if isinstance(i, dict) and "elem" in i else i for i in items]
    if isinstance(rhs, list):
        return list(rhs)
    return [rhs]


def _any(results: list[bool | None]) -> bool | None:
    if any(r is True for r in results):
        return True
    return False if all(r is False for r in results) else None


def addr_in(a: ipaddress.IPv4Address | ipaddress.IPv6Address, rhs: Any) -> bool | None:
    elems = elements(rhs)
    if elems is None:
        return None
    return _any([_addr_elem(a, e) for e in elems])


def _addr_elem(a, e: Any) -> bool | None:
    try:
        if isinstance(e, str):
            return a == ipaddress.ip_address(e) if "/" not in e else a in ipaddress.ip_network(e, strict=False)
        if isinstance(e, dict) and "prefix" in e:
            p = e["prefix"]
            return a in ipaddress.ip_network(f"{p['addr']}/{p['len']}", strict=False)
        if isinstance(e, dict) and "range" in e:
            lo, hi = (ipaddress.ip_address(x) for x in e["range"])
            return lo <= a <= hi
    except (ValueError, TypeError):
        return None  # another family's address, or a form not modelled
    return None


def number(v: Any, names: dict[str, int] | None = None) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        if names and v in names:
            return names[v]
        try:
            return int(v, 0)
        except ValueError:
            return None
    return None


def interval_in(iv: tuple[int, int], rhs: Any, names: dict[str, int] | None = None) -> bool | None:
    """Is every value of `iv` in rhs (True), none (False), or some (None)?"""
    elems = elements(rhs)
    if elems is None:
        return None
    lo, hi = iv
    covered_by_one, overlaps = False, False
    for e in elems:
        if isinstance(e, dict) and "range" in e:
            a, b = (number(x, names) for x in e["range"])
        else:
            a = b = number(e, names)
        if a is None or b is None:
            return None
        if a <= lo and hi <= b:
            covered_by_one = True
        if not (b < lo or hi < a):
            overlaps = True
    if covered_by_one:
        return True
    return None if overlaps else False


def compare(iv: tuple[int, int], op: str, rhs: Any, names: dict[str, int] | None = None) -> bool | None:
    """`op` in ==, !=, <, >, <=, >=, in applied to an interval of possible values."""
    if op in ("==", "in", "!="):
        r = interval_in(iv, rhs, names)
        return r if op != "!=" or r is None else not r
    v = number(rhs, names)
    if v is None:
        return None
    lo, hi = iv
    test = {"<": lambda x: x < v, ">": lambda x: x > v, "<=": lambda x: x <= v, ">=": lambda x: x >= v}.get(op)
    if test is None:
        return None
    a, b = test(lo), test(hi)
    return a if a == b else None


def negate(r: bool | None, op: str) -> bool | None:
    return (not r if r is not None else None) if op == "!=" else r
