"""Which rules of a chain can match a packet, without trying every one.

A host with 100 networks has chains of hundreds of rules, each for one bridge or subnet
(libvirt writes one per network). Rules are indexed once per ruleset by what their first
match requires — an interface name, or an address prefix or range — and a packet state
looks up its candidates; the rest cannot match. Rules with neither stay candidates always.
The index only skips rules; the order and every match are still the evaluator's.
"""

from __future__ import annotations

from vnetmigrate.evaluate.core import State
from vnetmigrate.evaluate.ruleset import Chain, Ruleset


def candidates(rs: Ruleset, chain: Chain, st: State) -> list[int]:
    """Indices of the rules of `chain` that may match `st`, in order."""
    key = ("candidates", chain.scope, chain.chain, st.iif, st.oif, st.pkt.family, int(st.pkt.saddr),
           int(st.pkt.daddr))
    memo = rs.memo
    if key not in memo:
        ungated, sides, by_addr = _index(rs, chain)
        found = set(ungated).union(_side(rs, chain, sides, "iif", st.iif), _side(rs, chain, sides, "oif", st.oif))
        for which, addr in (("saddr", st.pkt.saddr), ("daddr", st.pkt.daddr)):
            found.update(_lookup(by_addr.get((addr.version, which)), addr))
        memo[key] = sorted(found)
    return memo[key]


def _index(rs: Ruleset, chain: Chain):
    key = ("index", chain.scope, chain.chain)
    if key not in rs.memo:
        ungated, sides, by_addr = [], {"iif": {}, "oif": {}}, {}
        for i, rule in enumerate(chain.rules or ()):
            if rule.iface_gate:
                which, name = rule.iface_gate[0]
                sides[which].setdefault(name, []).append(i)
            elif rule.addr_gate:
                _family, which, addrs = rule.addr_gate[0]
                for version, lo, hi in addrs.ranges:
                    _insert(by_addr.setdefault((version, which), ({}, [])), version, lo, hi, i)
            else:
                ungated.append(i)
        rs.memo[key] = (ungated, sides, by_addr)
    return rs.memo[key]


def _side(rs: Ruleset, chain: Chain, sides: dict, which: str, dev) -> list[int]:
    if dev is None:  # no such device at this hook: the empty name, which no gate requires
        return []
    names = sides[which]
    if dev.name is not None:
        return names.get(dev.name, [])
    key = ("side", chain.scope, chain.chain, which, dev)
    if key not in rs.memo:
        rs.memo[key] = [i for name, idx in names.items() if dev.decide(name) is not False for i in idx]
    return rs.memo[key]


def _insert(index: tuple[dict, list], version: int, lo: int, hi: int, rule: int) -> None:
    """Index an address range: prefixes by (length, network), anything else in a list."""
    prefixes, others = index
    bits = 32 if version == 4 else 128
    size = hi - lo + 1
    if size & (size - 1) == 0 and lo % size == 0:
        plen = bits - (size.bit_length() - 1)
        prefixes.setdefault(plen, {}).setdefault(lo >> (bits - plen), []).append(rule)
    else:
        others.append((lo, hi, rule))


def _lookup(index: tuple[dict, list] | None, addr) -> list[int]:
    if index is None:
        return []
    prefixes, others = index
    bits, n = addr.max_prefixlen, int(addr)
    out = [r for plen, table in prefixes.items() for r in table.get(n >> (bits - plen), ())]
    return out + [r for lo, hi, r in others if lo <= n <= hi]
