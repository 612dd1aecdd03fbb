"""Matches on the packet's fields, shared by the nft and iptables compilers.

Each builder returns a `Match` whose test answers for one state. The kernel's quirks that
decide real verdicts are kept: at a hook without that device (no output device before
routing, none on input) an interface reads as the empty name and index 0, so `oifname
"x"` fails and `oifname != "x"` matches (kernel 6.18, seen here); `tcp dport` on a UDP
packet never matches (the implicit protocol dependency), `!=` included; before conntrack
(priority < -200 on prerouting/output) `ct state` is `invalid` and other ct keys break.
"""

from __future__ import annotations

from typing import Any

from vnetmigrate.evaluate import values
from vnetmigrate.evaluate.core import Branches, Match, State, tri
from vnetmigrate.evaluate.packet import Iface

NO_DEVICE = Iface.named("")  # what nft's meta iifname/oifname read where the hook has no such device

PORT_PROTOS = {"tcp": ("tcp",), "udp": ("udp",), "sctp": ("sctp",), "dccp": ("dccp",), "udplite": ("udplite",),
               "th": ("tcp", "udp", "udplite", "sctp", "dccp")}


def _flip(r: bool | None, negate: bool) -> bool | None:
    return r if r is None or not negate else not r


def iface(which: str, patterns: list[str], negate: bool, text: str) -> Match:
    def test(st: State) -> Branches:
        dev = (st.iif if which == "iif" else st.oif) or NO_DEVICE
        results = [dev.decide(p) for p in patterns]
        if any(r is True for r in results):
            return [(not negate, st)]
        if all(r is False for r in results):
            return [(negate, st)]
        open_ = [p for p, r in zip(patterns, results) if r is None]
        if len(open_) > 1:
            return tri(st, None, text)
        p = open_[0]
        yes = st.with_(**{which: dev.assume(p, True)}).assume(f"{text}: assumed {dev.label} is {p}")
        no = st.with_(**{which: dev.assume(p, False)}).assume(f"{text}: assumed {dev.label} is not {p}")
        return [(not negate, yes), (negate, no)]
    exact = len(patterns) == 1 and not negate and not patterns[0].endswith("*")
    return Match(test, text, (which, patterns[0]) if exact else None)


def addr(which: str, family: str, rhs: Any, negate: bool, text: str) -> Match:
    addrs = values.AddrSet(rhs)

    def test(st: State) -> Branches:
        if st.pkt.family != family:
            return [(False, st)]
        a = st.pkt.saddr if which == "saddr" else st.pkt.daddr
        return tri(st, _flip(addrs.contains(a), negate), text)
    gate = (family, which, addrs) if not negate and addrs.ranges is not None else None
    return Match(test, text, needs_addr=gate)


def l4proto(op: str, rhs: Any, text: str) -> Match:
    nums = values.NumSet(rhs, values.L4) if op in ("==", "in") else None
    cmp = nums.covers if nums is not None else values.comparer(op, rhs, values.L4)

    def test(st: State) -> Branches:
        v = values.L4.get(st.pkt.l4proto)
        return tri(st, None if v is None else cmp((v, v)), text)
    # a known protocol outside the set fails the match (one value is never partly covered)
    gate = tuple(nums.intervals) if nums is not None and nums.intervals else None
    return Match(test, text, needs_proto=gate)


def port(proto: str, which: str, op: str, rhs: Any, text: str) -> Match:
    nums = values.NumSet(rhs) if op in ("==", "in") else None
    cmp = nums.covers if nums is not None else values.comparer(op, rhs)
    protos = PORT_PROTOS.get(proto, ())

    def test(st: State) -> Branches:
        if st.pkt.l4proto not in protos:
            # th on ICMP reads the ICMP header's bytes: not a port, not modelled
            return tri(st, None, text) if proto == "th" and st.pkt.l4proto in ("icmp", "ipv6-icmp") else [(False, st)]
        iv = st.pkt.sport if which == "sport" else st.pkt.dport
        return tri(st, None if iv is None else cmp(iv), text)
    # it fails other protocols (`th` aside: ICMP is unknown) and ports outside its intervals
    gate = (which, protos[0], tuple(nums.intervals)) if nums is not None and nums.intervals and len(protos) == 1 \
        else None
    return Match(test, text, needs_port=gate)


def icmp_type(family: str, op: str, rhs: Any, text: str) -> Match:
    names = values.ICMP if family == "ip" else values.ICMP6
    proto = "icmp" if family == "ip" else "ipv6-icmp"

    def test(st: State) -> Branches:
        if st.pkt.l4proto != proto:
            return [(False, st)]
        v = values.number(st.pkt.icmp_type, names) if st.pkt.icmp_type else None
        return tri(st, None if v is None else values.compare((v, v), op, rhs, names), text)
    return Match(test, text)


def nfproto(op: str, rhs: Any, text: str, ethertype: bool = False) -> Match:
    def test(st: State) -> Branches:
        v = ("ip" if st.pkt.family == "ip" else "ip6") if ethertype else st.pkt.nfproto
        return tri(st, names_in(v, op, rhs), text)
    return Match(test, text)


def names_in(v: str | None, op: str, rhs: Any) -> bool | None:
    elems = values.elements(rhs)
    if v is None or elems is None or not all(isinstance(e, str) for e in elems):
        return None
    r = v in elems
    return not r if op == "!=" else r


def ct_state(op: str, rhs: Any, text: str) -> Match:
    def test(st: State) -> Branches:
        before = st.before_conntrack
        if before is None:
            return tri(st, None, text + " (at conntrack's own priority)")
        return tri(st, names_in("invalid" if before else st.ct_state, op, rhs), text)
    return Match(test, text)


def ct_status(op: str, rhs: Any, text: str) -> Match:
    def test(st: State) -> Branches:
        before = st.before_conntrack
        if before:
            return [(False, st)]
        elems = values.elements(rhs)
        if before is None or elems is None or op not in ("in", "==", "!="):
            return tri(st, None, text)
        got = [st.pkt.ct_status.get(f) if st.ct_state not in ("untracked", "invalid") else False for f in elems]
        r = True if any(g is True for g in got) else (False if all(g is False for g in got) else None)
        if op == "==" and len(elems) != 1:
            r = None
        return tri(st, _flip(r, op == "!="), text)
    return Match(test, text)


def ct_direction(op: str, rhs: Any, text: str) -> Match:
    def test(st: State) -> Branches:
        if st.before_conntrack is not False or st.ct_state in ("untracked", "invalid"):
            return tri(st, None, text)
        return tri(st, names_in(st.pkt.ct_direction, op, rhs), text)
    return Match(test, text)


def mark(kind: str, mask: int | None, op: str, rhs: Any, text: str) -> Match:
    def test(st: State) -> Branches:
        v = st.mark if kind == "meta" else st.ct_mark
        if v is None:
            return tri(st, None, text)
        v = v & mask if mask is not None else v
        return tri(st, values.compare((v, v), op, rhs), text)
    return Match(test, text)


def addr_type(which: str, op: str, rhs: Any, text: str) -> Match:
    def test(st: State) -> Branches:
        v = st.pkt.saddr_type if which == "saddr" else st.pkt.daddr_type
        return tri(st, names_in(v, op, rhs), text)
    return Match(test, text)


def pkttype(op: str, rhs: Any, text: str) -> Match:
    return Match(lambda st: tri(st, names_in(st.pkt.pkttype, op, rhs), text), text)


def tcp_flags(mask: list[str] | None, op: str, rhs: Any, text: str) -> Match:
    def test(st: State) -> Branches:
        if st.pkt.l4proto != "tcp":
            return [(False, st)]
        flags, want = st.pkt.tcp_flags, values.elements(rhs)
        if flags is None or want is None:
            return tri(st, None, text)
        seen = flags & set(mask) if mask is not None else flags
        r = bool(seen & set(want)) if op == "in" else seen == set(want)
        return tri(st, _flip(r, op == "!="), text)
    return Match(test, text)


def unknown(text: str) -> Match:
    return Match(lambda st: tri(st, None, text), text)
