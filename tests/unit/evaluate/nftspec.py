"""Compact builders of libnftables JSON rulesets for evaluator tests (the shapes `nft -j`
prints, checked against nftables 1.0.6 in a namespace), and of probe packets."""

from __future__ import annotations

import ipaddress

from vnetmigrate.evaluate.packet import EPHEMERAL, Iface, Packet
from vnetmigrate.rules.iptables_save import parse_save
from vnetmigrate.rules.nft_ruleset import parse_documents

ACCEPT, DROP, RETURN = {"accept": None}, {"drop": None}, {"return": None}
REJECT = {"reject": {"type": "icmpx", "expr": "port-unreachable"}}
COUNTER = {"counter": {"packets": 0, "bytes": 0}}


def jump(t):
    return {"jump": {"target": t}}


def goto(t):
    return {"goto": {"target": t}}


def meta(key, value, op="=="):
    return {"match": {"op": op, "left": {"meta": {"key": key}}, "right": value}}


def payload(proto, field, value, op="=="):
    return {"match": {"op": op, "left": {"payload": {"protocol": proto, "field": field}}, "right": value}}


def ct(key, value, op="in"):
    return {"match": {"op": op, "left": {"ct": {"key": key}}, "right": value}}


def prefix(addr, plen):
    return {"prefix": {"addr": addr, "len": plen}}


def nset(*items):
    return {"set": list(items)}


def chain(name, *rules, hook=None, prio=0, policy="accept", type="filter", handle=1):
    return name, list(rules), ({"type": type, "hook": hook, "prio": prio, "policy": policy} if hook else {}), handle


def ruleset(*tables, unread=()):
    """tables: (family, name, [chain(...), ...]); chains named in `unread` get no listing."""
    listing, chains = [], []
    for family, tname, tchains in tables:
        listing.append({"table": {"family": family, "name": tname, "handle": 1}})
        for name, rules, base, handle in tchains:
            c = {"chain": {"family": family, "table": tname, "name": name, "handle": handle, **base}}
            chains.append(c)
            if name in unread:
                continue
            listing.append(c)
            for h, expr in enumerate(rules, 100):
                listing.append({"rule": {"family": family, "table": tname, "chain": name, "handle": h,
                                         "expr": expr}})
    return parse_documents({"nftables": chains}, [{"nftables": listing}])


def save(text, family="ipv4", source="nft"):
    return parse_save(text, family, source)


def pkt(kind="forward", *, iif="virbr0", oif=None, proto="tcp", dport=443, state="new", daddr=None,
        saddr="192.168.122.10", **kw):
    """A probe-like packet: forward (guest -> outside), input (guest -> host), reply."""
    up = Iface.uplink(("virbr0",))
    if kind == "input":
        hooks, i, o = ("prerouting", "input"), Iface.named(iif), None
        daddr = daddr or "192.168.122.1"
    elif kind == "reply":
        hooks, i, o = ("prerouting", "forward", "postrouting"), up, Iface.named("virbr0")
        saddr, daddr = "198.51.100.1", daddr or "192.168.122.10"
        kw.setdefault("ct_direction", "reply")
        state = "established"
    else:
        hooks, i, o = ("prerouting", "forward", "postrouting"), Iface.named(iif), oif or up
        daddr = daddr or "198.51.100.1"
    ports = dict(sport=EPHEMERAL, dport=(dport, dport)) if proto in ("tcp", "udp") else dict(icmp_type="echo-request")
    return Packet(family="ip", hooks=hooks, iif=i, oif=o, saddr=ipaddress.ip_address(saddr),
                  daddr=ipaddress.ip_address(daddr), l4proto=proto, ct_state=state,
                  ct_status=kw.pop("ct_status", {"dnat": False, "snat": False}), **ports, **kw)
