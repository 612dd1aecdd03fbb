"""Which rules of a chain can match a packet, without trying every one.

A host with 100 networks has chains of hundreds of rules, each for one bridge or subnet
(libvirt writes one per network); a hand-written or generated firewall has tens of thousands,
each for one address, interface or port. Rules are indexed once per ruleset by what one of
their leading matches requires — an interface name, else an address prefix or range, else a
protocol and port, else a protocol — and a packet state looks up its candidates; the rest
cannot match. Rules with none stay candidates always. The index only skips rules; the order
and every match are still the evaluator's.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from vnetmigrate.evaluate.core import State
from vnetmigrate.evaluate.lazyrules import LazyRules
from vnetmigrate.evaluate.reads import unwrap
from vnetmigrate.evaluate.ruleset import Chain, Ruleset
from vnetmigrate.evaluate.values import L4


def candidates(rs: Ruleset, chain: Chain, st: State) -> list[int]:
    """Indices of the rules of `chain` that may match `st`, in order."""
    pkt = st.pkt
    index = _index(rs, chain)
    _ungated, _sides, by_addr, by_port, by_proto = index
    iif, oif = unwrap(st.iif), unwrap(st.oif)  # (the candidates depend on the whole devices)
    # Keyed by only what this chain's index reads: the probes of one network that differ in
    # protocol or port share the candidates of a chain indexed by interface (libvirt's).
    key = ("candidates", chain.scope, chain.chain, iif, oif,
           (pkt.family, int(pkt.saddr), int(pkt.daddr)) if by_addr else None,
           (pkt.l4proto, pkt.sport, pkt.dport) if by_port or by_proto[2] else None)
    memo = rs.memo
    if key not in memo:
        memo[key] = _candidates(rs, chain, st, index)
    return memo[key]


def _candidates(rs: Ruleset, chain: Chain, st: State, index) -> list[int]:
    pkt = st.pkt
    ungated, sides, by_addr, by_port, by_proto = index
    iif, oif = unwrap(st.iif), unwrap(st.oif)
    found = set(ungated).union(_side(rs, chain, sides, "iif", iif), _side(rs, chain, sides, "oif", oif))
    # the packet's fields are read only where the index has rules for them, as in the memo's key
    # (chain runs are shared between packets that read the same: evaluate/reads.py)
    if by_addr:
        for which, addr in (("saddr", pkt.saddr), ("daddr", pkt.daddr)):
            found.update(_lookup(by_addr.get((addr.version, which)), addr))
    if by_port:
        for which, iv in (("sport", pkt.sport), ("dport", pkt.dport)):
            found.update(_port_lookup(by_port.get((which, pkt.l4proto)), iv))
    if by_proto[2]:
        found.update(_proto_lookup(by_proto, L4.get(pkt.l4proto)))
    return sorted(found)


def _index(rs: Ruleset, chain: Chain):
    rules = chain.rules or ()
    # a lazily compiled chain (evaluate/lazyrules.py) keeps its index itself: it serves every
    # ruleset holding the chain (now and after the switch), and its gates are read only once
    lazy = isinstance(rules, LazyRules)
    memo, key = (rules.memo, "index") if lazy else (rs.memo, ("index", chain.scope, chain.chain))
    if key not in memo:
        ungated, sides, by_addr, by_port, by_proto = [], {"iif": {}, "oif": {}}, {}, {}, ({}, [], [])
        # ... and knows its rules' gates without compiling them
        gates = rules.gates() if lazy else ((r.iface_gate, r.addr_gate, r.port_gate, r.proto_gate) for r in rules)
        for i, (iface_gate, addr_gate, port_gate, proto_gate) in enumerate(gates):
            if iface_gate:
                which, name = iface_gate[0]
                sides[which].setdefault(name, []).append(i)
            elif addr_gate:
                _family, which, addrs = addr_gate[0]
                for version, lo, hi in addrs.ranges:
                    _insert(by_addr.setdefault((version, which), ({}, [])), version, lo, hi, i)
            elif port_gate:
                which, proto, intervals = port_gate[0]
                exact, ranges, every = by_port.setdefault((which, proto), ({}, [], []))
                every.append(i)
                for lo, hi in intervals:
                    if lo == hi:
                        exact.setdefault(lo, []).append(i)
                    else:
                        ranges.append((lo, hi, i))
            elif proto_gate:
                exact, ranges, every = by_proto
                every.append(i)
                for lo, hi in proto_gate[0]:
                    if lo == hi:
                        exact.setdefault(lo, []).append(i)
                    else:
                        ranges.append((lo, hi, i))
            else:
                ungated.append(i)
        by_port = {k: (exact, sorted(exact), ranges, every) for k, (exact, ranges, every) in by_port.items()}
        memo[key] = (ungated, sides, by_addr, by_port, by_proto)
    return memo[key]


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


def _port_lookup(index: tuple[dict, list, list, list] | None, iv: tuple[int, int] | None) -> list[int]:
    """Rules whose ports may overlap `iv` (None: the packet's port is unknown, every rule)."""
    if index is None:
        return []
    exact, ports, ranges, every = index
    if iv is None:
        return every
    lo, hi = iv
    if lo == hi:
        out = list(exact.get(lo, ()))
    else:
        out = [r for p in ports[bisect_left(ports, lo):bisect_right(ports, hi)] for r in exact[p]]
    return out + [r for a, b, r in ranges if not (b < lo or hi < a)]


def _proto_lookup(index: tuple[dict, list, list], number: int | None) -> list[int]:
    """Rules that may match a packet of IP protocol `number` (None: not known, every rule)."""
    exact, ranges, every = index
    if number is None:
        return every
    return exact.get(number, []) + [r for a, b, r in ranges if a <= number <= b]
