"""`plan` predicts what `migrate` would refuse: someone else's chain named LIBVIRT_*, or a rule
libvirt does not create inside one of libvirt's chains or tables. The migration keeps them
(they are not libvirt's), so its final check that nothing of the old backend is left would fail
and roll back every time. Plan and migrate name them in a forcible blocker; forced, migrate
keeps them as they are and accepts exactly them.
"""

from __future__ import annotations

import pytest

from tests.lab.test_migrate import Host
from tests.lab.txn_support import ns_run
from tests.unit.schema_check import valid_envelope

pytestmark = pytest.mark.lab
BLOCKER = "foreign-in-libvirt-chains"
CUSTOM = ["-N LIBVIRT_CUSTOM", "-A LIBVIRT_CUSTOM -s 10.9.9.9/32 -j ACCEPT", "-I FORWARD -j LIBVIRT_CUSTOM"]
IN_FWO = ["-A LIBVIRT_FWO -s 10.9.9.9/32 -j ACCEPT"]


@pytest.fixture
def host(lab, tmp_path):
    return Host(lab, tmp_path)


def blocker(host, *args: str) -> dict:
    proc = host.vnm("plan", "--format", "json", *args)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    found = {b["id"]: b for b in valid_envelope(proc.stdout)["data"]["blockers"]}
    assert BLOCKER in found, found
    assert found[BLOCKER]["forcible"]
    return found[BLOCKER]


@pytest.mark.parametrize("lines,named", [(CUSTOM, "chain LIBVIRT_CUSTOM is named like libvirt's"),
                                         (IN_FWO, "LIBVIRT_FWO holds `-A LIBVIRT_FWO -s 10.9.9.9/32 -j ACCEPT`")],
                         ids=["chain-named-LIBVIRT", "rule-in-libvirt-chain"])
def test_plan_names_what_migrate_must_keep_and_forced_migrate_keeps_it(host, lines, named):
    for line in lines:
        host.lab.iptables(*line.split())
    found = blocker(host)
    assert named in found["title"] and "move the rule" in found["title"] and f"--force {BLOCKER}" in found["title"]
    before = host.state_now()
    refused = host.vnm("migrate", "--no-restart")
    assert refused.returncode == 4 and BLOCKER in refused.stdout, refused.stdout
    assert host.state_now() == before
    forced = host.vnm("migrate", "--no-restart", "--force", BLOCKER)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    ipv4 = host.saves()[4].splitlines()
    assert "-A LIBVIRT_CUSTOM -s 10.9.9.9/32 -j ACCEPT" in ipv4 or "-A LIBVIRT_FWO -s 10.9.9.9/32 -j ACCEPT" in ipv4
    kept_chains = {ln.split()[0][1:] for ln in ipv4 if ln.startswith(":LIBVIRT_")}
    assert kept_chains == ({"LIBVIRT_CUSTOM"} if lines is CUSTOM else {"LIBVIRT_FWO"})
    assert [ln for ln in ipv4 if ln.startswith("-A LIBVIRT_")] == [lines[1] if lines is CUSTOM else lines[0]]
    assert host.lab.ping().ok and host.lab.tcp().ok


def test_back_to_iptables_names_a_rule_in_libvirt_nftables_table_and_forced_keeps_it(host):
    assert host.vnm("migrate", "--no-restart").returncode == 0
    ns_run(host.lab.host, ["nft", "add", "rule", "ip", "libvirt_network", "guest_output", "ip", "saddr", "10.9.9.9",
                           "accept"])
    found = blocker(host, "--to", "iptables")
    assert "ip libvirt_network guest_output holds `ip saddr 10.9.9.9 accept`" in found["title"], found["title"]
    forced = host.vnm("migrate", "--to", "iptables", "--no-restart", "--force", BLOCKER)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    table = ns_run(host.lab.host, ["nft", "list", "table", "ip", "libvirt_network"])
    assert "ip saddr 10.9.9.9 accept" in table and "masquerade" not in table
    assert host.lab.ping().ok and host.lab.tcp().ok
