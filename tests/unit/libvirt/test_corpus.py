"""The model against the recordings of real libvirt 9.0 and 11.3 (no root needed).

For every recorded case and combination: the libvirt_network tables as nft lists them, every
rule of every chain of iptables-save/ip6tables-save (compared option by option, in listing
order), the removal recipe in each status file, and the tc commands libvirt ran, must be
exactly what the model predicts for the networks that started. The recording is the truth.
"""

from __future__ import annotations

import pytest

from vnetmigrate.libvirt import Backend, get_version, match_removal, nft_text, tc_commands
from vnetmigrate.libvirt.listing import expected_iptables, nft_listing_text
from vnetmigrate.rules.iptables import canonical
from vnetmigrate.rules.iptables_save import parse_save
from vnetmigrate.libvirt.recipe import PRESENT
from vnetmigrate.libvirt.removal_model import expected_removals
from vnetmigrate.libvirt.rules_common import firewalled
from vnetmigrate.libvirt.tc import qdisc_query

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
        assert recorded == nft_listing_text(rec.attempted, rec.version, rec.failed)
    else:
        assert recorded == ""


@pytest.mark.parametrize("rec", params())
@pytest.mark.parametrize("family,listing", [(4, "iptables-save.txt"), (6, "ip6tables-save.txt")])
def test_iptables_rules(rec, family, listing):
    got: dict[tuple[str, str], list] = {}
    for rule in parse_save(rec.text(listing), f"ipv{family}", "nft").rules():
        got.setdefault((rule.table, rule.chain), []).append(rule.canon())
    want: dict[tuple[str, str], list] = {}
    if rec.backend is Backend.IPTABLES:
        for (fam, table, chain), rules in expected_iptables(rec.attempted, rec.version, rec.failed).items():
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


@pytest.mark.parametrize("rec", params(lambda r: r.backend is Backend.NFTABLES))
def test_status_network_gives_the_same_rules(rec):
    """The <network> libvirt writes into its status file models to the same rules."""
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
    queries = [argv for how, argv in calls if argv[:2] == ("qdisc", "show")]
    changes = [argv for how, argv in calls if argv[:2] != ("qdisc", "show")]
    # the shim fakes exactly the csum filter, and runs everything else
    assert all((how == "faked") == (argv[0] == "filter") for how, argv in calls)
    if rec.backend is not Backend.NFTABLES:
        assert calls == []
        return
    model = tc_commands(rec.attempted, rec.version, failed=rec.failed)
    assert changes == model
    # libvirt asks for an existing root qdisc before each add
    assert queries == [qdisc_query(argv[3]) for argv in model if argv[:2] == ("qdisc", "add")]


@pytest.mark.parametrize("rec", params(lambda r: r.backend is Backend.IPTABLES and r.version != "9.0"))
def test_iptables_recipes_refer_to_recorded_rules(rec):
    """Every --delete of a real recipe names a rule of the recorded listing, and each a
    different one (a network's rules are all distinct)."""
    saves = {4: rec.text("iptables-save.txt"), 6: rec.text("ip6tables-save.txt")}
    for net in firewalled(rec.started):
        matches = match_removal(rec.status(net.name).removal, iptables_save=saves)
        assert matches and all(m.status == PRESENT for m in matches)
        assert len({(m.live.family, m.live.table, m.live.text) for m in matches}) == len(matches)


def test_nft_rules_kept_per_network_are_the_rules_built_afresh():
    """nft_rules.network_rules keeps each (network, release)'s rules for the process: what it
    returns, first and again, equals a fresh build for every recorded network and release, and
    each caller gets its own list."""
    from vnetmigrate.libvirt import nft_rules

    seen = 0
    for rec in (p.values[0] for p in params()):
        if not get_version(rec.version).supports(Backend.NFTABLES):
            continue
        version = get_version(rec.version, Backend.NFTABLES)
        for net in rec.attempted:
            fresh = nft_rules._network_rules(net, version)
            first = nft_rules.network_rules(net, version)
            first.append("a caller's own change")
            again = nft_rules.network_rules(net, version)
            assert again == fresh and first[:-1] == fresh and again is not first
            seen += bool(fresh)
    assert seen >= 5
