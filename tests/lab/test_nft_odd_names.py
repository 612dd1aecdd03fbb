"""Chains whose table or own name nft's syntax cannot spell are still read.

A table named like one of nft's keywords (`table ip sets`) can be made over JSON or netlink,
and kube-proxy's nftables mode names chains `service-X/ns/svc/tcp/p80`. nft 1.0.6 refuses
both in `list chain F T C` (a keyword is a syntax error, and a quoted name is "unexpected
quoted string"), so the collector lists a chain the netlink reader leaves to libnftables with
a JSON command, which names any chain (collect/nft.list_chain_command). On kernel state, with
the netlink reader on and off, such chains are listed, their rules reach the facts, and the
record shows the plain command line.
"""

from __future__ import annotations

import json

import pytest

from vnetmigrate.collect import collect_live
from vnetmigrate.collect.host import LiveHost
from vnetmigrate.facts import build

pytestmark = pytest.mark.lab

HOOKED, JUMPED = "f s", "service-AB12/ns1/svc/tcp/p80"


def _ruleset() -> str:
    chain = {"family": "ip", "table": "sets"}
    saddr = {"payload": {"protocol": "ip", "field": "saddr"}}
    return json.dumps({"nftables": [
        {"add": {"table": {"family": "ip", "name": "sets"}}},
        {"add": {"chain": {**chain, "name": HOOKED, "type": "filter", "hook": "forward", "prio": 0,
                           "policy": "accept"}}},
        {"add": {"chain": {**chain, "name": JUMPED}}},
        {"add": {"rule": {**chain, "chain": HOOKED, "expr": [
            {"match": {"op": "==", "left": saddr, "right": {"set": ["10.0.0.1", "10.0.0.2"]}}},
            {"jump": {"target": JUMPED}}]}}},
        {"add": {"rule": {**chain, "chain": JUMPED, "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 80}},
            {"drop": None}]}}},
    ]})


@pytest.mark.parametrize("netlink", [True, False], ids=["netlink", "libnftables-only"])
def test_chains_nft_cannot_name_are_read(lab_ready, tmp_path, monkeypatch, netlink):
    from tests.sandbox import namespaces

    ns = namespaces.new_name("oddnames")
    namespaces.create([ns])
    try:
        namespaces.run(ns, ["nft", "-j", "-f", "-"], input=_ruleset())
        # nft's own syntax cannot list them (what the collector did before)
        for words in (["sets", '"f s"'], ["sets", JUMPED]):
            assert namespaces.run(ns, ["nft", "list", "chain", "ip", *words], check=False).returncode != 0
        if not netlink:
            monkeypatch.setattr(LiveHost, "netlink_chains", lambda self: None)
        ev = collect_live(root=str(tmp_path), netns=ns)
        listed = {r.argv[-1]: r for r in ev.commands.values() if r.argv[:4] == ("nft", "-j", "list", "chain")
                  and r.argv[4:6] == ("ip", "sets")}
        assert set(listed) == {HOOKED, JUMPED}
        for name, rec in listed.items():
            assert rec.ok, (name, rec.stderr, rec.error)
        facts = build(ev)
        rules = {(r.chain, r.text) for r in _rules(facts)}
        assert (JUMPED, "tcp dport 80 drop") in rules, rules
        assert any(chain == HOOKED and f"jump {JUMPED}" in text for chain, text in rules), rules
    finally:
        namespaces.delete([ns])


def _rules(facts):
    for table in facts.nft.tables:
        if (table.family, table.name) == ("ip", "sets"):
            for chain in table.chains:
                for rule in chain.rules or ():
                    yield type("R", (), {"chain": chain.name, "text": rule.text})
