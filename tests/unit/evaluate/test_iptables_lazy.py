"""iptables chains compiled rule by rule on first use (vnetmigrate/evaluate/iptlazy.py) against
the exact compile of every rule: for each rule of the recorded libvirt rulesets, Docker's,
iptables-services', a ufw-like set, the benchmark's generated chains and odd hand-written
rules, the gate the chain index reads first and the target's operations are the compiled
rule's. (Verdicts on kernel state: tests/lab/test_iptables_lazy.py.)"""

from __future__ import annotations

import re
from pathlib import Path

from tests.bench.hostgen import iptables_forward_text, iptables_text
from tests.sandbox import fixtures
from tests.unit.test_detectors import SYSCONFIG_IPTABLES
from vnetmigrate.evaluate import iptlazy
from vnetmigrate.evaluate.core import Effect, Match, Opaque, Verdict
from vnetmigrate.evaluate.iptcompile import compile_rule
from vnetmigrate.rules.iptables_save import parse_save

DATA = Path(__file__).parents[2] / "data"

UFW_LIKE = """*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:ufw-before-input - [0:0]
:ufw-before-forward - [0:0]
:ufw-user-input - [0:0]
:ufw-user-forward - [0:0]
:ufw-user-limit - [0:0]
:ufw-reject-input - [0:0]
-A INPUT -j ufw-before-input
-A INPUT -j ufw-user-input
-A INPUT -j ufw-reject-input
-A FORWARD -j ufw-before-forward
-A FORWARD -j ufw-user-forward
-A ufw-before-input -i lo -j ACCEPT
-A ufw-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A ufw-before-input -m conntrack --ctstate INVALID -j DROP
-A ufw-before-input -p icmp -m icmp --icmp-type 8 -j ACCEPT
-A ufw-before-input -p udp -m udp --sport 67 --dport 68 -j ACCEPT
-A ufw-before-input -d 224.0.0.251/32 -p udp -m udp --dport 5353 -j ACCEPT
-A ufw-before-forward -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A ufw-before-forward -p icmp -m icmp --icmp-type 3 -j ACCEPT
-A ufw-user-input -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m recent --set --name DEFAULT --mask 255.255.255.255 --rsource
-A ufw-user-input -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m recent --update --seconds 30 --hitcount 6 --name DEFAULT --mask 255.255.255.255 --rsource -j ufw-user-limit
-A ufw-user-input -i virbr0 -p udp -m multiport --dports 53,67 -j ACCEPT
-A ufw-user-forward -i virbr0 -o eth0 -j ACCEPT
-A ufw-user-forward -s 192.168.122.0/24 -m comment --comment "'dapp_Guests'" -j ACCEPT
-A ufw-user-limit -m limit --limit 3/min -j LOG --log-prefix "[UFW LIMIT BLOCK] "
-A ufw-user-limit -j REJECT --reject-with icmp-port-unreachable
-A ufw-reject-input -j REJECT --reject-with icmp-port-unreachable
COMMIT
"""

# Rules the fast paths must either read right or hand to the full parse (words after -A ODD).
ODD = """*mangle
:ODD - [0:0]
:HOST - [0:0]
-A ODD -i eth0 -j ACCEPT
-A ODD ! -i eth0 -j DROP
-A ODD -i eth+ -j ACCEPT
-A ODD -i eth* -j ACCEPT
-A ODD ! -i eth+ -o virbr0 -j ACCEPT
-A ODD -o virbr0 -i virbr1 -j ACCEPT
-A ODD -s 10.0.0.0/8 -i eth0 -j DROP
-A ODD -s 10.0.0.0/8,192.168.0.0/16 -j DROP
-A ODD ! -s 10.0.0.1/32 -d 10.0.0.2/32 -j DROP
-A ODD ! -s 10.0.0.1/32 ! -d 10.0.0.2/32 -p udp -j DROP
-A ODD -s 010.0.0.1/32 -j DROP
-A ODD -d 10.0.0.0/33 -j DROP
-A ODD -d 0.0.0.0/0 -j DROP
-A ODD -s 10.0.0.77/24 -j DROP
-A ODD -s 10.0.0.1/032 -j DROP
-A ODD -s 10.0.0.1 -j DROP
-A ODD -s 10.0.1 -j DROP
-A ODD -s 10.0.0.256/32 -j DROP
-A ODD -s 10.0.0.1/+8 -j DROP
-A ODD -s 10.0.0.1/ -j DROP
-A ODD -s 1١.0.0.1/32 -j DROP
-A ODD -s host.example -j DROP
-A ODD -p tcp -m tcp ! --dport 22 -j DROP
-A ODD -p udp -m udp --dport 53:55 -j ACCEPT
-A ODD -p tcp -m tcp --sport 1024:65535 --dport 80 -j ACCEPT
-A ODD -p tcp -m tcp --dport 80 --sport 1024 -j ACCEPT
-A ODD -p tcp -m tcp --destination-port 80 -j ACCEPT
-A ODD -p sctp -m sctp --dport 80 -j ACCEPT
-A ODD -p tcp -m multiport --dports 80,443 -j ACCEPT
-A ODD -m tcp -p tcp --dport 80 -j ACCEPT
-A ODD -p tcp --dport 80 -j ACCEPT
-A ODD -p tcp -m tcp --dport 80 81 -j ACCEPT
-A ODD -p tcp -m tcp --dport 80
-A ODD -p tcp -m tcp --dport 80 -s 10.0.0.1 -j ACCEPT
-A ODD -p tcp -m tcp --dport 80 -i eth0 -j ACCEPT
-A ODD -m comment --comment -i -j ACCEPT
-A ODD -m comment --comment "-s 10.0.0.1" -j ACCEPT
-A ODD -m comment --comment "-j HOST" -j ACCEPT
-A ODD -m iprange --src-range 10.0.0.1-10.0.0.9 -j DROP
-A ODD -p tcp -m iprange --dst-range 10.0.0.1-10.0.0.9 -j DROP
-A ODD -p icmp -j ACCEPT
-A ODD ! -p tcp -j DROP
-A ODD -p all -j ACCEPT
-A ODD -p 6 -j ACCEPT
-A ODD -p tcp -m conntrack --ctstate NEW -p udp -j ACCEPT
-A ODD -j MARK --set-mark 0x1
-A ODD -j MARK --set-xmark 0x4000/0x4000
-A ODD -j CONNMARK --save-mark
-A ODD -j CT --notrack
-A ODD -g HOST
-A ODD -j HOST
-A ODD ! -j HOST
-A ODD -j REJECT --reject-with icmp-host-prohibited
-A ODD -m mark --mark 0x1/0xff -j ACCEPT
-A ODD -i -j ACCEPT
-A ODD -m -j HOST
-A ODD -j
-A ODD -m addrtype --dst-type LOCAL -j HOST
-A ODD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
"""
ODD6 = """*filter
:ODD - [0:0]
-A ODD -s fe80::/10 -j ACCEPT
-A ODD -d ::1/128 -j DROP
-A ODD -s 2001:db8::/32 -i eth0 -p ipv6-icmp -j ACCEPT
-A ODD -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT
COMMIT
"""


def rulesets():
    """(family, iptables-save text) of every ruleset the comparison walks (without restore's
    `-I` lines, which jump from built-in chains the fixtures do not declare)."""
    for family, text in _rulesets():
        yield family, re.sub(r"(?m)^-I .*\n", "", text)


def _rulesets():
    for path in sorted(DATA.rglob("ip*tables-save.txt")):
        yield ("ipv6" if path.name.startswith("ip6") else "ipv4"), path.read_text()
    yield "ipv4", fixtures.DOCKER_28
    yield "ipv4", fixtures.DOCKER_28_0
    yield "ipv4", fixtures.libvirt_iptables_v4([("virbr0", "192.168.122.0/24"), ("virbr1", "10.0.1.0/24")])
    yield "ipv6", fixtures.libvirt_iptables_v6()
    yield "ipv4", SYSCONFIG_IPTABLES
    yield "ipv4", UFW_LIKE
    yield "ipv4", ODD
    yield "ipv6", ODD6
    yield "ipv4", iptables_text(3_000)[0]
    yield "ipv4", iptables_forward_text(1_000)[0]


def first_gate(gates):
    """What the chain index reads: the first gate of the first kind present (addresses as ranges)."""
    for kind, gate in zip(("iface", "addr", "port", "proto"), gates):
        if gate:
            g = gate[0]
            return kind, ((g[0], g[1], tuple(g[2].ranges)) if kind == "addr" else g)
    return None


def described(op) -> tuple:
    if isinstance(op, Verdict):
        return "verdict", op.kind, op.target
    if isinstance(op, Effect):
        return "effect", op.text, op.changes
    assert isinstance(op, Opaque), op
    return "opaque", op.reason


def test_lazy_gates_and_targets_are_the_compiled_rules():
    chains = fast = 0
    for family, text in rulesets():
        for table in parse_save(text, family, "nft").tables:
            names = frozenset(c.name for c in table.chains)
            for chain in table.chains:
                if not chain.rules:
                    assert iptlazy.chain_rules(chain.rules, chain.name, names) == ()
                    continue
                chains += 1
                lazy = iptlazy.chain_rules(chain.rules, chain.name, names)
                exact = [compile_rule(r, chain.name, names) for r in chain.rules]
                where = f"{family} {table.name} {chain.name}"
                assert [first_gate(g) for g in lazy.gates()] == \
                    [first_gate((r.iface_gate, r.addr_gate, r.port_gate, r.proto_gate)) for r in exact], where
                assert [described(op) for op in lazy.target_ops()] == \
                    [described(op) for r in exact for op in r.ops if not isinstance(op, Match)], where
                assert lazy.compiled == 0  # gates and targets compiled no rule
                fam = "ip" if family == "ipv4" else "ip6"
                fast += sum(iptlazy._fast_gates(r.args, fam) is not None for r in chain.rules)
                assert [r.where for r in lazy] == [r.where for r in exact]
                assert [str(r.text) for r in lazy[:3]] == [str(r.text) for r in exact[:3]]
    assert chains > 60 and fast > 4_000  # every kind of ruleset was walked, most rules by the fast path
