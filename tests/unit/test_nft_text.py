"""`nft list ruleset` text -> libnftables JSON and `iptables -S` words (what a sos report needs).

Every recorded real ruleset of the peer tier (tests/data/libvirt: nft's text, nft's JSON and
iptables-nft-save of the same ruleset, libvirt 9.0, 11.3 and 12.9 with nft 1.0.6 and 1.1.3) is
parsed from its text: each rule of a native nftables table must equal the rule nft's own JSON
lists (canonical form), each chain its hook, priority and policy; each rule of an iptables-nft
table, written back as `iptables -S` words, the rule iptables-nft-save lists. What the text
cannot say exactly must be refused, never guessed: the recordings hold both kinds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vnetmigrate.errors import InputError
from vnetmigrate.rules import nft, nft_iptables, nft_text
from vnetmigrate.rules.iptables_save import parse_listing, parse_save

ROOT = Path(__file__).resolve().parents[2]
RECORDED = sorted((ROOT / "tests/data/libvirt").glob("**/nft-ruleset.nft"))
ID = {"ids": lambda p: str(p.parent.relative_to(ROOT / "tests/data/libvirt"))}
CHAIN_KEYS = ("type", "hook", "prio", "policy")


def _by_chain(rules) -> dict[tuple, list]:
    out: dict[tuple, list] = {}
    for r in rules:
        out.setdefault((r.family, r.table, r.chain), []).append(r.canon())
    return out


def test_recordings_are_many():
    assert len(RECORDED) >= 100


@pytest.mark.parametrize("path", RECORDED, **ID)
def test_native_tables_parse_to_the_rules_nfts_json_lists(path):
    doc = json.loads(path.with_suffix(".json").read_text())
    tables = nft_text.parse_ruleset(path.read_text())
    native = [t for t in tables if not nft_iptables.managed(t.family, t.name)]
    assert all(t.errors == [] for t in native)
    want = _by_chain(nft.NftRule.from_json(i["rule"]) for i in doc["nftables"]
                     if "rule" in i and not nft_iptables.managed(i["rule"]["family"], i["rule"]["table"]))
    got = _by_chain(nft.NftRule.from_json(r) for t in native for r in t.rules)
    assert got == want
    chains = {(c["family"], c["table"], c["name"]): {k: c.get(k) for k in CHAIN_KEYS}
              for c in (i["chain"] for i in doc["nftables"] if "chain" in i)}
    assert {(c["family"], c["table"], c["name"]): {k: c.get(k) for k in CHAIN_KEYS}
            for t in tables for c in t.chains} == chains


@pytest.mark.parametrize("path", RECORDED, **ID)
def test_iptables_nft_tables_translate_to_what_iptables_nft_save_lists_or_are_refused(path):
    tables = nft_text.parse_ruleset(path.read_text())
    for fam, save in (("ip", "iptables-save.txt"), ("ip6", "ip6tables-save.txt")):
        if not (path.parent / save).exists():
            continue
        family = nft_iptables.FAMILIES[fam]
        want = {(c.table, c.name): (c.policy, sorted(r.canon() for r in c.rules))
                for c in parse_save((path.parent / save).read_text(), family, "nft").chains()}
        for t in (t for t in tables if t.family == fam and nft_iptables.managed(fam, t.name)):
            for c in t.chains:
                rules = [r for r in t.rules if r["chain"] == c["name"]]
                try:
                    if t.errors:
                        raise nft_text.NftTextError(t.errors[0])
                    listing = nft_iptables.chain_listing(c, rules, "test")
                except InputError as exc:
                    # nft 1.0.6 prints iptables-nft's ip6 MASQUERADE as nothing, 1.1.3 as
                    # `xt target "MASQUERADE"` without its --to-ports: neither can be read back
                    assert fam == "ip6" and t.name == "nat" and ("could not print" in exc.message
                                                                 or "statement xt" in exc.message), exc.message
                    continue
                chain = parse_listing(family, t.name, c["name"], listing, "test")
                assert (chain.policy, sorted(r.canon() for r in chain.rules)) == want[(t.name, c["name"])]


def test_both_lossy_forms_occur_in_the_recordings():
    messages = [e for p in RECORDED for t in nft_text.parse_ruleset(p.read_text()) for e in t.errors]
    assert any("could not print" in m for m in messages)  # nft 1.0.6
    lossy = [p for p in RECORDED if 'xt target "MASQUERADE"' in p.read_text()]
    assert lossy  # nft 1.1.3


LISTING = """# Warning: table ip filter is managed by iptables-nft, do not touch!
table inet t { # handle 7
\tset s { # handle 2
\t\ttype ipv4_addr
\t\telements = { 10.0.0.1, 10.0.0.2 }
\t}

\tchain c { # handle 1
\t\ttype filter hook forward priority filter - 5; policy drop;
\t\tmeta l4proto { tcp, udp } th dport 53 counter packets 3 bytes 180 accept comment "dns" # handle 4
\t\tip saddr @s ip daddr 192.0.2.0-192.0.2.9 drop # handle 5
\t\tct state established,related accept # handle 6
\t\tiifname "virbr*" reject with icmpx admin-prohibited # handle 8
\t\tip daddr 10.0.0.1 snat ip to 192.0.2.1:1000-2000 # handle 9
\t}
}
"""


def test_a_listing_with_handles_sets_and_named_priorities_parses():
    (t,) = nft_text.parse_ruleset(LISTING)
    assert (t.family, t.name, t.handle, t.errors) == ("inet", "t", 7, [])
    assert t.chains == [{"family": "inet", "table": "t", "name": "c", "handle": 1, "type": "filter",
                         "hook": "forward", "prio": -5, "policy": "drop"}]
    texts = [nft.NftRule.from_json(r).text for r in t.rules]
    assert texts == ['meta l4proto { tcp, udp } th dport 53 accept comment "dns"',
                     "ip saddr @s ip daddr 192.0.2.0-192.0.2.9 drop",
                     "ct state established,related accept",
                     'iifname "virbr*" reject with icmpx admin-prohibited',
                     "ip daddr 10.0.0.1 snat to 192.0.2.1:1000-2000"]  # the family is implied
    assert [r["handle"] for r in t.rules] == [4, 5, 6, 8, 9]


@pytest.mark.parametrize("rule", ["tcp flags syn / syn,ack drop", "limit rate 5/second accept",
                                  "iifname . oifname @pairs accept", "meta mark set mark and 0xff accept",
                                  "meta mark set ct mark", "ct state vmap @verdicts"])
def test_what_is_not_understood_is_refused_with_its_line(rule):
    (t,) = nft_text.parse_ruleset(f"table ip x {{\n\tchain c {{\n\t\t{rule}\n\t}}\n}}\n")
    assert t.rules == [] and len(t.errors) == 1 and "line 3" in t.errors[0]


def test_a_truncated_listing_is_refused():
    with pytest.raises(nft_text.NftTextError, match="ends inside a block"):
        nft_text.parse_ruleset(LISTING.rsplit("}", 1)[0])
