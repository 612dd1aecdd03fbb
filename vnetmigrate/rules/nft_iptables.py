"""Rules of an iptables-nft table, as `nft list` shows them -> `iptables -S` words.

A sos report has no `iptables-save` of the host's own namespace: its firewall_tables plugin
keeps `nft -a list ruleset` (where nft prints iptables-nft's rules in nft syntax, its xt
matches translated) and `iptables -vnxL` of the filter table only. scan reads iptables-nft
rules as `iptables -S` words, so this module writes each rule back in those words, for the
expressions iptables-nft itself writes: interfaces, addresses, protocol and ports,
conntrack state, address type, the verdicts and REJECT, MASQUERADE, SNAT/DNAT, CHECKSUM and
comments. Anything else raises NftTextError: the iptables rules are then "cannot tell".
tests/unit/test_nft_text.py translates every recorded real ruleset and compares each rule
with the same rule in iptables-nft-save's output of that ruleset.

`xt target "CHECKSUM"` carries no option in nft's listing; iptables refuses the target
without --checksum-fill (libxt_CHECKSUM's final check), so the option is implied.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from vnetmigrate.rules.iptables import quote
from vnetmigrate.rules.nft_text import NftTextError

TABLES = ("filter", "nat", "mangle", "raw", "security")  # what `iptables-nft -t T` can list
FAMILIES = {"ip": "ipv4", "ip6": "ipv6"}
_IFACE = {"iifname": "-i", "oifname": "-o"}
_ADDR = {"saddr": "-s", "daddr": "-d"}
_PORT = {"sport": "--sport", "dport": "--dport"}
_VERDICT = {"accept": "ACCEPT", "drop": "DROP", "return": "RETURN"}
_REJECT_DEFAULT = {"ip": "icmp-port-unreachable", "ip6": "icmp6-port-unreachable"}


def managed(family: str, table: str) -> bool:
    """A table iptables-nft lists (and scan reads through iptables-nft, not through nft)."""
    return family in FAMILIES and table in TABLES


def rule_words(rule: dict[str, Any], where: str) -> list[str]:
    """The words `iptables -S` prints after `-A CHAIN` for this rule (libnftables JSON form)."""
    family = rule["family"]
    words: list[str] = []
    proto: str | None = None
    matches: list[str] = []
    target: list[str] = []

    def fail(why: str):
        raise NftTextError(f"{where}: {why} (no iptables equivalent is read here)")

    for st in rule["expr"]:
        kind, body = next(iter(st.items()))
        if target:
            fail(f"a statement after the verdict: {kind}")
        if kind == "counter":
            continue
        if kind == "match":
            neg = ["!"] if body["op"] == "!=" else []
            if body["op"] not in ("==", "!=", "in"):
                fail(f"operator {body['op']!r}")
            left, right = body["left"], body["right"]
            if "meta" in left and left["meta"]["key"] in _IFACE and isinstance(right, str):
                words += neg + [_IFACE[left["meta"]["key"]], right.replace("*", "+")]
            elif "meta" in left and left["meta"]["key"] == "l4proto" and isinstance(right, str) and not neg:
                proto = right
            elif "payload" in left:
                p = left["payload"]
                if p["protocol"] == family and p["field"] in _ADDR:
                    words += neg + [_ADDR[p["field"]], _address(right, family, fail)]
                elif p["protocol"] == family and p["field"] in ("protocol", "nexthdr") and isinstance(right, str):
                    if neg:
                        fail("a negated protocol")
                    proto = right
                elif p["protocol"] in ("tcp", "udp") and p["field"] in _PORT:
                    if proto not in (None, p["protocol"]):
                        fail(f"{p['protocol']} ports with protocol {proto}")
                    proto = p["protocol"]
                    matches += ["-m", proto] if ["-m", proto] != matches[:2] else []
                    matches += neg + [_PORT[p["field"]], _port(right, fail)]
                else:
                    fail(f"payload {p['protocol']} {p['field']}")
            elif "ct" in left and left["ct"].get("key") == "state" and "dir" not in left["ct"]:
                states = right if isinstance(right, list) else [right]
                if not all(isinstance(s, str) for s in states):
                    fail("ct state")
                matches += ["-m", "conntrack"] + neg + ["--ctstate", ",".join(s.upper() for s in states)]
            elif "fib" in left and left["fib"].get("result") == "type" and left["fib"].get("flags") in (
                    ["daddr"], ["saddr"]) and isinstance(right, str):
                which = "--dst-type" if left["fib"]["flags"] == ["daddr"] else "--src-type"
                matches += ["-m", "addrtype"] + neg + [which, right.upper()]
            else:
                fail(f"match {left}")
        elif kind in _VERDICT:
            target = ["-j", _VERDICT[kind]]
        elif kind in ("jump", "goto"):
            target = ["-j" if kind == "jump" else "-g", body["target"]]
        elif kind == "reject":
            if body is None:
                target = ["-j", "REJECT", "--reject-with", _REJECT_DEFAULT[family]]
            elif body.get("type") == "tcp reset":
                target = ["-j", "REJECT", "--reject-with", "tcp-reset"]
            elif body.get("type") in ("icmp", "icmpv6") and body.get("expr"):
                prefix = "icmp6-" if family == "ip6" else "icmp-"
                target = ["-j", "REJECT", "--reject-with", prefix + body["expr"].replace("admin-prohibited", "adm-prohibited")]
            else:
                fail(f"reject {body}")
        elif kind == "masquerade":
            target = ["-j", "MASQUERADE"] + _to_ports(body, fail)
        elif kind in ("snat", "dnat"):
            if not body or "addr" not in body or set(body) - {"addr", "port", "family"}:
                fail(f"{kind} {body}")
            addr = body["addr"]
            if isinstance(addr, dict) and "range" in addr and all(isinstance(a, str) for a in addr["range"]):
                addr = "-".join(addr["range"])
            if not isinstance(addr, str):
                fail(f"{kind} to {addr}")
            port = body.get("port")
            to = (f"[{addr}]" if ":" in addr and port is not None else addr) + (f":{_port(port, fail, '-')}"
                                                                                   if port is not None else "")
            target = ["-j", kind.upper(), "--to-source" if kind == "snat" else "--to-destination", to]
        elif kind == "xt" and body == {"type": "target", "name": "CHECKSUM"}:
            target = ["-j", "CHECKSUM", "--checksum-fill"]
        else:
            fail(f"statement {kind}")
    if proto is not None:
        words += ["-p", proto]
    words += matches
    if rule.get("comment") is not None:
        words += ["-m", "comment", "--comment", rule["comment"]]
    return words + target


def chain_listing(chain: dict[str, Any], rules: list[dict[str, Any]], origin: str) -> str:
    """`iptables -t TABLE -S CHAIN` of one chain: its -P (base chain) or -N line, then -A lines."""
    name = chain["name"]
    head = f"-P {name} {chain['policy'].upper()}" if chain.get("hook") else f"-N {name}"
    lines = [head]
    for r in rules:
        where = f"{origin}: {chain['family']} {chain['table']} {name}" + (f" handle {r['handle']}" if r.get("handle") else "")
        lines.append(" ".join(["-A", name, *(quote(w) for w in rule_words(r, where))]))
    return "\n".join(lines) + "\n"


def _address(value: Any, family: str, fail) -> str:
    if isinstance(value, dict) and "prefix" in value:
        return f"{value['prefix']['addr']}/{value['prefix']['len']}"
    if isinstance(value, str):
        try:
            addr = ipaddress.ip_address(value)
        except ValueError:
            fail(f"address {value!r}")
        return f"{addr}/{addr.max_prefixlen}"
    fail(f"address {value!r}")


def _port(value: Any, fail, sep: str = ":") -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict) and "range" in value and all(isinstance(v, int) for v in value["range"]):
        return f"{value['range'][0]}{sep}{value['range'][1]}"
    fail(f"port {value!r}")


def _to_ports(body: Any, fail) -> list[str]:
    if body is None:
        return []
    if set(body) != {"port"}:
        fail(f"masquerade {body}")
    return ["--to-ports", _port(body["port"], fail, "-")]
