"""Native nftables chains compiled rule by rule on first use (vnetmigrate/evaluate/nftlazy.py)
against the exact compile of every rule: for each rule of the recorded libvirt rulesets
(`nft -j list ruleset` of every corpus case), the libvirt model's rules, a firewalld-,
Docker-, netavark- and ufw-style ruleset, a sos report's `nft list ruleset` (Docker beside
libvirt), the benchmark's generated chain and odd hand-written rules, the gate the chain index
reads first and the operations that are not matches are the compiled rule's, and working them
out compiles no rule and reads no anonymous set. (Verdicts on kernel state: tests/lab/test_nft_lazy.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.bench.hostgen import native_rule
from tests.lab.txn_scenario import FOREIGN_NFT
from tests.unit.evaluate.test_iptables_lazy import first_gate
from vnetmigrate.evaluate import nftlazy
from vnetmigrate.evaluate.core import Effect, Match, Opaque, Verdict, VMap
from vnetmigrate.evaluate.nftcompile import compile_rule
from vnetmigrate.libvirt import nft_commands, parse_network
from vnetmigrate.rules import nft_text
from vnetmigrate.rules.nft import NftRule

DATA = Path(__file__).parents[2] / "data"
ODD = (Path(__file__).parent / "nft_odd_rules.txt").read_text().splitlines()
# what the text reader does not take: written as nft -j lists them
ODD_JSON = [
    [{"limit": {"rate": 3, "per": "second"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "ip",
     "field": "saddr"}}, "right": "10.0.0.1"}}, {"accept": None}],
    [{"xt": {"type": "match", "name": "recent"}}, {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}},
     "right": "udp"}}, {"drop": None}],
    [{"xt": {"type": "target", "name": "CHECKSUM"}}, {"match": {"op": "==", "left": {"meta": {"key": "iifname"}},
     "right": "x"}}],
    [{"mangle": {"key": {"ct": {"key": "mark"}}, "value": {"meta": {"key": "mark"}}}}],
    [{"notrack": None}, {"accept": None}],
    [{"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": {"set": ["virbr0"]}}}, {"accept": None}],
    [{"match": {"op": "in", "left": {"payload": {"protocol": "ip6", "field": "daddr"}},
                "right": {"prefix": {"addr": "fd00::", "len": 8}}}}, {"drop": None}],
    [{"match": {"op": "<", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 1024}},
     {"drop": None}],
    [{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": "@__set7"}},
     {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "@__set8"}},
     {"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "@__set9"}},
     {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "10.9.9.9"}},
     {"accept": None}],
    [{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "@__set9"}},
     {"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "y"}}, {"accept": None}],
]


def _text_rules(family: str, table: str, chain: str, lines) -> list[NftRule]:
    out = []
    for h, line in enumerate(lines, 1):
        expr, comment = nft_text.parse_rule(line, family, f"{table} {chain}")
        out.append(NftRule.from_json({"family": family, "table": table, "chain": chain, "handle": h, "expr": expr,
                                      **({"comment": comment} if comment else {})}))
    return out


def chains():
    """(where, rules) of every chain the comparison walks."""
    for path in sorted(DATA.rglob("nft-ruleset.json")):
        by_chain: dict[tuple, list] = {}
        for item in json.loads(path.read_text())["nftables"]:
            if "rule" in item:
                r = item["rule"]
                by_chain.setdefault((r["family"], r["table"], r["chain"]), []).append(NftRule.from_json(r))
        yield from ((f"{path.parent.name} {' '.join(k)}", v) for k, v in by_chain.items())
    model: dict[tuple, list] = {}
    nets = [parse_network(p.read_text(), p.name) for p in sorted((DATA / "networks").glob("*.xml"))]
    for cmd in nft_commands([n for n in nets if n.has_firewall], "11.3"):
        r = next(iter(cmd.values())).get("rule")
        if r is not None:
            model.setdefault((r["family"], r["table"], r["chain"]), []).append(NftRule.from_json(r))
    yield from ((f"model {' '.join(k)}", v) for k, v in model.items())
    sos = DATA / "sos/11.3-nftables-docker/sosreport/sos_commands/firewall_tables/nft_-a_list_ruleset"
    # the scenario's `nft -f` text as `nft list` prints it: a chain's head on its own line, sets left out
    foreign = re.sub(r"(?m)^ *set .*\n", "", FOREIGN_NFT).replace("{ type", "{\n type")
    for text, origin in ((foreign, "foreign"), (sos.read_text(), "sos")):
        for t in nft_text.parse_ruleset(text):
            for c in t.chains:
                rules = [NftRule.from_json(r) for r in t.rules if r["chain"] == c["name"]]
                if rules:
                    yield f"{origin} {t.family} {t.name} {c['name']}", rules
    yield "bench", _text_rules("inet", "filter", "forward", [native_rule(i) for i in range(2_000)])
    yield "odd", _text_rules("inet", "filter", "odd", ODD)
    yield "odd json", [NftRule("inet", "filter", "oddjson", h, NftRule.from_json(
        {"family": "inet", "table": "filter", "chain": "x", "expr": expr}).stmts) for h, expr in enumerate(ODD_JSON)]


def described(op) -> tuple:
    if isinstance(op, Verdict):
        return "verdict", op.kind, op.target
    if isinstance(op, Effect):
        return "effect", str(op.text), op.changes
    if isinstance(op, VMap):
        return "vmap", str(op.text), tuple((k, v.kind, v.target) for k, v in op.entries)
    assert isinstance(op, Opaque), op
    return "opaque", op.reason


class Sets:
    """Anonymous sets' resolver: it must not be asked while gates and targets are read."""

    def __init__(self):
        self.asked = 0

    def __call__(self, family, table, name, left):
        self.asked += 1
        return {"set": [80, 443]}


def test_lazy_gates_and_targets_are_the_compiled_rules():
    walked = rules = 0
    kinds = set()
    for where, source in chains():
        for sets in (None, Sets()):
            lazy = nftlazy.chain_rules(tuple(source), sets)
            exact = [compile_rule(r, sets) for r in source]
            lazy_gates = [first_gate(g) for g in lazy.gates()]
            assert lazy_gates == [first_gate((r.iface_gate, r.addr_gate, r.port_gate, r.proto_gate))
                                  for r in exact], where
            assert [described(op) for op in lazy.target_ops()] == \
                [described(op) for r in exact for op in r.ops if not isinstance(op, Match)], where
            assert lazy.compiled == 0 and (sets is None or sets.asked == 0), where
            assert [r.where for r in lazy] == [r.where for r in exact]
            assert [str(r.text) for r in lazy[:5]] == [str(r.text) for r in exact[:5]]
            kinds.update(g[0] for g in lazy_gates if g)
        walked += 1
        rules += len(source)
    assert nftlazy.chain_rules((), None) == ()
    # every kind of ruleset was walked, with every kind of gate
    assert walked > 100 and rules > 3_000 and kinds == {"iface", "addr", "port", "proto"}


def test_an_odd_rules_gate_is_the_one_the_index_reads():
    """A few rules spelled out: what each compiles to, so a wrong exact compile cannot hide a wrong
    lazy one."""
    source = _text_rules("inet", "filter", "odd", ODD)
    got = {line: first_gate(g) for line, g in zip(ODD, nftlazy.chain_rules(tuple(source)).gates())}
    assert got['oifname "virbr0" iifname "virbr1" accept'] == ("iface", ("oif", "virbr0"))
    assert got['iifname "eth*" accept'] is None
    assert got["ip saddr 10.0.0.0/8 iifname \"eth0\" drop"] == ("iface", ("iif", "eth0"))
    assert got["tcp dport { 80, 443 } accept"] == ("port", ("dport", "tcp", ((80, 80), (443, 443))))
    assert got["counter ip saddr 10.0.0.1 drop"] is None
    assert got["meta l4proto { tcp, udp } accept"] == ("proto", ((6, 6), (17, 17)))
    assert got["ip saddr != 10.0.0.1 ip daddr 10.0.0.2 drop"] == ("addr", ("ip", "daddr", ((4, 0x0A000002, 0x0A000002),)))
