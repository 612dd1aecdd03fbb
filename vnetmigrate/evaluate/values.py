"""Right-hand sides of matches: scalars, prefixes, ranges and anonymous sets, tested against
a packet's value. Every test answers True, False or None (cannot tell: a named set, a
concatenation, a partly overlapping interval), never a guess."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from vnetmigrate.addr import network

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


class AddrSet:
    """A right-hand side of addresses, parsed once: membership of one address."""

    def __init__(self, rhs: Any):
        elems = elements(rhs)
        self.ranges: list[tuple[int, int, int]] | None = []
        for e in elems or ():
            r = _addr_range(e)
            if r is None:
                self.ranges = None
                break
            self.ranges.append(r)
        if elems is None:
            self.ranges = None

    @classmethod
    def of_ranges(cls, ranges: list[tuple[int, int, int]]) -> AddrSet:
        """The set of these (ip version, first, last) ranges, as parsing their text gives it."""
        s = cls.__new__(cls)
        s.ranges = ranges
        return s

    def contains(self, a: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool | None:
        if self.ranges is None:
            return None
        v, n = a.version, int(a)
        return any(ver == v and lo <= n <= hi for ver, lo, hi in self.ranges)


_INET, _PTON = socket.AF_INET, socket.inet_pton


def _v4(text: Any) -> int | None:
    """A plain dotted-quad IPv4 address as an integer; None for any other form, which
    `ipaddress` then judges (a big host's rules name tens of thousands of addresses).
    inet_pton takes exactly four decimal octets of 0-255 without leading zeros, as ASCII: no
    short forms, hex, signs or whitespace (tests/unit/evaluate/test_v4_parser.py compares it
    with the octet parser this was before)."""
    if not isinstance(text, str):
        return None
    try:
        return int.from_bytes(_PTON(_INET, text), "big")
    except (OSError, ValueError):  # not an address; ValueError: a NUL or a lone surrogate in it
        return None


def _v4_prefix(addr: Any, length: Any) -> tuple[int, int, int] | None:
    """(4, first, last) of a plain IPv4 address with a prefix length, as ip_network(strict=False)."""
    n = _v4(addr)
    if n is None:
        return None
    if isinstance(length, str):
        length = int(length) if length.isascii() and length.isdigit() else None
    if not isinstance(length, int) or isinstance(length, bool) or not 0 <= length <= 32:
        return None
    host = (1 << (32 - length)) - 1
    return 4, n & ~host, (n & ~host) | host


def _addr_range(e: Any) -> tuple[int, int, int] | None:
    """(ip version, first, last) of an address, prefix or range element; None if not one."""
    fast = _fast_range(e)
    if fast is not None:
        return fast
    try:
        if isinstance(e, str):
            net = network(e)
        elif isinstance(e, dict) and "prefix" in e:
            net = network(f"{e['prefix']['addr']}/{e['prefix']['len']}")
        elif isinstance(e, dict) and "range" in e:
            lo, hi = (ipaddress.ip_address(x) for x in e["range"])
            return (lo.version, int(lo), int(hi)) if lo.version == hi.version else None
        else:
            return None
    except (ValueError, TypeError):
        return None
    return net.version, int(net.network_address), int(net.broadcast_address)


def v4_text_range(text: str) -> tuple[int, int, int] | None:
    """(4, first, last) of "A.B.C.D" or "A.B.C.D/N" as `AddrSet` reads it; None for any other
    text (the hot path of a rule listing's `-s`/`-d`: iptlazy's gates read it too)."""
    addr, slash, length = text.partition("/")
    return _v4_prefix(addr, length if slash else 32)


def _fast_range(e: Any) -> tuple[int, int, int] | None:
    if isinstance(e, str):
        return v4_text_range(e)
    if isinstance(e, dict) and "prefix" in e and isinstance(e["prefix"], dict):
        return _v4_prefix(e["prefix"].get("addr"), e["prefix"].get("len"))
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


class NumSet:
    """A right-hand side of numbers and ranges, parsed once."""

    def __init__(self, rhs: Any, names: dict[str, int] | None = None):
        elems = elements(rhs)
        self.intervals: list[tuple[int, int]] | None = [] if elems is not None else None
        for e in elems or ():
            if isinstance(e, dict) and "range" in e:
                a, b = (number(x, names) for x in e["range"])
            else:
                a = b = number(e, names)
            if a is None or b is None:
                self.intervals = None
                break
            self.intervals.append((a, b))

    def covers(self, iv: tuple[int, int]) -> bool | None:
        """Is every value of `iv` in the set (True), none (False), or some (None)?"""
        if self.intervals is None:
            return None
        lo, hi = iv
        if any(a <= lo and hi <= b for a, b in self.intervals):
            return True
        return None if any(not (b < lo or hi < a) for a, b in self.intervals) else False


def interval_in(iv: tuple[int, int], rhs: Any, names: dict[str, int] | None = None) -> bool | None:
    return NumSet(rhs, names).covers(iv)


def comparer(op: str, rhs: Any, names: dict[str, int] | None = None):
    """A function interval -> True/False/None for `op rhs`, with rhs parsed once."""
    if op in ("==", "in", "!="):
        ns = NumSet(rhs, names)
        if op == "!=":
            return lambda iv: negate(ns.covers(iv), "!=")
        return ns.covers
    return lambda iv: compare(iv, op, rhs, names)


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
