"""iptables chains compiled rule by rule on first use give the verdicts of compiling every rule.

scan compiles an iptables chain's rules only when the chain index names them as candidates
for a probe (vnetmigrate/evaluate/iptlazy.py). On kernel state — a namespace holding the
benchmark's chain FORWARD jumps to (2,000 generated rules) with rules among them that DO match
guests' packets, Docker 28's chains and FORWARD policy DROP, a ufw-like INPUT, iptables-services'
stock INPUT rules and a mangle MARK that a later rule reads, beside three libvirt networks —
every probe's result (verdict, path, deciding rule, reasons, blockers), now and after the
switch, is the same as with every rule compiled up front, and the big chain stays mostly
uncompiled.
"""

from __future__ import annotations

import pytest

from tests.bench.hostgen import build_host
from tests.lab.lazy import same_verdicts
from tests.sandbox import fixtures
from tests.unit.evaluate.test_iptables_lazy import UFW_LIKE
from tests.unit.test_detectors import SYSCONFIG_IPTABLES
from vnetmigrate.collect import collect_live
from vnetmigrate.evaluate import evaluate
from vnetmigrate.evaluate.iptlazy import LazyRules
from vnetmigrate.facts import build

pytestmark = pytest.mark.lab

BIG = 2_000
# Rules that decide guests' packets, put deep in the generated chain (positions 1-based)
MATCHING = """*mangle
:FORWARD ACCEPT [0:0]
-A FORWARD -i vbr2 -p udp -j MARK --set-xmark 0x7/0xffffffff
COMMIT
*filter
-I HOST-FORWARD 400 -s 10.200.0.0/24 -p tcp -m tcp --dport 443 -j REJECT --reject-with tcp-reset
-I HOST-FORWARD 900 -i vbr1 -p udp -m udp --dport 123 -j DROP
-I HOST-FORWARD 1300 -o vbr1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-I HOST-FORWARD 1700 -d 10.200.2.0/24 -p icmp -j DROP
-A HOST-FORWARD -m mark --mark 0x7 -j ACCEPT
-A HOST-FORWARD -p icmp -j ACCEPT
COMMIT
"""


def _input_rules() -> str:
    """ufw's INPUT chains (its user rule for the first network's bridge), then iptables-services'
    stock INPUT rules (its REJECT last)."""
    ufw = UFW_LIKE.replace(":INPUT DROP", ":INPUT ACCEPT").replace("-i virbr0", "-i vbr0")
    ufw = "\n".join(ln for ln in ufw.splitlines() if "FORWARD" not in ln and "ufw-reject-input" not in ln
                    and ln != "COMMIT" and not ln.startswith(("*", ":OUTPUT"))) + "\n"
    stock = [ln for ln in SYSCONFIG_IPTABLES.splitlines() if ln.startswith("-A INPUT")]
    return "*filter\n" + ufw + "\n".join(stock) + "\nCOMMIT\n"


def test_lazy_compile_gives_the_exact_verdicts_on_kernel_state(lab_ready, tmp_path):
    from tests.sandbox import namespaces

    ns = namespaces.new_name("lazy")
    namespaces.create([ns])
    try:
        build_host(ns, tmp_path, networks=3, iptables_path_rules=BIG)
        for text in (fixtures.DOCKER_28, _input_rules(), MATCHING):
            namespaces.run(ns, ["iptables-nft-restore", "--noflush"], input=text)
        facts = build(collect_live(root=str(tmp_path), netns=ns))
        lazy, probes, steps = same_verdicts(facts)
        assert len(probes) == 27
        decided_in_big = {(p.end.rule, p.verdict) for p in steps if p.end.chain == "ip filter HOST-FORWARD"}
        # the matching rules decided packets: laziness hid none
        assert {("rule 400", "reject"), ("rule 900", "drop"), ("rule 1300", "accept"), ("rule 1700", "drop"),
                (f"rule {BIG + 5}", "accept"), (f"rule {BIG + 6}", "accept")} <= decided_in_big, decided_in_big
        verdicts = {(p.id, evaluate(lazy, p.packet).verdict) for p in probes}
        assert {("net0/dns-udp", "accept"), ("net1/dns-udp", "reject")} <= verdicts, verdicts  # ufw, then REJECT
        big = lazy.lookup(("iptables-nft", "ip", "filter"), "HOST-FORWARD").rules
        assert isinstance(big, LazyRules) and len(big) == BIG + 6 and big.compiled < len(big) // 4
    finally:
        namespaces.delete([ns])
