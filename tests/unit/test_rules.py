"""vnetmigrate.rules: the one typed representation of each rule language, against real output.

- every rule of every recorded real-libvirt `nft -j list ruleset` renders as the recorded
  `nft list ruleset` text prints it (the same ruleset listed both ways), and survives a JSON
  round trip unchanged in its canonical form;
- iptables rules in libvirt's long options and as iptables-save prints them parse to the same
  options and compare equal; unknown options stay verbatim;
- (that the package sits at the bottom of the import graph: tests/unit/test_architecture.py)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vnetmigrate.rules import iptables, nft

ROOT = Path(__file__).resolve().parents[2]
RECORDED = sorted((ROOT / "tests/data/libvirt").glob("**/nft-ruleset.json"))
_COUNTER = re.compile(r"counter packets \d+ bytes \d+")


def _listed_text(text: str) -> dict[tuple[str, str, str], list[str]]:
    """Rule lines per (family, table, chain) of `nft list ruleset` output."""
    out: dict[tuple[str, str, str], list[str]] = {}
    table = chain = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("table "):
            table, chain = tuple(line.split()[1:3]), None
        elif line.startswith("chain ") and line.endswith("{"):
            chain = line.split()[1]
            out[(*table, chain)] = []
        elif line == "}" or not line or line.startswith(("type ", "policy ", "comment ")):
            continue
        elif chain is not None:
            out[(*table, chain)].append(_COUNTER.sub("counter", line))
    return out


def _rules(path: Path) -> list[nft.NftRule]:
    doc = json.loads(path.read_text())
    return [nft.NftRule.from_json(item["rule"]) for item in doc["nftables"] if "rule" in item]


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: str(p.parent.relative_to(ROOT / "tests/data/libvirt")))
def test_recorded_json_renders_as_nft_lists_it(path):
    listed = _listed_text(path.with_suffix(".nft").read_text())
    rendered: dict[tuple[str, str, str], list[str]] = {}
    for rule in _rules(path):
        if rule.table == "libvirt_network":
            rendered.setdefault((rule.family, rule.table, rule.chain), []).append(nft.render(rule.stmts, counters=True))
    assert rendered == {k: v for k, v in listed.items() if k[1] == "libvirt_network" and v}


def test_recordings_cover_libvirt_tables():
    assert len(RECORDED) >= 25
    assert sum(any(r.table == "libvirt_network" for r in _rules(p)) for p in RECORDED) >= 20


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: str(p.parent.relative_to(ROOT / "tests/data/libvirt")))
def test_json_round_trip_keeps_the_canonical_form(path):
    for rule in _rules(path):
        again = nft.parse_statements(rule.expr_json(), rule.family)
        assert nft.canonical(again) == rule.canon()
        assert nft.render(again, rule.comment) == rule.text


def test_kernel_listing_quirks_compare_equal_to_the_model_form():
    """What the model writes and what the kernel lists back: one canonical key."""
    written = (nft.Match(nft.Ct("state"), ("related", "established")),
               nft.Match(nft.Payload("ip", "daddr"), "255.255.255.255/32"), nft.Counter(), nft.Verdict("reject"))
    listed = [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}},
              {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}},
                         "right": "255.255.255.255"}},
              {"counter": {"packets": 3, "bytes": 180}},
              {"reject": {"type": "icmp", "expr": "port-unreachable"}}]
    assert nft.canonical(written) == nft.canonical(nft.parse_statements(listed, "ip"))
    assert nft.render(map(nft.as_listed, written), counters=True) == \
        nft.render(nft.parse_statements(listed, "ip"), counters=True) == \
        "ct state established,related ip daddr 255.255.255.255 counter reject"
    # an inet table lists a bare reject as icmpx: bare there, spelled out in an ip table
    icmpx = [{"reject": {"type": "icmpx", "expr": "port-unreachable"}}]
    assert nft.render(nft.parse_statements(icmpx, "inet")) == "reject"
    assert nft.render(nft.parse_statements(icmpx, "ip")) == "reject with icmpx port-unreachable"


def test_unknown_statements_stay_as_listed():
    odd = {"tproxy": {"family": "ip", "addr": "10.0.0.1", "port": 3128}}
    rule = nft.NftRule.from_json({"family": "inet", "table": "t", "chain": "c", "handle": 4,
                                  "expr": [{"match": {"op": "==", "left": {"rt": {"key": "nexthop"}},
                                                      "right": "10.0.0.1"}}, odd]})
    assert rule.expr_json()[1] == odd
    assert isinstance(rule.stmts[0].left, nft.RawExpr)
    assert rule.text == '{"rt":{"key":"nexthop"}} 10.0.0.1 {"tproxy":{"addr":"10.0.0.1","family":"ip","port":3128}}'
    assert rule.canon() != nft.NftRule.from_json({"family": "inet", "table": "t", "chain": "c",
                                                  "expr": [odd]}).canon()


LIBVIRT_FORM = ("--in-interface", "virbr0", "--protocol", "udp", "--destination-port", "53", "--jump", "ACCEPT")
SAVED_FORM = ("-i", "virbr0", "-p", "udp", "-m", "udp", "--dport", "53", "-j", "ACCEPT")


def test_iptables_long_and_short_options_parse_alike():
    a, b = iptables.parse(LIBVIRT_FORM), iptables.parse(SAVED_FORM)
    assert [o for o in a.opts if o[1] != "-m"] == [(None, "-i", ("virbr0",), False), (None, "-p", ("udp",), False),
                                                    (None, "--dport", ("53",), False)]
    assert [o[1:] for o in b.opts if o[1] != "-m"] == [o[1:] for o in a.opts]
    assert (a.target, a.goto, b.target) == ("ACCEPT", False, "ACCEPT")
    assert iptables.canonical(LIBVIRT_FORM, 4) == iptables.canonical(SAVED_FORM, "ipv4")


def test_iptables_listing_quirks_compare_equal():
    written = ("--out-interface", "virbr0", "--destination", "192.168.122.0/24", "--match", "conntrack",
               "--ctstate", "ESTABLISHED,RELATED", "--jump", "ACCEPT")
    saved = ("-d", "192.168.122.0/24", "-o", "virbr0", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
             "-j", "ACCEPT")
    assert iptables.canonical(written, 4) == iptables.canonical(saved, 4)
    assert iptables.canonical(("-s", "10.0.0.1", "-j", "REJECT"), 4) == \
        iptables.canonical(("-s", "10.0.0.1/32", "-j", "REJECT", "--reject-with", "icmp-port-unreachable"), 4)
    assert iptables.canonical(("-j", "REJECT", "--reject-with", "icmp-port-unreachable"), 6) != \
        iptables.canonical(("-j", "REJECT"), 6)
    assert iptables.canonical(("-j", "SNAT", "--to-source", "10.0.0.1-10.0.0.1:1024-65535"), 4) == \
        iptables.canonical(("-j", "SNAT", "--to-source", "10.0.0.1:1024-65535"), 4)


def test_iptables_module_options_take_values_up_to_the_next_option():
    p = iptables.parse(("!", "-s", "10.0.0.0/8", "-m", "comment", "--comment", "-x y", "-m", "statistic",
                        "--mode", "random", "--probability", "0.5", "-g", "KUBE-SEP", "--extra"))
    assert p.opts == ((None, "-s", ("10.0.0.0/8",), True), (None, "-m", ("comment",), False),
                      ("comment", "--comment", ("-x y",), False), (None, "-m", ("statistic",), False),
                      ("statistic", "--mode", ("random",), False), ("statistic", "--probability", ("0.5",), False))
    assert (p.target, p.goto, p.target_args) == ("KUBE-SEP", True, ("--extra",))
