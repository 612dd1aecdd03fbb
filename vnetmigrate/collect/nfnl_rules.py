"""Kernel rule expressions (nfnetlink) -> the libnftables JSON rule `nft -j list chain` prints.

Only the shapes written here are turned into JSON, each exactly as nft 1.0.6 lists it
(tests/lab/test_nfnl_read.py compares every rule with nft's own listing on real rulesets):
interface names (exact and wildcard), `meta nfproto`/`l4proto`, ip/ip6 addresses (plain and
prefixes), tcp/udp/sctp/dccp/udplite ports, `ct state` flags, lookups in anonymous or named
sets, counters, verdicts and comments. nft hides the dependencies it adds itself (`meta
nfproto ipv4` before `ip saddr`, `meta l4proto tcp` before `tcp dport`); so does this module,
where the dependency comes right before what needs it. Anything else raises `Unsupported`:
the collector then lists that chain through libnftables instead — this module never guesses.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from typing import Any

from vnetmigrate.collect.nfnl_read import (NFTA_DATA_VALUE, NFTA_EXPR_DATA, NFTA_EXPR_NAME, NFTA_RULE_EXPRESSIONS,
                                           NFTA_RULE_HANDLE, NFTA_RULE_USERDATA, attrs, be32, text)

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


def rule_json(msg: memoryview, family: str, table: str, chain: str, elements: SetElements) -> dict[str, Any]:
    """One NFT_MSG_NEWRULE message (as dumped) -> libnftables' `rule` object."""
    if family not in FAMILIES:
        raise Unsupported(f"family {family}")
    top = attrs(msg)
    rule: dict[str, Any] = {"family": family, "table": table, "chain": chain,
                            "handle": struct.unpack(">Q", top[NFTA_RULE_HANDLE])[0]}
    if NFTA_RULE_USERDATA in top:
        comment = _comment(bytes(top[NFTA_RULE_USERDATA]))
        if comment is not None:
            rule["comment"] = comment
    exprs = _pieces(bytes(top[NFTA_RULE_EXPRESSIONS])) if NFTA_RULE_EXPRESSIONS in top else []
    rule["expr"] = _Delinearizer(family, table, elements).run(exprs)
    return rule


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


class _Delinearizer:
    def __init__(self, family: str, table: str, elements: SetElements):
        self.family, self.table, self.elements = family, table, elements
        self.out: list[dict[str, Any]] = []
        self.reg: dict[int, tuple] = {}  # register -> what was loaded into it
        self.network = {"ip": "ip", "ip6": "ip6"}.get(family)  # the network protocol known here
        self.l4: str | None = None
        self.deps: dict[str, int] = {}  # "network"/"transport" -> index in out of a dependency-shaped match

    def run(self, exprs: list[memoryview]) -> list[dict[str, Any]]:
        for e in exprs:
            name, data = _parsed(e)
            handler = _HANDLERS.get(name)
            if handler is None:
                raise Unsupported(f"expression {name}")
            handler(self, data)
        if self.reg:
            raise Unsupported("a value loaded and never used")
        return self.out

    # -- loads ------------------------------------------------------------------------
    def _load(self, data: dict, dreg_attr: int, what: tuple) -> None:
        if dreg_attr not in data:
            raise Unsupported(f"{what[0]} without a destination register (a write)")
        self.reg[be32(data[dreg_attr])] = what

    def _meta(self, data: dict) -> None:
        key = META_KEYS.get(be32(data[2])) if 2 in data else None
        if key is None:
            raise Unsupported("meta key")
        self._load(data, 1, ("meta", key))

    def _payload(self, data: dict) -> None:
        if 5 in data or 6 in data:
            raise Unsupported("payload write")
        self._load(data, 1, ("payload", be32(data[2]), be32(data[3]), be32(data[4])))

    def _ct(self, data: dict) -> None:
        if 3 in data or not 2 in data or be32(data[2]) != CT_STATE:
            raise Unsupported("ct key")
        self._load(data, 1, ("ct", "state"))

    def _bitwise(self, data: dict) -> None:
        if 6 in data and be32(data[6]) != 0 or 7 in data:
            raise Unsupported("bitwise shift")
        src = self.reg.pop(be32(data[1]), None)
        if src is None or be32(data[1]) != be32(data[2]):
            raise Unsupported("bitwise on a register not loaded here")
        mask, xor = data[4], data[5]
        if any(xor):
            raise Unsupported("bitwise xor")
        self.reg[be32(data[2])] = ("masked", src, mask)

    # -- uses -------------------------------------------------------------------------
    def _cmp(self, data: dict) -> None:
        src = self.reg.pop(be32(data[1]), None)
        op = CMP_OPS.get(be32(data[2]))
        if src is None or op is None:
            raise Unsupported("cmp")
        value = data[3]
        if src[0] == "masked":
            self._masked(src[1], src[2], op, value)
            return
        if src[0] == "ct":
            raise Unsupported("ct state compared whole")
        left, fmt, dep = self._left(src, len(value))
        self._match(op, left, fmt(value), dep)

    def _lookup(self, data: dict) -> None:
        if 3 in data:
            raise Unsupported("map lookup")
        src = self.reg.pop(be32(data[2]), None)
        if src is None or src[0] == "masked":
            raise Unsupported("lookup")
        flags = be32(data[5]) if 5 in data else 0
        if flags & ~1:
            raise Unsupported("lookup flags")
        name = text(data[1])
        left, _fmt, dep = self._left(src, None)
        right: Any = "@" + name
        if name.startswith("__set"):  # nft's name for anonymous sets
            formatter(left)  # one this module can write (else: Unsupported)
            elems = self.elements(self.family, self.table, name, left)
            if elems is not None:
                if len(elems) < 2:
                    raise Unsupported("an anonymous set of fewer than two elements")
                right = {"set": elems}
        self._match("!=" if flags & 1 else "==", left, right, dep)

    def _counter(self, data: dict) -> None:
        packets = struct.unpack(">Q", data[2])[0] if 2 in data else 0
        nbytes = struct.unpack(">Q", data[1])[0] if 1 in data else 0
        self._statement({"counter": {"packets": packets, "bytes": nbytes}})

    def _immediate(self, data: dict) -> None:
        if be32(data[1]) != 0:
            raise Unsupported("immediate value")
        verdict = attrs(attrs(data[2])[2])
        kind = VERDICTS.get(be32(verdict[1]))
        if kind is None:
            raise Unsupported("verdict")
        if kind in ("jump", "goto"):
            self._statement({kind: {"target": text(verdict[2])}})
        else:
            self._statement({kind: None})

    # -- building ---------------------------------------------------------------------
    def _statement(self, st: dict[str, Any]) -> None:
        if self.reg:
            raise Unsupported("a statement between a load and its use")
        self.out.append(st)

    def _match(self, op: str, left: dict, right: Any, dep: str | None) -> None:
        if self.reg:
            raise Unsupported("two loads before a use")
        if dep is not None or "payload" in left:
            self._kill_dependency(dep)
        self.out.append({"match": {"op": op, "left": left, "right": right}})
        if op == "==" and isinstance(right, str):
            meta = left.get("meta", {}).get("key")
            if meta == "nfproto" and self.family == "inet":
                self.network = NETWORK[right]
                self.deps["network"] = len(self.out) - 1
            elif meta == "l4proto":
                self.l4 = right
                self.deps["transport"] = len(self.out) - 1

    def _kill_dependency(self, layer: str | None) -> None:
        """nft hides a dependency it would have added itself (`meta l4proto tcp` before `tcp
        dport`). Written only where it comes right before what needs it; a dependency further
        back, which nft may or may not hide, is not written at all."""
        here = len(self.out) - 1
        if layer is not None and self.deps.get(layer) == here:
            self.out.pop()
            del self.deps[layer]
        if any(layer == dep_layer or dep_layer == "network" for dep_layer in self.deps):
            raise Unsupported("a dependency match away from what needs it")

    def _left(self, src: tuple, size: int | None) -> tuple[dict, Callable[[bytes], Any], str | None]:
        """(JSON left side, how its values are written, the dependency nft would hide before it)."""
        if src[0] == "meta":
            key = src[1]
            if key in ("iifname", "oifname"):
                return {"meta": {"key": key}}, _ifname, None
            if key in ("iif", "oif"):
                return {"meta": {"key": key}}, _ifindex, None
            if key == "l4proto":
                return {"meta": {"key": key}}, _one_byte(L4PROTO), None
            if key == "nfproto":
                return {"meta": {"key": key}}, _one_byte(NFPROTO), None
        if src[0] == "ct":
            return {"ct": {"key": "state"}}, _ct_state, None
        if src[0] == "payload":
            _, base, offset, length = src
            if base == BASE_NETWORK and self.network is not None and (self.network, offset) in ADDRS:
                field, full = ADDRS[(self.network, offset)]
                left = {"payload": {"protocol": self.network, "field": field}}
                dep = "network" if self.family == "inet" else None
                if length == full:
                    return left, _addr, dep
                if size is not None and 0 < length < full:  # nft loads only a byte-aligned prefix's bytes
                    return left, _short_prefix(full, length), dep
            if base == BASE_TRANSPORT and self.l4 in PORTS and (offset, length) in ((0, 2), (2, 2)):
                left = {"payload": {"protocol": self.l4, "field": "sport" if offset == 0 else "dport"}}
                return left, _port, "transport"
        raise Unsupported(f"expression {src}")

    def _masked(self, src: tuple, mask: bytes, op: str, value: bytes) -> None:
        if src == ("ct", "state") and op == "!=" and not any(value) and len(mask) == 4:
            bits = struct.unpack("=I", mask)[0]
            names = [name for bit, name in CT_BITS if bits & bit]
            if sum(bit for bit, _ in CT_BITS if bits & bit) != bits or not names:
                raise Unsupported("ct state bits")
            self._match("in", {"ct": {"key": "state"}}, names[0] if len(names) == 1 else names, None)
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


# the kernel's expression names this module reads (any other: Unsupported)
_HANDLERS = {name: getattr(_Delinearizer, "_" + name) for name in
             ("meta", "payload", "ct", "bitwise", "cmp", "lookup", "counter", "immediate")}

# Rules repeat the same expressions (`meta load l4proto => reg 1`, `immediate accept`, the
# same port): each distinct one is parsed once.
_PARSED: dict[bytes, tuple[str, dict[int, bytes]]] = {}
_PARSED_MAX = 1 << 16


def _parsed(expr: bytes) -> tuple[str, dict[int, bytes]]:
    """(name, attributes) of one expression; a compared or masked value (NFTA_DATA_VALUE
    inside its attribute) already taken out."""
    got = _PARSED.get(expr)
    if got is None:
        a = dict(_pieces(expr, True))
        name = a[NFTA_EXPR_NAME].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        data = dict(_pieces(a[NFTA_EXPR_DATA], True)) if NFTA_EXPR_DATA in a else {}
        for key in _VALUES.get(name, ()):
            if key in data:
                data[key] = dict(_pieces(data[key], True))[NFTA_DATA_VALUE]
        got = (name, data)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[expr] = got
    return got


_VALUES = {"cmp": (3,), "bitwise": (4, 5)}  # attributes holding a nested NFTA_DATA_VALUE


def forget() -> None:
    """Drop the parsed expressions (~7 MB after 50,000 rules): the chains are read."""
    _PARSED.clear()


def _pieces(data: bytes, typed: bool = False) -> list:
    """The attributes of one level of `data`: their payloads, or (type, payload) pairs."""
    out = []
    start, end = 0, len(data)
    unpack = struct.unpack_from
    while start + 4 <= end:
        size, kind = unpack("=HH", data, start)
        if size < 4:
            break
        out.append((kind & 0x3FFF, data[start + 4:start + size]) if typed else data[start + 4:start + size])
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


def _ifindex(v: bytes) -> str:
    """An interface index, by the name nft prints (that of the device in this namespace now)."""
    if len(v) != 4:
        raise Unsupported("interface index")
    try:
        return socket.if_indextoname(struct.unpack("=I", v)[0])
    except OSError:
        raise Unsupported("an interface index no device has")


def _one_byte(names: dict[int, str]) -> Callable[[bytes], str]:
    def fmt(v: bytes) -> str:
        if len(v) != 1 or v[0] not in names:
            raise Unsupported("value")
        return names[v[0]]
    return fmt


def _ct_state(v: bytes) -> str:
    """One element of a `ct state { ... }` set (a single flag, in host byte order)."""
    names = dict(CT_BITS)
    if len(v) != 4 or struct.unpack("=I", v)[0] not in names:
        raise Unsupported("ct state value")
    return names[struct.unpack("=I", v)[0]]


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
            return _one_byte(L4PROTO if key == "l4proto" else NFPROTO), "little"
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
