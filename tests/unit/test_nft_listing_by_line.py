"""A chain listing written an object a line (as the netlink reader records it, collect/nfnl_chain.py)
is read by facts exactly as the same listing on one line (as libnftables prints it), and a broken
line is one readable error of the nftables part, not a traceback."""

import dataclasses
import json

from vnetmigrate.checks import run_all
from vnetmigrate.facts import build
from vnetmigrate.specs import NFT_CHAIN_T, prefix
from tests.unit.test_check_input_forward_drop import INET_FILTER, LIBVIRT, host


def _by_line(ev, break_line: bool = False):
    for key, rec in list(ev.commands.items()):
        if key.startswith(prefix(NFT_CHAIN_T)):
            items = json.loads(rec.stdout)["nftables"]
            lines = [json.dumps(i) for i in items if "metainfo" not in i]
            if break_line:
                lines[-1] = lines[-1][:-3]
            text = '{"nftables": [\n' + ",\n".join(lines) + "\n]}"
            ev.commands[key] = dataclasses.replace(rec, stdout=text, via="netlink")
    return ev


def _findings(ev):
    out = run_all(build(ev))
    return [(f.id, f.severity, f.title, f.evidence) for f in out.findings]


def test_a_listing_by_line_gives_the_findings_of_the_same_listing_on_one_line():
    one = host(nft=LIBVIRT + INET_FILTER)
    by_line = _by_line(host(nft=LIBVIRT + INET_FILTER))
    assert any(r.via == "netlink" for r in by_line.commands.values())
    assert _findings(by_line) == _findings(one)
    assert any(f[0] == "input-forward-drop" for f in _findings(one))


def test_a_broken_line_is_an_error_of_the_nftables_part():
    facts = build(_by_line(host(nft=LIBVIRT + INET_FILTER), break_line=True))
    assert facts.nft is None
    assert any("nft JSON output is malformed" in e["message"] for e in facts.errors)


def test_facts_take_the_collectors_typed_rules_only_beside_the_record_they_were_typed_with():
    """A live scan hands facts the rules it typed (collect/nft.py, Evidence.typed); a record
    replaced since (a bundle's redaction, a test's edit) is parsed from its text instead."""
    from vnetmigrate.rules.nft import NftRule
    from vnetmigrate.rules.nft_ruleset import TypedChain

    def rules_of(ev):
        return build(ev).nft.chain("inet", "filter", "input").rules

    ev = _by_line(host(nft=LIBVIRT + INET_FILTER))
    (key,) = [k for k, r in ev.commands.items() if r.via == "netlink" and "input" in r.argv]
    from_text = rules_of(ev)
    assert len(from_text) == 2
    items = json.loads(ev.commands[key].stdout)["nftables"]
    chain = next(i["chain"] for i in items if "chain" in i)
    only_first = TypedChain(chain, (NftRule.from_json(next(i["rule"] for i in items if "rule" in i)),))
    ev.typed[key] = (ev.commands[key], only_first)
    assert rules_of(ev) == only_first.rules  # taken as handed, the text not parsed
    ev.commands[key] = dataclasses.replace(ev.commands[key])  # the same text, another record
    assert rules_of(ev) == from_text
