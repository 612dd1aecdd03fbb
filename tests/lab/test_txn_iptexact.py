"""The removal of iptables-nft rules by nftables handle (txn/iptexact.py) against the kernel:
it leaves exactly the ruleset the `-D` fragment it replaces leaves, and it refuses whole
(nothing changed) over a rule it was not planned with, a rule changed in place, a commit after
its own check, or listings of another generation than the plan's."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lab.txn_support import namespace, ns_run, skip_unless_lab

pytestmark = pytest.mark.lab

# libvirt's chains with a duplicate rule, a foreign rule in a built-in chain around the jumps,
# a chain kept (someone else's rule in it), and rules nft prints in its own words.
RULES = """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:LIBVIRT_FWX - [0:0]
:LIBVIRT_FWO - [0:0]
:LIBVIRT_INP - [0:0]
-A INPUT -j LIBVIRT_INP
-A FORWARD -i eth9 -m comment --comment "two words" -j ACCEPT
-A FORWARD -j LIBVIRT_FWX
-A FORWARD -j LIBVIRT_FWO
-A LIBVIRT_FWX -i virbr0 -o virbr0 -j ACCEPT
-A LIBVIRT_FWX -i virbr0 -o virbr0 -j ACCEPT
-A LIBVIRT_FWO -s 192.168.122.0/24 -i virbr0 -j ACCEPT
-A LIBVIRT_FWO -i virbr0 -j REJECT --reject-with icmp-port-unreachable
-A LIBVIRT_INP -i virbr0 -p udp -m udp --dport 53 -j ACCEPT
-A LIBVIRT_INP -s 10.1.1.1/32 -j ACCEPT
COMMIT
*mangle
:POSTROUTING ACCEPT [0:0]
:LIBVIRT_PRT - [0:0]
-A POSTROUTING -j LIBVIRT_PRT
-A LIBVIRT_PRT -o virbr0 -p udp -m udp --dport 68 -j CHECKSUM --checksum-fill
COMMIT
"""
FOREIGN = "-A LIBVIRT_INP -s 10.1.1.1/32 -j ACCEPT"  # not libvirt's: LIBVIRT_INP stays with it


def removal(ns: str) -> tuple[str, object, tuple[int, int]]:
    """The `-D` fragment a migration makes for RULES, the `-S` listings it is made from, and
    the generation they were listed at."""
    from vnetmigrate.netns import entered
    from vnetmigrate.rules.iptables_save import parse_save
    from vnetmigrate.txn import build, nftgen

    with entered(ns):
        gen = nftgen.current()
    save = parse_save(ns_run(ns, ["iptables-nft-save"]), "ipv4", "nft")
    rules = {c.name: [r.text for r in c.rules] for c in save.chains()}
    fragment = build.ipt_chain_removal("filter", {c: rules[c] for c in ("LIBVIRT_FWX", "LIBVIRT_FWO")},
                                       {b: rules[b] for b in ("INPUT", "FORWARD", "OUTPUT")})
    ours = "".join(f"-D{ln[2:]}\n" for ln in rules["LIBVIRT_INP"] if ln != FOREIGN)
    fragment = fragment.replace("COMMIT\n", ours + "COMMIT\n") + build.ipt_chain_removal(
        "mangle", {"LIBVIRT_PRT": rules["LIBVIRT_PRT"]}, {"POSTROUTING": rules["POSTROUTING"]})
    return fragment, save, gen


def exact_step(ns: str, fragment: str, save, gen):
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import iptexact, steps

    with entered(ns):
        made = iptexact.exact_removal(fragment, "ipv4", save, gen)
    assert made is not None
    commands, expected = made
    return steps.NftStep(title="remove", commands=commands, exact=True, expected=expected)


@pytest.fixture
def ns():
    skip_unless_lab()
    with namespace() as name:
        ns_run(name, ["iptables-nft-restore"], input=RULES)
        yield name


def test_by_handle_leaves_what_the_fragment_leaves(ns):
    from vnetmigrate.netns import entered

    fragment, save, gen = removal(ns)
    step = exact_step(ns, fragment, save, gen)
    assert sum("rule" in c["delete"] for c in step.commands) == fragment.count("\n-D ")
    with entered(ns):
        step.apply(Path("/"))
    by_handle = ns_run(ns, ["iptables-nft-save"])
    with namespace() as other:  # the same rules, removed by specification
        ns_run(other, ["iptables-nft-restore"], input=RULES)
        ns_run(other, ["iptables-nft-restore", "--noflush"], input=fragment)
        by_spec = ns_run(other, ["iptables-nft-save"])
    strip = lambda text: [ln for ln in text.splitlines() if not ln.startswith("#")]  # noqa: E731
    assert strip(by_handle) == strip(by_spec)
    assert "LIBVIRT_FWX" not in by_handle and FOREIGN in by_handle and "two words" in by_handle


@pytest.mark.parametrize("late", [
    ["iptables-nft", "-A", "LIBVIRT_FWO", "-s", "10.9.9.9/32", "-j", "ACCEPT"],   # a rule nobody named
    ["iptables-nft", "-R", "FORWARD", "2", "-j", "DROP"],                       # libvirt's jump replaced in place
    ["iptables-nft", "-D", "LIBVIRT_FWX", "1"],                                  # a rule gone
])
def test_a_change_after_the_plan_refuses_it_whole(ns, late):
    from vnetmigrate.netns import entered
    from vnetmigrate.txn.kernel import NothingChanged

    fragment, save, gen = removal(ns)
    step = exact_step(ns, fragment, save, gen)
    ns_run(ns, late)
    before = ns_run(ns, ["nft", "list", "ruleset"])
    with entered(ns), pytest.raises(NothingChanged, match="not as the plan saw it"):
        step.apply(Path("/"))
    assert ns_run(ns, ["nft", "list", "ruleset"]) == before


def test_a_commit_after_the_check_makes_the_kernel_refuse_it(ns):
    """The batch carries the generation its check saw (NFNL_BATCH_GENID): any commit after the
    check, here a rule added right before the batch, and the kernel refuses all of it."""
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import iptexact, nfdelete
    from vnetmigrate.txn.kernel import NothingChanged

    fragment, save, gen = removal(ns)
    step = exact_step(ns, fragment, save, gen)
    with entered(ns):
        checked = iptexact.check(step.expected)
    ns_run(ns, ["nft", "add table inet elsewhere"])  # nowhere near libvirt's chains
    before = ns_run(ns, ["nft", "list", "ruleset"])
    with entered(ns), pytest.raises(NothingChanged, match="changed after this change was checked"):
        nfdelete.delete_exactly(step.commands, checked)
    assert ns_run(ns, ["nft", "list", "ruleset"]) == before
    with entered(ns):
        nfdelete.delete_exactly(step.commands, iptexact.check(step.expected))  # checked afresh: done
    assert "LIBVIRT_FWX" not in ns_run(ns, ["iptables-nft-save"])


def test_listings_of_another_generation_keep_the_fragment(ns):
    """Handles are taken by position only from listings of the generation the `-S` listings
    were made at: after any commit in between, there is no exact removal (the plan keeps the
    `-D` fragment, which deletes by specification)."""
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import iptexact, steps
    from vnetmigrate.txn.snapshot import Touched

    fragment, save, gen = removal(ns)
    ns_run(ns, ["nft", "add table inet elsewhere"])
    ipt = steps.ipt("remove", "ipv4", fragment, [("filter", "LIBVIRT_FWX")])
    plan = steps.Plan("p", (ipt,))
    with entered(ns):
        assert iptexact.exact_removal(fragment, "ipv4", save, gen) is None
        assert iptexact.exact_plan(plan, [save], gen) is plan
        now = iptexact.exact_plan(plan, [save], gen[:1] + (gen[1] + 1,))
    assert [s.kind for s in now.steps] == ["nft"] and now.steps[0].touches == Touched(ipt_chains=ipt.touches.ipt_chains)


def _listed_rules_rule_by_rule(text: str):
    """iptexact.listed_rules as it was written before it cut counters from the whole text at
    once and kept its answers: each rule line matched, then its counters cut."""
    import re

    from vnetmigrate.txn import kernel

    out, inside = [], False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("chain ") and line.split(" # handle ")[0].endswith("{"):
            inside = True
            continue
        if not inside or not line or line.startswith(("type ", "policy ", "comment ")):
            continue
        if line == "}":
            inside = False
            continue
        m = re.match(r"^(.*) # handle (\d+)$", line)
        if m is None:
            return None
        out.append((int(m.group(2)), kernel.without_counters(m.group(1))))
    return out


def test_listed_rules_equal_the_rule_by_rule_reading_on_kernel_listings(ns):
    """Every chain of both tables, with packets counted (counters that are not 0), comments
    holding counter-like words, a chain comment: the same (handle, text) pairs, also when the
    answer is asked for again (kept) and after the kept answer's list was changed by a caller."""
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import iptexact, kernel

    ns_run(ns, ["iptables-nft", "-A", "LIBVIRT_FWO", "-m", "comment", "--comment",
                "counter packets 5 bytes 6 # handle 7", "-j", "ACCEPT"])
    ns_run(ns, ["nft", "add", "chain", "ip", "filter", "LIBVIRT_NOTE", "{", "comment", '"a note"', ";", "}"])
    ns_run(ns, ["nft", "add", "rule", "ip", "filter", "LIBVIRT_NOTE", "counter", "accept"])
    ns_run(ns, ["iptables-nft", "-A", "LIBVIRT_FWO", "-c", "5", "300", "-i", "virbr9", "-j", "ACCEPT"])
    compared = 0
    with entered(ns):
        for c in kernel.chains():
            text = kernel.nft_list_text(f"chain {c['family']} {c['table']} {c['name']}", json_output=False,
                                        handles=True)
            want = _listed_rules_rule_by_rule(text)
            first = iptexact.listed_rules(text)
            assert first == want, c
            if first:
                first.pop()
            assert iptexact.listed_rules(text) == want, c
            compared += len(want or ())
        counted = kernel.nft_list_text("chain ip filter LIBVIRT_FWO", json_output=False, handles=True)
    assert "counter packets 5 bytes 300 " in counted  # counters that are not 0 were cut alike
    assert compared >= 12
