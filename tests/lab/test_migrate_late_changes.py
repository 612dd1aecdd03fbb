"""A rule someone adds inside libvirt's containers after migrate made its plan and before the
step that removes them acts (the check-then-act gap) is never deleted unseen, at any moment.

Added before the step's fingerprint check (the "before" boundary, tests/crashpoint.py): the
migration stops before the step, rolls back everything else, and the rule is still there.
Added after that check, right before the step's kernel transaction (the "checked" boundary):
the removal itself names every object it deletes and lets the kernel refuse the whole
transaction over anything else — nftables: rules by handle, then chains and tables with
NLM_F_NONREC (vnetmigrate/txn/nfdelete.py; `nft delete chain` alone is recursive);
iptables-nft the same way (txn/iptexact.py), after the step compared the chains it deletes
with what the plan saw, in a batch carrying the generation of that comparison (anything
committed after it makes the kernel refuse the batch). Without a proof that its handles are
the plan's, iptables rules are deleted by their exact specification, then `-X` (EBUSY on a
chain that still holds a rule). The step fails, the migration rolls back, the rule survives.
The last tests prove each on the kernel directly.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.lab.test_migrate import Host
from tests.lab.txn_support import ns_run

pytestmark = pytest.mark.lab
LATE_IPT = "-A LIBVIRT_FWO -s 10.9.9.9/32 -j ACCEPT"
LATE_NFT = "ip libvirt_network guest_output ip saddr 10.9.9.9 accept"


@pytest.fixture
def host(lab, tmp_path):
    return Host(lab, tmp_path)


def step_index(host, kind: str, *args: str) -> int:
    """The first step of `kind` that removes something (the removal of the backend left)."""
    from tests.unit.schema_check import valid_envelope

    steps = valid_envelope(host.vnm("plan", "--format", "json", *args).stdout)["data"]["steps"]
    return next(s["index"] - 1 for s in steps if s["kind"] == kind and s["title"].startswith("remove"))


def rolled_back_before(proc, step: int) -> None:
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert f"FAILED at step {step + 1}" in proc.stdout and "changed since the plan was made" in proc.stdout, proc.stdout
    assert "old state is verified back" in proc.stdout, proc.stdout


def test_rule_added_to_a_libvirt_chain_just_before_its_removal_survives(host):
    before = host.saves()
    removal = step_index(host, "nft")
    proc = host.vnm("migrate", "--no-restart", meddle=(f"{removal}:before", f"iptables-nft {LATE_IPT}"))
    rolled_back_before(proc, removal)
    after = host.saves()
    assert LATE_IPT in after[4].splitlines()
    assert sorted(after[4].splitlines()) == sorted(before[4].splitlines() + [LATE_IPT])
    assert "libvirt_network" not in ns_run(host.lab.host, ["nft", "list", "tables"])  # step 1 undone


def test_rule_added_to_libvirt_nftables_table_just_before_its_removal_survives(host):
    assert host.vnm("migrate", "--no-restart").returncode == 0
    migrated = host.saves()
    removal = step_index(host, "nft", "--to", "iptables")
    proc = host.vnm("migrate", "--to", "iptables", "--no-restart", meddle=(f"{removal}:before", f"nft add rule {LATE_NFT}"))
    rolled_back_before(proc, removal)
    chain = ns_run(host.lab.host, ["nft", "list", "chain", "ip", "libvirt_network", "guest_output"])
    assert "ip saddr 10.9.9.9 accept" in chain
    assert host.saves() == migrated  # the iptables rules steps 1-2 added are gone again


def refused_at_the_step(proc, step: int, words: str) -> None:
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert f"FAILED at step {step + 1}" in proc.stdout and words in proc.stdout, proc.stdout
    assert "changed since the plan was made" not in proc.stdout  # the fingerprint saw nothing: too early
    assert "old state is verified back" in proc.stdout, proc.stdout


def test_rule_added_to_a_libvirt_chain_after_the_fingerprint_check_survives(host):
    before = host.saves()
    removal = step_index(host, "nft")
    proc = host.vnm("migrate", "--no-restart", meddle=(f"{removal}:checked", f"iptables-nft {LATE_IPT}"))
    refused_at_the_step(proc, removal, "is not as the plan saw it")
    after = host.saves()
    assert sorted(after[4].splitlines()) == sorted(before[4].splitlines() + [LATE_IPT])
    assert "libvirt_network" not in ns_run(host.lab.host, ["nft", "list", "tables"])


def test_rule_added_to_libvirt_nftables_table_after_the_fingerprint_check_survives(host):
    assert host.vnm("migrate", "--no-restart").returncode == 0
    migrated = host.saves()
    removal = step_index(host, "nft", "--to", "iptables")
    proc = host.vnm("migrate", "--to", "iptables", "--no-restart", meddle=(f"{removal}:checked", f"nft add rule {LATE_NFT}"))
    refused_at_the_step(proc, removal, "it holds something this change does not name")
    chain = ns_run(host.lab.host, ["nft", "list", "chain", "ip", "libvirt_network", "guest_output"])
    assert "ip saddr 10.9.9.9 accept" in chain
    assert host.saves() == migrated


def test_nft_removal_is_refused_whole_over_an_unseen_rule_or_chain(lab):
    """nfdelete.delete_exactly against the kernel: what libnftables' `delete chain` would take
    along (a rule, a chain added after the commands were made) makes the kernel refuse the
    whole batch; with nothing unseen, it deletes."""
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import nfdelete
    from vnetmigrate.txn.kernel import KernelError

    lab.nft("table ip t {\n chain a {\n ip saddr 1.1.1.1 accept\n jump b\n }\n chain b {\n ip saddr 2.2.2.2 accept\n }\n"
            " chain base {\n type filter hook forward priority 0;\n jump a\n }\n}\n")
    listing = json.loads(ns_run(lab.host, ["nft", "-j", "-a", "list", "table", "ip", "t"]))["nftables"]
    rules = [{"delete": {"rule": {k: r["rule"][k] for k in ("family", "table", "chain", "handle")}}}
             for r in listing if "rule" in r]
    cmds = rules + [{"delete": {"chain": {"family": "ip", "table": "t", "name": c}}} for c in ("a", "b", "base")] + \
        [{"delete": {"table": {"family": "ip", "name": "t"}}}]
    for late, undo in (("add rule ip t b ip saddr 9.9.9.9 accept", None), ("add chain ip t late", "delete chain ip t late")):
        lab.nft(late)
        before = ns_run(lab.host, ["nft", "list", "ruleset"])
        with entered(lab.host), pytest.raises(KernelError, match="holds something this change does not name"):
            nfdelete.delete_exactly(cmds)
        assert ns_run(lab.host, ["nft", "list", "ruleset"]) == before
        if undo:
            lab.nft(undo)
    lab.nft("delete rule ip t b handle " + ns_run(lab.host, ["nft", "-a", "list", "chain", "ip", "t", "b"])
            .split("9.9.9.9 accept # handle ")[1].split()[0])
    with entered(lab.host):
        nfdelete.delete_exactly(cmds)
    assert "table ip t" not in ns_run(lab.host, ["nft", "list", "tables"])


def test_chain_removal_names_its_rules_so_the_kernel_refuses_it_over_an_unseen_one(lab):
    """build.ipt_chain_removal against the kernel: a rule added after the fragment was made
    keeps its chain and the jump to it, and nothing of that table's fragment happens."""
    from vnetmigrate.txn import build

    lab.iptables_restore("*filter\n:LIBVIRT_FWO - [0:0]\n-A FORWARD -j LIBVIRT_FWO\n"
                         "-A LIBVIRT_FWO -i virbr0 -s 192.168.122.0/24 -j ACCEPT\nCOMMIT\n")
    rules = lab.iptables("-S", "LIBVIRT_FWO").stdout.splitlines()
    fragment = build.ipt_chain_removal("filter", {"LIBVIRT_FWO": rules},
                                       {"FORWARD": lab.iptables("-S", "FORWARD").stdout.splitlines()})
    assert "-F" not in fragment.split()
    lab.iptables("-A", "LIBVIRT_FWO", "-s", "10.9.9.9/32", "-j", "ACCEPT")
    before = lab.iptables_save(family=4)
    refused = subprocess.run(["ip", "netns", "exec", lab.host, "iptables-nft-restore", "--noflush"], input=fragment,
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "Device or resource busy" in refused.stderr, refused.stderr
    assert lab.iptables_save(family=4) == before
    lab.iptables("-D", "LIBVIRT_FWO", "-s", "10.9.9.9/32", "-j", "ACCEPT")
    subprocess.run(["ip", "netns", "exec", lab.host, "iptables-nft-restore", "--noflush"], input=fragment,
                   check=True, capture_output=True, text=True)
    assert "LIBVIRT_FWO" not in lab.iptables_save(family=4)


def test_an_ipt_step_changes_table_by_table_and_says_which_changed(lab):
    """Each COMMIT block is its own kernel transaction: a late rule in the first table's chain
    refuses the step with nothing changed (no undo), one in a later table's chain leaves the
    earlier tables changed and says which (only they are restored by the rollback)."""
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import build, kernel, steps

    lab.iptables_restore("*filter\n:LIBVIRT_FWO - [0:0]\n-A FORWARD -j LIBVIRT_FWO\n-A LIBVIRT_FWO -i virbr0 -j ACCEPT\n"
                         "COMMIT\n*nat\n:LIBVIRT_PRT - [0:0]\n-A POSTROUTING -j LIBVIRT_PRT\n"
                         "-A LIBVIRT_PRT -s 192.168.122.0/24 -j MASQUERADE\nCOMMIT\n")
    fragment = "".join(build.ipt_chain_removal(t, {c: lab.iptables("-t", t, "-S", c).stdout.splitlines()},
                                               {b: lab.iptables("-t", t, "-S", b).stdout.splitlines()})
                       for t, c, b in (("filter", "LIBVIRT_FWO", "FORWARD"), ("nat", "LIBVIRT_PRT", "POSTROUTING")))
    step = steps.ipt("remove", "ipv4", fragment, [("filter", "LIBVIRT_FWO"), ("nat", "LIBVIRT_PRT")])
    lab.iptables("-A", "LIBVIRT_FWO", "-s", "10.9.9.9/32", "-j", "ACCEPT")
    before = lab.iptables_save(family=4)
    with entered(lab.host), pytest.raises(kernel.NothingChanged):
        step.apply(Path("/"))
    assert lab.iptables_save(family=4) == before
    lab.iptables("-D", "LIBVIRT_FWO", "-s", "10.9.9.9/32", "-j", "ACCEPT")
    lab.iptables("-t", "nat", "-A", "LIBVIRT_PRT", "-s", "10.9.9.9/32", "-j", "RETURN")
    with entered(lab.host), pytest.raises(kernel.PartlyChanged) as partly:
        step.apply(Path("/"))
    assert partly.value.changed.ipt_chains == (("ipv4", "filter", "LIBVIRT_FWO"),)
    after = lab.iptables_save(family=4)
    assert "LIBVIRT_FWO" not in after and "-A LIBVIRT_PRT -s 10.9.9.9/32 -j RETURN" in after
