"""The verification's expected `nft list` lines write each distinct statement once
(txn/livecheck._ListedWords): the lines must be exactly those of libvirt.listing's
listed_rule_text, rule by rule, for every kind of network the model knows and every release."""

from pathlib import Path

import pytest

from vnetmigrate.libvirt import parse_network, parse_status
from vnetmigrate.libvirt.listing import expected_nft, listed_rule_text
from vnetmigrate.libvirt.versions import get_version
from vnetmigrate.txn import livecheck

DATA = Path(__file__).resolve().parents[1] / "data" / "libvirt"

KINDS = [
    "<network><name>nat</name><forward mode='nat'/><bridge name='lvnat'/>"
    "<ip address='10.70.0.1' netmask='255.255.255.0'/></network>",
    "<network><name>natports</name><forward mode='nat'><nat><port start='20000' end='29999'/></nat></forward>"
    "<bridge name='lvports'/><ip address='10.70.1.1' netmask='255.255.255.0'/></network>",
    "<network><name>natrange</name><forward mode='nat'><nat><address start='192.0.2.10' end='192.0.2.20'/>"
    "</nat></forward><bridge name='lvrange'/><ip address='10.70.6.1' netmask='255.255.255.0'/></network>",
    "<network><name>nat6</name><forward mode='nat'><nat ipv6='yes'/></forward><bridge name='lvnat6'/>"
    "<ip address='10.70.2.1' netmask='255.255.255.0'/><ip family='ipv6' address='fd00:70:2::1' prefix='64'/>"
    "</network>",
    "<network><name>routed</name><forward mode='route'/><bridge name='lvroute'/>"
    "<ip address='10.70.3.1' netmask='255.255.255.0'/><ip family='ipv6' address='fd00:70:3::1' prefix='64'/>"
    "</network>",
    "<network><name>isolated</name><bridge name='lviso'/><ip address='10.70.4.1' netmask='255.255.255.0'/>"
    "<ip family='ipv6' address='fd00:70:4::1' prefix='128'/></network>",
    "<network><name>open</name><forward mode='open'/><bridge name='lvopen'/>"
    "<ip address='10.70.5.1' netmask='255.255.255.255'/></network>",
]


def _recorded_networks() -> list:
    nets = []
    for path in sorted(DATA.glob("*/*/status/*.xml")):
        try:
            nets.append(parse_status(path.read_text()).network)
        except Exception:  # a recording of a broken status file: not a network the model writes
            continue
    return nets


def _exact(nets: list, version: str) -> list[str]:
    """The lines as listed_rule_text writes them, one rule at a time (what _ListedWords replaces)."""
    return sorted(f"{fam} {chain} {listed_rule_text(r)}" for (fam, chain), rules in
                  expected_nft(nets, get_version(version)).items() for r in rules)


@pytest.mark.parametrize("version", ["10.4", "10.9", "11.3", "12.9"])
def test_expected_lines_are_listed_rule_text_of_every_rule(version):
    nets = [parse_network(x) for x in KINDS] + _recorded_networks()
    lines = livecheck.expected_nft_lines_of(nets, version)
    assert lines == _exact(nets, version)
    assert len(lines) > 60  # every kind wrote rules


def test_a_statement_written_once_serves_every_rule_holding_it():
    nets = [parse_network(x) for x in KINDS]
    words = livecheck._ListedWords()
    rules = [r for rs in expected_nft(nets, get_version("11.3")).values() for r in rs]
    assert [words.rule(r.exprs) for r in rules] == [listed_rule_text(r) for r in rules]
    assert len(words._words) < sum(len(r.exprs) for r in rules) / 2  # shared, not one per statement
