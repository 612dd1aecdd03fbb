"""A rule someone adds inside libvirt's containers after migrate made its plan and before the
step that removes them acts (the check-then-act gap) is never deleted unseen: the migration
stops before the step (the fingerprint is compared after the step's intent is on disk, right
before it acts), rolls back everything else, and the rule is still there.

The rule is added by a shell command the test hook runs at the step's "before" boundary
(tests/crashpoint.py). Underneath, the removal itself names every rule it deletes (never a
flush): a chain that holds a rule it does not name is not deleted, and the kernel refuses
that table's whole transaction; the last test proves that on the kernel directly.
"""

from __future__ import annotations

import subprocess

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
    from tests.unit.schema_check import valid_envelope

    steps = valid_envelope(host.vnm("plan", "--format", "json", *args).stdout)["data"]["steps"]
    return next(s["index"] - 1 for s in steps if s["kind"] == kind)


def rolled_back_before(proc, step: int) -> None:
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert f"FAILED at step {step + 1}" in proc.stdout and "changed since the plan was made" in proc.stdout, proc.stdout
    assert "old state is verified back" in proc.stdout, proc.stdout


def test_rule_added_to_a_libvirt_chain_just_before_its_removal_survives(host):
    before = host.saves()
    removal = step_index(host, "ipt")
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
