"""The text parser of sos reports (vnetmigrate/rules/nft_text.py) against real nft, beyond libvirt's
rules: a ruleset in the styles of firewalld's and of Docker's nftables backend is loaded into a
throwaway namespace, listed as `nft -a list ruleset` (what sos keeps) and as `nft -j list
ruleset`; every rule the parser reads must be the rule nft's JSON lists, and every rule it
cannot read must be refused (its table's rules then stay unread), never read otherwise."""

from __future__ import annotations

import json

import pytest

from tests.sandbox import namespaces
from vnetmigrate.rules import nft, nft_text

pytestmark = pytest.mark.lab

RULESET = """
table inet fwlike {
    set trusted { type ipv4_addr; elements = { 192.0.2.1, 192.0.2.2 } }
    chain filter_INPUT {
        type filter hook input priority filter + 10; policy accept;
        ct state { established, related } accept
        ct status dnat accept
        iifname "lo" accept
        ct state invalid drop
        meta l4proto { icmp, ipv6-icmp } accept
        tcp dport { 22, 9090 } accept
        ip saddr @trusted accept
        ip6 daddr fe80::/64 udp dport 546 accept
        jump filter_IN_public
        reject with icmpx admin-prohibited
    }
    chain filter_IN_public {
        tcp dport 22 ct state new accept comment "ssh"
        udp dport 53 log prefix "dns " accept
        icmp type echo-request accept
        meta nfproto ipv4 ip daddr 203.0.113.0/24 reject with icmp host-prohibited
        return
    }
    chain filter_FORWARD {
        type filter hook forward priority filter + 10; policy drop;
        ct state established,related accept
        iifname "virbr0" oifname != "virbr0" accept
        oifname "virbr0" ip daddr 192.168.122.0/24 ct state related,established accept
        ip6 daddr { ::/96, 2002::/24 } reject with icmpv6 addr-unreachable
        tcp flags syn tcp option maxseg size set rt mtu
        ct state vmap { invalid : drop, established : accept }
        meta l4proto vmap { tcp : jump filter_IN_public, udp : goto filter_IN_public, icmp : continue }
        iifname vmap { "virbr0" : accept, "docker0" : drop }
        iifname . oifname { "virbr0" . "eth0" } accept
        meta mark set ct mark
    }
    chain more {
        tcp flags syn accept
        tcp flags & (syn | ack) == syn drop
        ip dscp cs1 accept
        meta pkttype broadcast accept
        ct mark 0x00000001 accept
        meta mark 0x00000010 accept
        ip ttl 64 accept
        udp sport 67 udp dport 68 accept
        ip protocol udp accept
        ip6 nexthdr tcp accept
        limit rate 10/second accept
        ip saddr != { 10.0.0.0/8, 172.16.0.0/12 } accept
        tcp dport 1000-2000 accept
        iif "lo" accept
        ether saddr 52:54:00:00:00:01 accept
        ct state new,untracked accept
        meta l4proto != udp drop
        ip daddr 192.0.2.1 tcp dport { 80, 443 } dnat ip to 10.88.0.3
    }
    chain nat_POSTROUTING {
        type nat hook postrouting priority srcnat + 10; policy accept;
        oifname != "lo" ip saddr 10.88.0.0/16 masquerade
        ip saddr 10.89.0.0/16 oifname "eth0" snat ip to 198.51.100.7
        meta l4proto tcp ip saddr 10.90.0.0/16 masquerade to :1024-65535 random
    }
    chain nat_PREROUTING {
        type nat hook prerouting priority dstnat + 10; policy accept;
        fib daddr type local tcp dport 8080 dnat ip to 10.88.0.2:80
        fib saddr . iif oif missing drop
    }
}
table ip dockerlike {
    chain forward {
        type filter hook forward priority filter; policy accept;
        oifname "docker0" ct state established,related counter accept
        iifname "docker0" oifname != "docker0" counter accept
        iifname != "docker0" oifname "docker0" counter drop
    }
}
"""


def test_real_nft_text_parses_to_real_nft_json_or_is_refused():
    (ns,) = [namespaces.new_name("nfttext")]
    namespaces.create([ns])
    try:
        namespaces.run(ns, ["nft", "-f", "-"], input=RULESET)
        text = namespaces.run(ns, ["nft", "-a", "list", "ruleset"]).stdout
        doc = json.loads(namespaces.run(ns, ["nft", "-j", "-a", "list", "ruleset"]).stdout)
    finally:
        namespaces.delete([ns])
    by_handle = {(r["family"], r["table"], r["handle"]): nft.NftRule.from_json(r)
                 for r in (i["rule"] for i in doc["nftables"] if "rule" in i)}
    tables = nft_text.parse_ruleset(text)
    read = refused = 0
    for t in tables:
        for r in t.rules:
            mine = nft.NftRule.from_json(r)
            assert mine.canon() == by_handle[(t.family, t.name, r["handle"])].canon(), (t.name, mine.text)
            assert mine.comment == by_handle[(t.family, t.name, r["handle"])].comment
            read += 1
        refused += len(t.errors)
    assert read + refused == len(by_handle)
    print(f"\n{read} rules read exactly, {refused} refused: " + "; ".join(e.split(": ", 2)[-1][:60]
                                                                     for t in tables for e in t.errors))
    assert refused <= 12
