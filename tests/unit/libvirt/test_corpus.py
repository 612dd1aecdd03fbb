"""The model against the recordings of real libvirt 9.0 and 11.3 (no root needed).

For every recorded case and combination: the libvirt_network tables as nft lists them, every
rule of every chain of iptables-save/ip6tables-save (compared option by option, in listing
order), the removal recipe in each status file, and the tc commands libvirt ran, must be
exactly what the model predicts for the networks that started. The recording is the truth.
"""

from __future__ import annotations

import pytest

from vnetmigrate.libvirt import Backend, get_version, nft_text
from vnetmigrate.libvirt.ipt_canon import canonical, parse_save
from vnetmigrate.libvirt.listing import expected_iptables, nft_listing_text
from vnetmigrate.libvirt.removal_model import expected_removals
from vnetmigrate.libvirt.rules_common import firewalled
from vnetmigrate.libvirt.tc import checksum_filter, qdisc_add, qdisc_query

from .corpus import params


def nft_tables(text: str, name: str) -> str:
    """The top-level `table FAMILY NAME { ... }` blocks of a listing with this table name."""
    out, keep = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("table "):
            keep = line.split()[2] == name
        if keep:
            out.append(line)
        if line.rstrip() == "}":
            keep = False
    return "".join(out)


@pytest.mark.parametrize("rec", params())
def test_nft_tables(rec):
    recorded = nft_tables(rec.text("nft-ruleset.nft"), "libvirt_network")
    if rec.backend is Backend.NFTABLES:
        assert recorded == nft_listing_text(rec.started, rec.version)
    else:
        assert recorded == ""


@pytest.mark.parametrize("rec", params())
@pytest.mark.parametrize("family,listing", [(4, "iptables-save.txt"), (6, "ip6tables-save.txt")])
def test_iptables_rules(rec, family, listing):
    got: dict[tuple[str, str], list] = {}
    for rule in parse_save(rec.text(listing), family):
        got.setdefault((rule.table, rule.chain), []).append(rule.key)
    want: dict[tuple[str, str], list] = {}
    if rec.backend is Backend.IPTABLES:
        for (fam, table, chain), rules in expected_iptables(rec.started, rec.version).items():
            if fam == family and rules:
                want[(table, chain)] = [canonical(r.spec, family) for r in rules]
    assert got == want


@pytest.mark.parametrize("rec", params())
def test_removal_recipes(rec):
    version = get_version(rec.version)
    expected = expected_removals(rec.started, version, rec.backend)
    for net in rec.started:
        status = rec.status(net.name)
        assert status is not None, f"no status file for {net.name}"
        if version.removal_recipe and net.has_firewall:
            assert status.removal == expected[net.name]
        else:
            assert status.removal is None


@pytest.mark.parametrize("rec", params())
def test_status_network_gives_the_same_rules(rec):
    """The <network> libvirt writes into its status file models to the same rules."""
    if rec.backend is not Backend.NFTABLES:
        pytest.skip("checked once, with the nftables backend's text")
    for net in rec.started:
        status = rec.status(net.name)
        assert nft_text([status.network], rec.version) == nft_text([net], rec.version)


def tc_log(text: str | None) -> list[tuple[str, tuple[str, ...]]]:
    """(how, argv) per logged tc call: "faked" (the csum filter) or "ran" (real tc)."""
    calls = []
    for line in (text or "").splitlines():
        how, _, rest = line.partition(": ")
        calls.append((how, tuple(rest.rsplit(" -> exit ", 1)[0].split())))
    return calls


@pytest.mark.parametrize("rec", params())
def test_tc_commands(rec):
    calls = tc_log(rec.text("tc-shim.log"))
    want = []
    if rec.backend is Backend.NFTABLES and get_version(rec.version).nft_checksum == "tc":
        for net in firewalled(rec.started):
            want += [("ran", qdisc_query(net.bridge)), ("ran", qdisc_add(net.bridge)),
                     ("faked", checksum_filter(net.bridge))]
    assert calls == want
