"""A chain run shared between two networks of the same shape, their bridge and addresses renamed.

libvirt writes the same rules for every network, naming its bridge and subnet: a run of its
forward chain for one network's probe is the run for another network's probe with the
bridge and the guest's address renamed, and the rules it met replaced by that network's
(chainrun.ChainRunner._renamed_run). That holds exactly when every rule the first run
examined has a counterpart for the second packet in the same place, and each counterpart
decides as the first did:

- the chains' candidate lists (evaluate/index.py) for both packets are equally long, and the
  first run examined the rule at position k of each for one packet, the counterpart at k for
  the other (so the runs visit the same positions, jump to the same chains, return alike);
- a counterpart is the same rule but for the interface names it matches (the first packet's
  renamed device for the second's) and the addresses it matches, each statement one this
  module knows reads nothing else that differs between the packets;
- every interface name the rules match decides alike for both packets' devices on that
  side, and every address set matched contains both packets' address in that field alike.

Anything else (a set looked up by name, a masked or concatenated address, a vmap, an
unmodelled statement, an iptables chain) is not renamed: the chain is run.
"""

from __future__ import annotations

from typing import Any

from vnetmigrate.evaluate.fields import NO_DEVICE
from vnetmigrate.evaluate.values import AddrSet
from vnetmigrate.rules import nft
from vnetmigrate.rules.nft_values import IFACE_KEYS, Ct, Meta, Payload

_ADDRESS_FIELDS = ("saddr", "daddr")
# left expressions reading only what both packet states share (every field but the addresses
# and devices: `renaming` checks it); anything else is not renamed
_SAFE_META = frozenset({"l4proto", "nfproto", "protocol", "mark", "pkttype"})
_SAFE_CT = frozenset({"state", "status", "direction", "mark"})
_SAFE_PAYLOAD = frozenset({"ip", "ip6", "tcp", "udp", "th", "icmp", "icmpv6", "udplite", "sctp", "dccp"})
_HARMLESS = frozenset({"counter", "log", "comment"})


class Renaming:
    """How packet state n is packet state m renamed: the devices (m's, n's) per side, the
    interface names renamed, and the packets (equal but for their addresses)."""

    __slots__ = ("pm", "pn", "devs", "names")

    def __init__(self, pm, pn, devs: dict[str, tuple], names: dict[str, str]):
        self.pm, self.pn, self.devs, self.names = pm, pn, devs, names

    def rule(self, a: nft.NftRule, b: nft.NftRule) -> bool:
        """Whether rule `b` decides for packet state n as rule `a` does for m."""
        if a is not b and (a.family != b.family or a.table != b.table or a.chain != b.chain
                           or len(a.stmts) != len(b.stmts)):
            return False
        return all(self._statement(s, t) for s, t in zip(a.stmts, b.stmts))

    def _statement(self, s, t) -> bool:
        kind = type(s)
        if kind is not type(t):
            return False
        if kind is nft.Match:
            return s.left == t.left and s.op == t.op and self._match(s.left, s.op, s.right, t.right)
        if kind is nft.Counter:
            return True
        if kind is nft.Verdict:
            return s == t
        if kind is nft.Nat:  # the evaluator reads only that it is NAT (nftcompile: Verdict("nat"))
            return s.kind == t.kind
        if kind is nft.Mangle:
            return s == t and _safe_left(s.target)
        if kind is nft.Other:
            return s == t and s.kind in _HARMLESS
        return False  # a vmap, anything newer: not renamed

    def _match(self, left, op: str, a: Any, b: Any) -> bool:
        if type(left) is Meta and left.key in IFACE_KEYS:
            # fields.iface: each name decided by the side's device (none: the empty name)
            na, nb = _names(a), _names(b)
            if na is None or nb is None or len(na) != len(nb) or op not in ("==", "!="):
                return False
            dm, dn = self.devs["iif" if left.key.startswith("i") else "oif"]
            dm, dn = dm or NO_DEVICE, dn or NO_DEVICE
            return all((x == y or self.names.get(x) == y) and dm.decide(x) == dn.decide(y) for x, y in zip(na, nb))
        if type(left) is Payload and left.protocol in ("ip", "ip6") and left.field in _ADDRESS_FIELDS:
            # fields.addr: membership of the packet's address in the value, as AddrSet has it
            if op not in ("==", "!=", "in") or _named_set(a) or _named_set(b):
                return False
            got_m = _addr_set(a).contains(getattr(self.pm, left.field))
            return got_m is not None and got_m == _addr_set(b).contains(getattr(self.pn, left.field))
        return a == b and _safe_left(left)


_ADDR_SETS: dict[int, tuple[Any, AddrSet]] = {}


def _addr_set(value: Any) -> AddrSet:
    """AddrSet(value), kept per value object (a rule's statement is checked for every network)."""
    got = _ADDR_SETS.get(id(value))
    if got is None or got[0] is not value:
        if len(_ADDR_SETS) > 65536:
            _ADDR_SETS.clear()
        got = _ADDR_SETS[id(value)] = (value, AddrSet(value))
    return got[1]


def _safe_left(left) -> bool:
    kind = type(left)
    if kind is Meta:
        return left.key in _SAFE_META
    if kind is Ct:
        return left.key in _SAFE_CT and left.dir is None
    if kind is Payload:
        return left.protocol in _SAFE_PAYLOAD and left.field not in _ADDRESS_FIELDS
    return False


def _names(v: Any) -> tuple[str, ...] | None:
    """The interface names a value lists (fields.iface's), None: a named set or anything else."""
    if type(v) is str:
        return None if v.startswith("@") else (v,)
    if type(v) is dict and list(v) == ["set"] and isinstance(v["set"], list) \
            and all(type(x) is str and not x.startswith("@") for x in v["set"]):
        return tuple(v["set"])
    return None


def _named_set(v: Any) -> bool:
    return type(v) is str and v.startswith("@")


def renaming(sm, reads: tuple, sn) -> Renaming | None:
    """The renaming taking packet state `sm`, whose run read `reads` (field, value) of its
    packet, to `sn`: None unless `sn`'s packet has the same values of those but its addresses
    (the rules' checks decide on those) and its devices are the same or both known only by
    their names. (A run reading the packet's own devices is not kept to be renamed.)"""
    pn = sn.pkt
    for name, value in reads:
        if name not in _ADDRESS_FIELDS and getattr(pn, name) != value:
            return None
    names: dict[str, str] = {}
    devs = {}
    for side in ("iif", "oif"):
        a, b = getattr(sm, side), getattr(sn, side)
        devs[side] = (a, b)
        if a is b or a == b:
            continue
        if not (_named(a) and _named(b)) or names.get(a.name, b.name) != b.name:
            return None
        names[a.name] = b.name
    return Renaming(sm.pkt, pn, devs, names)


def _named(dev) -> bool:
    """A concrete device known by its name only (a probe's bridge)."""
    return dev is not None and dev.name is not None and not dev.yes and not dev.no
