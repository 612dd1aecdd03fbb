"""Removal recipes: predicted from the model, and matched against live kernel listings.

The handles a fresh kernel gives libvirt's rules are what expected_removals() predicts, so
every action of every predicted recipe refers to a live rule; after a rule is deleted by
hand its action is reported missing. (Real recipes are compared with the prediction in
test_corpus.py.)
"""

import json

import pytest

from vnetmigrate.libvirt import iptables_restore, match_removal, nft_text
from vnetmigrate.libvirt.recipe import MISSING, PRESENT, UNCHECKED
from vnetmigrate.libvirt.removal_model import expected_removals

from .lab import netns
from .samples import bridges, sample_networks

pytestmark = pytest.mark.lab


def test_nft_recipes_refer_to_live_rules_by_handle():
    nets = sample_networks()
    with netns() as ns:
        for br in bridges(nets):
            ns.add_bridge(br)
        ns.nft_file(nft_text(nets, "11.3"))
        listing = json.loads(ns.run("nft", "-j", "-a", "list", "ruleset").stdout)
        recipes = expected_removals(nets, "11.3", "nftables")
        victim = recipes["a"].actions[0].nft_rule_ref
        ns.run("nft", "delete", "rule", *victim[:3], "handle", str(victim[3]))
        after = json.loads(ns.run("nft", "-j", "-a", "list", "ruleset").stdout)
    for name, recipe in recipes.items():
        matches = match_removal(recipe, nft_json=listing)
        nft = [m for m in matches if m.action.layer != "tc"]
        assert nft and all(m.status == PRESENT for m in nft), name
        assert [m.status for m in matches if m.action.layer == "tc"] == [UNCHECKED]
        for m in nft:  # the handle found is in the chain the action names
            assert m.live["chain"] == m.action.nft_rule_ref[2]
    statuses = [m.status for m in match_removal(recipes["a"], nft_json=after)]
    assert statuses[0] == MISSING and statuses[1:-1] == [PRESENT] * (len(statuses) - 2)


def test_iptables_recipes_refer_to_live_rules():
    nets = sample_networks()
    with netns() as ns:
        for br in bridges(nets):
            ns.add_bridge(br)
        for fam in (4, 6):
            ns.restore(fam, iptables_restore(nets, "11.3", fam))
        ns.run("iptables-nft", "-t", "nat", "-D", "LIBVIRT_PRT", "-s", "10.11.0.0/24", "-d", "224.0.0.0/24",
               "-o", "wan0", "-j", "RETURN")
        saves = {4: ns.save(4), 6: ns.save(6)}
    recipes = expected_removals(nets, "11.3", "iptables")
    missing = []
    for name, recipe in recipes.items():
        for m in match_removal(recipe, iptables_save=saves):
            assert m.status in (PRESENT, MISSING)
            if m.status == MISSING:
                missing.append((name, m.action.iptables_table, m.action.iptables_chain,
                                "224.0.0.0/24" in m.action.args))
            else:
                assert m.live.table == m.action.iptables_table and m.live.chain == m.action.iptables_chain
    assert missing == [("a", "nat", "LIBVIRT_PRT", True)]
    assert all(m.status == UNCHECKED for m in match_removal(recipes["a"]))
