"""Lab: the model's outputs load into a real kernel, and its forms agree with each other.

- nft text (``nft -f``) and libnftables JSON (``json_cmd``) give the same ruleset;
- loading networks one at a time, each time passing the live state, gives the same ruleset
  as loading them all at once (libvirt's own incremental start-up), for both backends;
- the iptables fragments load with ``iptables-restore --noflush``;
- what the kernel lists (nft JSON, iptables-save) has, chain by chain and in order, the
  comparison keys (`vnetmigrate.rules`' canonical forms) of the rules the model expects there.
"""

import contextlib
import json

import pytest

from vnetmigrate.libvirt import IptablesState, NftState, iptables_restore, nft_commands, nft_text
from vnetmigrate.libvirt.listing import expected_iptables, expected_nft
from vnetmigrate.rules.iptables import canonical as canonical_ipt
from vnetmigrate.rules.iptables_save import parse_save
from vnetmigrate.rules.nft import canonical as canonical_nft
from vnetmigrate.rules.nft import parse_statements

from .lab import netns
from .samples import bridges, sample_networks

pytestmark = pytest.mark.lab


@contextlib.contextmanager
def two_namespaces(networks):
    """Two fresh namespaces with the networks' bridges (the forward dev wan0 is matched by
    name, so it need not exist)."""
    with netns() as a, netns() as b:
        for ns in (a, b):
            for br in bridges(networks):
                ns.add_bridge(br)
        yield a, b


def test_nft_text_and_json_load_to_the_same_ruleset():
    nets = sample_networks()
    with two_namespaces(nets) as (a, b):
        a.nft_file(nft_text(nets, "11.3"))
        b.nft_json(nft_commands(nets, "11.3"))
        text_rules = a.ruleset()
        assert "snat to 203.0.113.10-203.0.113.20:2000-3000" in text_rules
        assert text_rules == b.ruleset()


def test_nft_incremental_equals_all_at_once():
    nets = sample_networks()
    with two_namespaces(nets) as (a, b):
        a.nft_file(nft_text(nets, "11.3"))
        for net in nets:
            live = json.loads(b.run("nft", "-j", "list", "ruleset").stdout)
            b.nft_json(nft_commands([net], "11.3", NftState.from_json(live)))
        assert a.ruleset() == b.ruleset()


@pytest.mark.parametrize("version", ["9.0", "11.3"])
def test_iptables_incremental_equals_all_at_once(version):
    nets = sample_networks()
    with two_namespaces(nets) as (a, b):
        for fam in (4, 6):
            a.restore(fam, iptables_restore(nets, version, fam))
        for net in nets:
            for fam in (4, 6):
                state = IptablesState.from_save(b.save(fam))
                fragment = iptables_restore([net], version, fam, state)
                if fragment:
                    b.restore(fam, fragment)
        assert a.save(4).count("\n-A ") > 20
        for fam in (4, 6):
            assert _rules(a.save(fam)) == _rules(b.save(fam))
        assert a.ruleset() == b.ruleset()


def _rules(save: str) -> list[str]:
    return [line for line in save.splitlines() if not line.startswith("#")]


def test_listed_nft_rules_have_the_model_keys():
    """The canonical form maps the kernel's JSON listing and the model's rules to the same keys,
    chain by chain in listing order (expected_nft)."""
    nets = sample_networks()
    with two_namespaces(nets) as (a, _b):
        a.nft_file(nft_text(nets, "11.3"))
        listed: dict = {}
        for item in json.loads(a.run("nft", "-j", "list", "ruleset").stdout)["nftables"]:
            if "rule" in item:
                r = item["rule"]
                listed.setdefault((r["family"], r["chain"]), []).append(canonical_nft(parse_statements(r["expr"])))
    expected = {k: [canonical_nft(r.exprs) for r in v] for k, v in expected_nft(nets, "11.3").items() if v}
    assert listed == expected


@pytest.mark.parametrize("version", ["9.0", "11.3"])
def test_saved_iptables_rules_have_the_model_keys(version):
    nets = sample_networks()
    with two_namespaces(nets) as (a, _b):
        for fam in (4, 6):
            a.restore(fam, iptables_restore(nets, version, fam))
        listed = {}
        for fam in (4, 6):
            for rule in parse_save(a.save(fam), f"ipv{fam}", "nft").rules():
                listed.setdefault((fam, rule.table, rule.chain), []).append(rule.canon())
    expected = {k: [canonical_ipt(r.spec, k[0]) for r in v]
                for k, v in expected_iptables(nets, version).items() if v}
    assert listed == expected
