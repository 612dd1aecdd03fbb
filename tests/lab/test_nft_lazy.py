"""Native nftables chains compiled rule by rule on first use give the verdicts of compiling every rule.

scan compiles a native chain's rules only when the chain index names them as candidates for a
probe (vnetmigrate/evaluate/nftlazy.py). On kernel state — a namespace whose `inet filter`
forward chain holds the benchmark's generated rules (2,000) with rules among them that DO
match guests' packets (an address and port, an interface, a reply, an anonymous set, a mark
set by an earlier chain), firewalld-, Docker- and netavark-style tables, beside three libvirt
networks under the nftables backend — every probe's result (verdict, path, deciding rule,
reasons), now and after the switch, is the same as with every rule compiled up front, and the
big chain stays mostly uncompiled.
"""

from __future__ import annotations

import json

import pytest

from tests.bench.hostgen import build_host, native_rule
from tests.lab.lazy import same_verdicts
from tests.lab.txn_scenario import FOREIGN_NFT
from vnetmigrate.collect import collect_live
from vnetmigrate.evaluate.nftlazy import LazyNftRules
from vnetmigrate.facts import build

pytestmark = pytest.mark.lab

BIG = 2_000
# Rules that decide guests' packets, put deep in the generated chain (0-based positions)
MATCHING = {
    400: "ip saddr 10.200.0.0/24 tcp dport 443 drop",
    900: 'iifname "vbr1" udp dport 123 drop',
    1300: 'oifname "vbr1" ct state established,related accept',
    1500: "ip saddr 10.200.1.0/24 tcp dport { 22, 443, 8443 } drop",
    1700: "ip daddr 10.200.2.0/24 meta l4proto icmp drop",
    1800: "tcp dport 443 ct state new drop",  # indexed by its port
    1900: 'meta l4proto udp iifname != "vbr2" drop',  # by its protocol
}
TAIL = ["jump marked", "meta l4proto icmp accept"]
MANGLE = """table inet vnm_mangle {
chain forward {
type filter hook forward priority -150; policy accept;
iifname "vbr2" meta l4proto udp meta mark set 0x7
}
}
"""


def _forward_text() -> str:
    rules = [native_rule(i) for i in range(BIG)]
    for pos in sorted(MATCHING, reverse=True):
        rules.insert(pos, MATCHING[pos])
    return ("table inet filter {\nchain forward {\ntype filter hook forward priority 0; policy accept;\n"
            + "\n".join(rules + TAIL) + "\n}\n"
            # what the netlink reader does not write (a mark) in its own chain, listed by libnftables
            + "chain marked {\nmeta mark 0x7 accept\n}\n}\n")


def test_lazy_compile_gives_the_exact_verdicts_on_kernel_state(lab_ready, tmp_path):
    from tests.sandbox import namespaces

    ns = namespaces.new_name("nftlazy")
    namespaces.create([ns])
    try:
        build_host(ns, tmp_path, networks=3)
        for text in (_forward_text(), MANGLE, FOREIGN_NFT.replace('"virbr0"', '"vbr0"')):
            namespaces.run(ns, ["nft", "-f", "-"], input=text)
        ev = collect_live(root=str(tmp_path), netns=ns)
        # the big chain was read over netlink (its anonymous set left by name until reached)
        (rec,) = [r for r in ev.commands.values() if r.via == "netlink" and r.argv[-3:] == ("inet", "filter", "forward")]
        # ... and written in blocks of lines (collect/nfnl_chain.py), one JSON document still
        assert len(json.loads(rec.stdout)["nftables"]) == 1 + BIG + len(MATCHING) + len(TAIL)
        facts = build(ev)
        lazy, probes, steps = same_verdicts(facts)
        assert len(probes) == 27
        decided = {(p.end.text, p.verdict) for p in steps if p.end.chain.startswith("inet filter ")}
        # the matching rules decided packets: laziness hid none
        want = {(MATCHING[400], "drop"), (MATCHING[900], "drop"), (MATCHING[1300], "accept"),
                (MATCHING[1500], "drop"), (MATCHING[1700], "drop"), (MATCHING[1800], "drop"), (MATCHING[1900], "drop"), (TAIL[1], "accept"), ("mark 7 accept", "accept")}
        assert want <= decided, "\n".join(map(str, sorted(decided)))
        big = lazy.lookup(("nft", "inet", "filter"), "forward").rules
        assert isinstance(big, LazyNftRules) and len(big) == BIG + len(MATCHING) + len(TAIL)
        assert big.compiled < len(big) // 4
    finally:
        namespaces.delete([ns])
