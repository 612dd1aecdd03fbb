"""The recorded backend switches of real libvirt 11.3 and 12.9 (tests/data/libvirt/*-switch*):
ownership of what each side of the switch leaves in the kernel, and the rules/recipes libvirt
re-applied after its restart.

A restarted daemon re-applies its networks in hash-table order, random per process, so the
tests look for the start order that explains the recording (there must be exactly one
consistent set) instead of assuming one.
"""

from __future__ import annotations

import itertools
import json

import pytest

from tests.unit.builders import DEBIAN_13, make_evidence
from vnetmigrate.facts import build as build_facts
from vnetmigrate.libvirt import Backend, parse_network, parse_status
from vnetmigrate.facts.networks import model_view, read
from vnetmigrate.libvirt.listing import nft_listing_text
from vnetmigrate.libvirt.ownership import Owner
from vnetmigrate.libvirt.removal_model import expected_removals

from .corpus import NETWORKS, RECORDINGS
from .test_corpus import nft_tables

SCENARIOS = sorted(p.name for p in RECORDINGS.glob("*-switch*")) if RECORDINGS.is_dir() else []
pytestmark = pytest.mark.skipif(not SCENARIOS, reason="no recorded backend switch in tests/data/libvirt")


def scenario(name):
    return json.loads((RECORDINGS / name / "scenario.json").read_text())


def side_evidence(name: str, side: str, backend: str):
    base = RECORDINGS / name / side
    info = scenario(name)
    files = {"/etc/os-release": DEBIAN_13, "/etc/libvirt/network.conf": f'firewall_backend = "{backend}"\n'}
    for net in info["networks"]:
        files[f"/etc/libvirt/qemu/networks/{net}.xml"] = (NETWORKS / f"{net}.xml").read_text()
        status = base / "status" / f"{net}.xml"
        if status.is_file():
            files[f"/run/libvirt/network/{net}.xml"] = status.read_text()
    objects = [o for o in json.loads((base / "nft-ruleset.json").read_text())["nftables"] if "metainfo" not in o]
    ev = make_evidence(files=files, libvirt_version=f"{info['libvirt_version']}.0", nft_objects=tuple(objects),
                       ipv4_save=(base / "iptables-save.txt").read_text(),
                       ipv6_save=(base / "ip6tables-save.txt").read_text())
    return ev, build_facts(ev)


@pytest.mark.parametrize("name", SCENARIOS)
@pytest.mark.parametrize("side", ["before", "after"])
def test_ownership_of_each_side(name, side):
    info = scenario(name)
    backend = info[f"firewall_backend_{side}"]
    _ev, facts = side_evidence(name, side, backend)
    own, problems = facts.ownership.ownership, facts.ownership.notes
    assert problems == ()
    assert own.of(Owner.UNEXPECTED) == ()
    rules = own.of(Owner.EXPECTED, "rule")
    libvirt_objects = own.of(Owner.EXPECTED) + own.of(Owner.LEFTOVER)
    if name.endswith("-switch-no-act-csum") and side == "after":
        # the silent failure: networks active, no rules anywhere, recipes gone
        assert {m.network for m in own.missing} == set(info["networks"])
        assert all(m.backend is Backend.NFTABLES for m in own.missing)
        assert {i.network for i in rules} == {None}  # only the private chains' jumps
        return
    assert own.missing == ()
    assert {i.network for i in rules} - {None} == set(info["networks"])
    other = "iptables" if backend == "nftables" else "nftables"
    for item in libvirt_objects:
        in_other = item.where.startswith(("ip libvirt_network", "ip6 libvirt_network")) if other == "nftables" \
            else "LIBVIRT_" in item.where or "LIBVIRT_" in item.text
        if in_other:  # the other backend's containers stay behind, empty (docs/libvirt-rules.md §6)
            assert item.owner is Owner.LEFTOVER and (item.kind != "rule" or "jump" in item.reason), item
        else:
            assert item.owner is Owner.EXPECTED, item


@pytest.mark.parametrize("name", [s for s in SCENARIOS if scenario(s)["firewall_backend_after"] == "nftables"
                                  and not s.endswith("-switch-no-act-csum")])
def test_restart_reapplies_as_the_model_says_in_some_order(name):
    info = scenario(name)
    base = RECORDINGS / name / "after"
    nets = [parse_network((NETWORKS / f"{n}.xml").read_text(), n) for n in info["networks"]]
    recipes = {n: parse_status((base / "status" / f"{n}.xml").read_text(), n).removal for n in info["networks"]}
    listing = nft_tables((base / "nft-ruleset.nft").read_text(), "libvirt_network")
    orders = [order for order in itertools.permutations(nets)
              if expected_removals(order, info["libvirt_version"], "nftables") == recipes
              and nft_listing_text(order, info["libvirt_version"]) == listing]
    assert len(orders) == 1


def test_host_networks_backend_rules():
    """No recipe: libvirt <= 10.3 means iptables; a newer libvirt means its current backend."""
    name = "11.3-switch-no-act-csum"
    if name not in SCENARIOS:
        pytest.skip("scenario not recorded")
    ev, _facts = side_evidence(name, "after", "nftables")
    view = model_view(read(ev), (11, 3, 0), "nftables")
    assert view.problems == () and view.known == ()
    assert {(n.name, b) for n, b in view.pairs} == {(n, Backend.NFTABLES) for n in scenario(name)["networks"]}
    assert {b for _n, b in model_view(read(ev), (10, 0, 0), None).pairs} == {Backend.IPTABLES}
