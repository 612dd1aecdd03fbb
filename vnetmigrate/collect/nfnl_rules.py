"""Kernel rule expressions (nfnetlink) -> the libnftables JSON rule `nft -j list chain` prints.

Only the shapes written here are turned into JSON, each exactly as nft 1.0.6 lists it
(tests/lab/test_nfnl_read.py compares every rule with nft's own listing on real rulesets):
interface names (exact and wildcard), `meta nfproto`/`l4proto`, ip/ip6 addresses (plain and
prefixes), tcp/udp/sctp/dccp/udplite ports, `ct state` flags, lookups in anonymous or named
sets, counters, verdicts and comments, a plain `reject` and `masquerade [to :lo-hi]` (what
libvirt's nftables backend writes). nft hides the dependencies it adds itself (`meta
nfproto ipv4` before `ip saddr`, `meta l4proto tcp` before `tcp dport`); so does this module,
where the dependency comes right before what needs it. Anything else raises `Unsupported`:
the collector then lists that chain through libnftables instead — this module never guesses.

`convert` also types each rule as `NftRule.from_json` types its JSON (the lab test compares
the two): scan takes those rules and writes the JSON text only for saved evidence. Each
distinct expression is decoded once (`_STEPS`): rules repeat most of theirs.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from typing import Any

from vnetmigrate.collect.nfnl_read import (NFTA_DATA_VALUE, NFTA_EXPR_DATA, NFTA_EXPR_NAME, NFTA_RULE_EXPRESSIONS,
                                           NFTA_RULE_HANDLE, NFTA_RULE_USERDATA, attrs, be32, text)
from vnetmigrate.rules import nft
from vnetmigrate.rules.nft import NftRule
from vnetmigrate.rules.nft_values import parse_left

# linux/netfilter/nf_tables.h
META_KEYS = {4: "iif", 5: "oif", 6: "iifname", 7: "oifname", 15: "nfproto", 16: "l4proto"}
CMP_OPS = {0: "==", 1: "!="}
VERDICTS = {1: "accept", 0: "drop", 0xFFFFFFFF: "continue", 0xFFFFFFFD: "jump", 0xFFFFFFFC: "goto",
            0xFFFFFFFB: "return"}
BASE_NETWORK, BASE_TRANSPORT = 1, 2
CT_STATE = 0
CT_BITS = ((1, "invalid"), (2, "established"), (4, "related"), (8, "new"), (64, "untracked"))
NFPROTO = {2: "ipv4", 10: "ipv6"}
NETWORK = {"ipv4": "ip", "ipv6": "ip6"}
# IP protocol numbers as nft names them (from /etc/protocols on Debian and Fedora)
L4PROTO = {1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 33: "dccp", 47: "gre", 50: "esp", 51: "ah",
           58: "ipv6-icmp", 132: "sctp", 136: "udplite"}
PORTS = frozenset(("tcp", "udp", "sctp", "dccp", "udplite"))
# (network protocol, offset) -> (field, length)
ADDRS = {("ip", 12): ("saddr", 4), ("ip", 16): ("daddr", 4), ("ip6", 8): ("saddr", 16), ("ip6", 24): ("daddr", 16)}
FAMILIES = ("ip", "ip6", "inet")
SET_INTERVAL = 0x4
ANONYMOUS = 0x1
UDATA_COMMENT = 0


class Unsupported(Exception):
    """A rule (or set) this module does not turn into JSON exactly."""


# An anonymous set's elements as nft lists them: (family, table, set name, the JSON left side
# looking it up) -> values in nft's order, or None: leave the set by name ("@__set3").
SetElements = Callable[[str, str, str, Any], "list[Any] | None"]
# values nft stores in network byte order (it sorts a set's elements by their numeric value)


def convert(msg: memoryview, family: str, table: str, chain: str,
            elements: SetElements) -> tuple[NftRule, tuple]:
    """One NFT_MSG_NEWRULE message (as dumped) -> the rule typed as `NftRule.from_json` types
    its libnftables `rule` object, and what `as_json` writes that object from: each statement's JSON,
    a match as typed. A chain of 50,000 rules is typed without
    making its dictionaries, which only saved evidence needs (collect/nfnl_chain.py). Equal
    typed statements may be one object."""
    if family not in FAMILIES:
        raise Unsupported(f"family {family}")
    top = attrs(msg)
    handle = struct.unpack(">Q", top[NFTA_RULE_HANDLE])[0]
    comment = _comment(bytes(top[NFTA_RULE_USERDATA])) if NFTA_RULE_USERDATA in top else None
    exprs = bytes(top[NFTA_RULE_EXPRESSIONS]) if NFTA_RULE_EXPRESSIONS in top else b""
    d = _Delinearizer(family, table, elements)
    parts = d.run(exprs)
    return NftRule(family, table, chain, handle, tuple(d.typed), comment), tuple(parts)


def as_json(rule: NftRule, parts: tuple) -> dict[str, Any]:
    """libnftables' `rule` object of a rule `convert` made. Its statements' dictionaries may be
    shared with other rules' (read them, do not change them)."""
    obj: dict[str, Any] = {"family": rule.family, "table": rule.table, "chain": rule.chain, "handle": rule.handle}
    if rule.comment is not None:
        obj["comment"] = rule.comment
    obj["expr"] = [p if type(p) is dict else {"match": {"op": p.op, "left": _JSON_LEFT[id(p.left)], "right": p.right}}
                   for p in parts]
    return obj


def _comment(udata: bytes) -> str | None:
    i, comment = 0, None
    while i + 2 <= len(udata):
        kind, size = udata[i], udata[i + 1]
        value = udata[i + 2:i + 2 + size]
        if kind == UDATA_COMMENT:
            comment = value.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        else:
            raise Unsupported(f"rule user data of type {kind}")
        i += 2 + size
    return comment


# What one kernel expression does, decoded once for every rule that repeats it (`meta load
# iifname => reg 1`, `immediate accept`, a port): (_LOAD, register, what is loaded),
# (_BITWISE, register, mask), (_CMP, register, op, value),
# (_LOOKUP, register, set name, negated), (_STATEMENT, its JSON, it typed).
_LOAD, _BITWISE, _CMP, _LOOKUP, _STATEMENT, _BY_FAMILY, _MASQ = range(7)
_STEPS: dict[bytes, tuple] = {}
_STEPS_MAX = 1 << 14  # ~4 MB; cleared when full (the few that repeat are decoded again)


def _step(expr: bytes) -> tuple:
    if expr[:8] == _CMP_NAME:  # most distinct expressions compare a value seen once (an address)
        shape = _CMP_SHAPES.get(expr[:_CMP_HEAD])
        if shape is not None and len(expr) == shape[2]:
            return _CMP, shape[0], shape[1], expr[_CMP_HEAD:_CMP_HEAD + shape[3]]
    name, data = _parsed(expr)
    if name == "meta":
        key = META_KEYS.get(be32(data[2])) if 2 in data else None
        if key is None:
            raise Unsupported("meta key")
        return _load(name, data, ("meta", key))
    if name == "payload":
        if 5 in data or 6 in data:
            raise Unsupported("payload write")
        return _load(name, data, ("payload", be32(data[2]), be32(data[3]), be32(data[4])))
    if name == "ct":
        if 3 in data or not 2 in data or be32(data[2]) != CT_STATE:
            raise Unsupported("ct key")
        return _load(name, data, _CT_STATE_LOAD)
    if name == "bitwise":
        if 6 in data and be32(data[6]) != 0 or 7 in data:
            raise Unsupported("bitwise shift")
        if be32(data[1]) != be32(data[2]):
            raise Unsupported("bitwise on a register not loaded here")
        if any(data[5]):
            raise Unsupported("bitwise xor")
        return _BITWISE, be32(data[1]), data[4]
    if name == "cmp":
        op = CMP_OPS.get(be32(data[2]))
        if op is None:
            raise Unsupported("cmp")
        step = _CMP, be32(data[1]), op, data[3]
        _learn_cmp(expr, step)
        return step
    if name == "lookup":
        if 3 in data:
            raise Unsupported("map lookup")
        flags = be32(data[5]) if 5 in data else 0
        if flags & ~1:
            raise Unsupported("lookup flags")
        return _LOOKUP, be32(data[2]), text(data[1]), bool(flags & 1)
    if name == "reject":
        return _by_family(data)
    if name == "masq":
        return _masq(data)
    if name == "counter":
        packets = struct.unpack(">Q", data[2])[0] if 2 in data else 0
        nbytes = struct.unpack(">Q", data[1])[0] if 1 in data else 0
        return _statement({"counter": {"packets": packets, "bytes": nbytes}})
    if name == "immediate":
        if be32(data[1]) != 0:  # a value into a register (masquerade's ports)
            if 2 not in data:
                raise Unsupported("immediate without data")
            return _LOAD, be32(data[1]), ("value", bytes(_level(data[2])[NFTA_DATA_VALUE]))
        verdict = attrs(attrs(data[2])[2])
        kind = VERDICTS.get(be32(verdict[1]))
        if kind is None:
            raise Unsupported("verdict")
        return _statement({kind: {"target": text(verdict[2])}} if kind in ("jump", "goto") else {kind: None})
    raise Unsupported(f"expression {name}")


# A cmp as the kernel dumps it: its name, then its data (NFTA_CMP_SREG, NFTA_CMP_OP, NFTA_CMP_DATA
# holding NFTA_DATA_VALUE), the value last. Two with the same 36 bytes before the value (every
# attribute's type and length, the register, the op) and the same length differ only in it.
_CMP_NAME = b"\x08\x00\x01\x00cmp\x00"
_CMP_HEAD = 36
_CMP_SHAPES: dict[bytes, tuple[int, str, int, int]] = {}  # head -> (register, op, length, value's length)


def _learn_cmp(expr: bytes, step: tuple) -> None:
    """Remember the head of a cmp decoded attribute by attribute, if its value is laid out last."""
    value = step[3]
    n = len(value)
    if expr[:8] == _CMP_NAME and len(expr) == _CMP_HEAD + ((n + 3) & ~3) and expr[_CMP_HEAD:_CMP_HEAD + n] == value \
            and struct.unpack_from("=H", expr, _CMP_HEAD - 4)[0] == 4 + n and len(_CMP_SHAPES) < 4096:
        _CMP_SHAPES[expr[:_CMP_HEAD]] = (step[1], step[2], len(expr), n)


def _statement(st: dict) -> tuple:
    return _STATEMENT, st, nft.parse_statement(st)


# A plain `reject`, as nft lists it in each family (type, code) -> JSON; others are not written.
# Its typing depends on the table's family (rules/nft.py: the default spelled out or not).
_REJECTS = {(0, 3): {"ip": {"reject": {"type": "icmp", "expr": "port-unreachable"}}},
            (0, 4): {"ip6": {"reject": {"type": "icmpv6", "expr": "port-unreachable"}}},
            (2, 1): {"inet": {"reject": {"type": "icmpx", "expr": "port-unreachable"}}}}
NF_NAT_RANGE_PROTO_SPECIFIED = 0x2


def _by_family(data: dict) -> tuple:
    """(_BY_FAMILY, family -> (JSON, typed)): a reject, written only in the family nft writes it so."""
    key = (be32(data[1]) if 1 in data else None, data[2][0] if 2 in data and len(data[2]) == 1 else None)
    got = _REJECTS.get(key)
    if got is None:
        raise Unsupported(f"reject {key}")
    return _BY_FAMILY, {fam: (st, nft.parse_statement(st, fam)) for fam, st in got.items()}


def _masq(data: dict) -> tuple:
    """(_MASQ, register of the lowest port, of the highest) of `masquerade [to :lo-hi]`; no flags
    but the one a port range sets (random, persistent... are not written)."""
    flags = be32(data[1]) if 1 in data else 0
    low, high = (be32(data[k]) if k in data else None for k in (2, 3))
    if (flags, low is None) not in ((0, True), (NF_NAT_RANGE_PROTO_SPECIFIED, False)) or (low is None) != (high is None):
        raise Unsupported(f"masquerade flags {flags:#x}")
    return _MASQ, low, high


def _load(name: str, data: dict, what: tuple) -> tuple:
    if 1 not in data:
        raise Unsupported(f"{name} without a destination register (a write)")
    return _LOAD, be32(data[1]), what


_CT_STATE_LOAD = ("ct", "state")


class _Delinearizer:
    __slots__ = ("family", "table", "elements", "out", "typed", "reg", "network", "l4", "deps")

    def __init__(self, family: str, table: str, elements: SetElements):
        self.family, self.table, self.elements = family, table, elements
        # the statements: their JSON, a match as typed; and all typed, one for one
        self.out: list[dict[str, Any] | nft.Match] = []
        self.typed: list[nft.Statement] = []
        self.reg: dict[int, tuple] = {}  # register -> what was loaded into it
        self.network = _NETWORK_OF.get(family)  # the network protocol known here
        self.l4: str | None = None
        self.deps: dict[str, int] = {}  # "network"/"transport" -> index in out of a dependency-shaped match

    def run(self, exprs: bytes) -> list[dict[str, Any] | nft.Match]:
        """The statements of a rule's NFTA_RULE_EXPRESSIONS."""
        reg, out, typed, steps = self.reg, self.out, self.typed, _STEPS
        unpack = struct.unpack_from
        start, end = 0, len(exprs)
        while start + 4 <= end:
            size = unpack("=H", exprs, start)[0]
            if size < 4:
                break
            expr = exprs[start + 4:start + size]
            start += (size + 3) & ~3
            step = steps.get(expr)
            if step is None:
                step = _step(expr)
                if len(steps) >= _STEPS_MAX:
                    steps.clear()
                steps[expr] = step
            kind = step[0]
            if kind == _LOAD:
                reg[step[1]] = step[2]
            elif kind == _CMP:
                self._cmp(reg.pop(step[1], None), step[2], step[3])
            elif kind == _STATEMENT:
                if reg:
                    raise Unsupported("a statement between a load and its use")
                out.append(step[1])
                typed.append(step[2])
            elif kind == _BITWISE:
                src = reg.pop(step[1], None)
                if src is None:
                    raise Unsupported("bitwise on a register not loaded here")
                reg[step[1]] = ("masked", src, step[2])
            elif kind == _LOOKUP:
                self._lookup(reg.pop(step[1], None), step[2], step[3])
            elif kind == _BY_FAMILY:
                got = step[1].get(self.family)
                if got is None or reg:
                    raise Unsupported("a statement nft writes otherwise in this family")
                out.append(got[0])
                typed.append(got[1])
            else:
                self._masquerade(step[1], step[2])
        if reg:
            raise Unsupported("a value loaded and never used")
        return out

    # -- uses -------------------------------------------------------------------------
    def _masquerade(self, low: int | None, high: int | None) -> None:
        st: dict[str, Any] = {"masquerade": None}
        if low is not None:
            ports = [_port(self._value(low)), _port(self._value(high))] if high != low else [_port(self._value(low))]
            st = {"masquerade": {"port": {"range": ports} if len(ports) == 2 else ports[0]}}
        if self.reg:
            raise Unsupported("a value loaded and not used by masquerade")
        kind, st, typed = _statement(st)
        self.out.append(st)
        self.typed.append(typed)

    def _value(self, register: int | None) -> bytes:
        src = self.reg.pop(register, None)
        if src is None or src[0] != "value":
            raise Unsupported("masquerade port from a register not set to a value here")
        return src[1]

    def _cmp(self, src: tuple | None, op: str, value: bytes) -> None:
        if src is None:
            raise Unsupported("cmp")
        if src[0] == "masked":
            self._masked(src[1], src[2], op, value)
            return
        if src[0] == "ct":
            raise Unsupported("ct state compared whole")
        left, fmt, dep = self._left(src, len(value))
        self._match(op, left, fmt(value), dep)

    def _lookup(self, src: tuple | None, name: str, negated: bool) -> None:
        if src is None or src[0] == "masked":
            raise Unsupported("lookup")
        left, _fmt, dep = self._left(src, None)
        right: Any = "@" + name
        if name.startswith("__set"):  # nft's name for anonymous sets
            formatter(left)  # one this module can write (else: Unsupported)
            elems = self.elements(self.family, self.table, name, left)
            if elems is not None:
                if len(elems) < 2:
                    raise Unsupported("an anonymous set of fewer than two elements")
                right = {"set": elems}
        self._match("!=" if negated else "==", left, right, dep)

    # -- building ---------------------------------------------------------------------
    def _match(self, op: str, left: dict, right: Any, dep: str | None) -> None:
        if self.reg:
            raise Unsupported("two loads before a use")
        if dep is not None or "payload" in left:
            self._kill_dependency(dep)
        out = self.out
        match = _typed_match(left, right, op)
        out.append(match)
        self.typed.append(match)
        if op == "==" and isinstance(right, str):
            meta = left.get("meta")
            key = meta.get("key") if meta is not None else None
            if key == "nfproto" and self.family == "inet":
                self.network = NETWORK[right]
                self.deps["network"] = len(out) - 1
            elif key == "l4proto":
                self.l4 = right
                self.deps["transport"] = len(out) - 1

    def _kill_dependency(self, layer: str | None) -> None:
        """nft hides a dependency it would have added itself (`meta l4proto tcp` before `tcp
        dport`). Written only where it comes right before what needs it; a dependency further
        back, which nft may or may not hide, is not written at all."""
        deps = self.deps
        if layer is not None and deps.get(layer) == len(self.out) - 1:
            self.out.pop()
            self.typed.pop()
            del deps[layer]
        if deps and any(layer == dep_layer or dep_layer == "network" for dep_layer in deps):
            raise Unsupported("a dependency match away from what needs it")

    def _left(self, src: tuple, size: int | None) -> tuple[dict, Callable[[bytes], Any], str | None]:
        """(JSON left side, how its values are written, the dependency nft would hide before it)."""
        if src[0] == "meta":
            got = _META_LEFT.get(src[1])
            if got is not None:
                return got
        elif src[0] == "ct":
            return _CT_LEFT
        elif src[0] == "payload":
            _, base, offset, length = src
            if base == BASE_NETWORK and self.network is not None and (self.network, offset) in ADDRS:
                field, full = ADDRS[(self.network, offset)]
                left = _payload_left(self.network, field)
                dep = "network" if self.family == "inet" else None
                if length == full:
                    return left, _addr, dep
                if size is not None and 0 < length < full:  # nft loads only a byte-aligned prefix's bytes
                    return left, _short_prefix(full, length), dep
            if base == BASE_TRANSPORT and self.l4 in PORTS and (offset, length) in ((0, 2), (2, 2)):
                return _payload_left(self.l4, "sport" if offset == 0 else "dport"), _port, "transport"
        raise Unsupported(f"expression {src}")

    def _masked(self, src: tuple, mask: bytes, op: str, value: bytes) -> None:
        if src == ("ct", "state") and op == "!=" and not any(value) and len(mask) == 4:
            bits = struct.unpack("=I", mask)[0]
            names = [name for bit, name in CT_BITS if bits & bit]
            if sum(bit for bit, _ in CT_BITS if bits & bit) != bits or not names:
                raise Unsupported("ct state bits")
            self._match("in", _CT_LEFT[0], names[0] if len(names) == 1 else names, None)
            return
        if src[0] == "payload":
            left, fmt, dep = self._left(src, None)
            if fmt is _addr and len(mask) == len(value):
                plen = _prefix_len(mask)
                if plen is not None and not any(v & ~m & 0xFF for v, m in zip(value, mask)):
                    addr = _addr(value)
                    self._match(op, left, {"prefix": {"addr": addr, "len": plen}}, dep)
                    return
        raise Unsupported("masked match")


_NETWORK_OF = {"ip": "ip", "ip6": "ip6"}  # the network protocol a table's family fixes
_PAYLOAD_LEFTS: dict[tuple[str, str], dict] = {}


def _payload_left(protocol: str, field: str) -> dict:
    """`{"payload": {"protocol": ..., "field": ...}}`, one object for every rule (read-only)."""
    left = _PAYLOAD_LEFTS.get((protocol, field))
    if left is None:
        left = _PAYLOAD_LEFTS[(protocol, field)] = {"payload": {"protocol": protocol, "field": field}}
    return left


# left side (one of the shared objects above) -> (it, it typed), and back (the typed left
# sides are these, one for each); a match with a plain value, by (left, op, value) -> it
# typed: `tcp dport 8080` or `meta l4proto tcp` in thousands of rules
_TYPED_LEFT: dict[int, tuple[dict, Any]] = {}
_JSON_LEFT: dict[int, dict] = {}
_TYPED_MATCH: dict[tuple, nft.Match] = {}
_TYPED_MATCH_MAX = 4096


def _typed_match(left: dict, right: Any, op: str) -> nft.Match:
    """`parse_statement`'s Match of {"match": {"op": op, "left": left, "right": right}}."""
    got = _TYPED_LEFT.get(id(left))
    if got is None or got[0] is not left:
        got = _TYPED_LEFT[id(left)] = (left, parse_left(left))  # holds both: their ids stay theirs
        _JSON_LEFT[id(got[1])] = left
    kind = type(right)
    if kind is not str and kind is not int:
        return nft.Match(got[1], right, op)
    key = (id(left), op, kind, right)  # (1 and True are equal keys: the type is part of it)
    match = _TYPED_MATCH.get(key)
    if match is None:
        match = nft.Match(got[1], right, op)
        if len(_TYPED_MATCH) < _TYPED_MATCH_MAX:  # (the first ones: a value seen once fills it too)
            _TYPED_MATCH[key] = match
    return match


def _parsed(expr: bytes) -> tuple[str, dict[int, bytes]]:
    """(name, attributes) of one expression; a compared or masked value (NFTA_DATA_VALUE
    inside its attribute) already taken out."""
    a = _level(expr)
    raw = a[NFTA_EXPR_NAME]
    name = _NAMES.get(raw) or raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    data = _level(a[NFTA_EXPR_DATA]) if NFTA_EXPR_DATA in a else {}
    for key in _VALUES.get(name, ()):
        if key in data:
            data[key] = _level(data[key])[NFTA_DATA_VALUE]
    return name, data


_VALUES = {"cmp": (3,), "bitwise": (4, 5)}  # attributes holding a nested NFTA_DATA_VALUE
_NAMES = {(n + "\0").encode(): n for n in ("meta", "payload", "ct", "bitwise", "cmp", "lookup", "counter", "immediate",
                                             "reject", "masq")}


def forget() -> None:
    """Drop the decoded expressions (~7 MB after 50,000 rules) and the interface table: the
    chains are read."""
    _STEPS.clear()
    _TYPED_MATCH.clear()
    _IFNAMES.clear()


def _level(data: bytes) -> dict[int, bytes]:
    """The attributes of one level of `data` by type (the last one wins)."""
    out = {}
    start, end = 0, len(data)
    unpack = struct.unpack_from
    while start + 4 <= end:
        size, kind = unpack("=HH", data, start)
        if size < 4:
            break
        out[kind & 0x3FFF] = data[start + 4:start + size]
        start += (size + 3) & ~3
    return out


def _ifname(v: bytes) -> str:
    name, nul, rest = v.partition(b"\0")
    if any(rest):
        raise Unsupported("interface name")
    out = name.decode("utf-8", "surrogateescape")
    if not out.isprintable() or any(c in out for c in '*\\"'):
        raise Unsupported("interface name with special characters")
    return out if nul else out + "*"


# This namespace's interfaces by index, read in one dump (`if_nameindex`) when a reader first
# needs one: libvirt's tables name each bridge by index 6 times (3,000 `if_indextoname`, each
# its own socket and ioctl, at 500 networks). Kept while one ChainReader reads (`forget`).
_IFNAMES: dict[int, str] = {}


def _ifindex(v: bytes) -> str:
    """An interface index, by the name nft prints (that of the device in this namespace now)."""
    if len(v) != 4:
        raise Unsupported("interface index")
    index = struct.unpack("=I", v)[0]
    if not _IFNAMES:
        _IFNAMES.update(socket.if_nameindex())
    name = _IFNAMES.get(index)
    if name is not None:
        return name
    try:  # a device made since the table was read
        return socket.if_indextoname(index)
    except OSError:
        raise Unsupported("an interface index no device has")


def _one_byte(names: dict[int, str]) -> Callable[[bytes], str]:
    def fmt(v: bytes) -> str:
        if len(v) != 1 or v[0] not in names:
            raise Unsupported("value")
        return names[v[0]]
    return fmt


_l4proto, _nfproto = _one_byte(L4PROTO), _one_byte(NFPROTO)


def _ct_state(v: bytes) -> str:
    """One element of a `ct state { ... }` set (a single flag, in host byte order)."""
    names = dict(CT_BITS)
    if len(v) != 4 or struct.unpack("=I", v)[0] not in names:
        raise Unsupported("ct state value")
    return names[struct.unpack("=I", v)[0]]


# the left sides of loads whatever came before them: (JSON, how its values are written, dependency)
_META_LEFT = {"iifname": ({"meta": {"key": "iifname"}}, _ifname, None),
              "oifname": ({"meta": {"key": "oifname"}}, _ifname, None),
              "iif": ({"meta": {"key": "iif"}}, _ifindex, None), "oif": ({"meta": {"key": "oif"}}, _ifindex, None),
              "l4proto": ({"meta": {"key": "l4proto"}}, _l4proto, None),
              "nfproto": ({"meta": {"key": "nfproto"}}, _nfproto, None)}
_CT_LEFT = ({"ct": {"key": "state"}}, _ct_state, None)


def _addr(v: bytes) -> str:
    if len(v) == 4:
        return socket.inet_ntop(socket.AF_INET, v)
    if len(v) == 16:
        return socket.inet_ntop(socket.AF_INET6, v)
    raise Unsupported("address length")


def _short_prefix(full: int, length: int) -> Callable[[bytes], Any]:
    def fmt(v: bytes) -> Any:
        if len(v) != length:
            raise Unsupported("prefix")
        return {"prefix": {"addr": _addr(v + b"\0" * (full - length)), "len": length * 8}}
    return fmt


def _port(v: bytes) -> int:
    if len(v) != 2:
        raise Unsupported("port")
    return struct.unpack(">H", v)[0]


def _prefix_len(mask: bytes) -> int | None:
    bits = int.from_bytes(mask, "big")
    n = len(mask) * 8
    plen = bin(bits).count("1")
    return plen if bits == ((1 << plen) - 1) << (n - plen) else None


def set_flags(msg: memoryview) -> tuple[str, int]:
    """(name, NFTA_SET_FLAGS) of one set as dumped."""
    a = attrs(msg)
    return text(a[2]), be32(a[3]) if 3 in a else 0


def formatter(left: Any) -> tuple[Callable[[bytes], Any], str]:
    """How the elements of a set looked up by `left` (libnftables JSON) are written, and the
    byte order nft sorts them in."""
    if isinstance(left, dict) and "payload" in left:
        field = left["payload"].get("field")
        if field in ("saddr", "daddr"):
            return _addr, "big"
        if field in ("sport", "dport"):
            return _port, "big"
    if isinstance(left, dict) and "meta" in left:
        key = left["meta"].get("key")
        if key in ("iifname", "oifname"):
            return _ifname, "little"
        if key in ("l4proto", "nfproto"):
            return _l4proto if key == "l4proto" else _nfproto, "little"
    if left == {"ct": {"key": "state"}}:
        return _ct_state, "little"
    raise Unsupported(f"a set looked up by {left}")


def anonymous_elements(reader, family: str, table: str, name: str, fmt: Callable[[bytes], Any],
                       order: str) -> list[Any]:
    """A plain anonymous set's elements, formatted and in nft's order (by numeric value)."""
    keys = reader.set_elements(family, table, name)
    if any(flags for _key, flags in keys):
        raise Unsupported(f"set {name}: interval elements")
    return [fmt(k) for k, _f in sorted(keys, key=lambda kf: int.from_bytes(kf[0], order))]
