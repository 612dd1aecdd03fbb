"""The Ansible collection (ansible/) run by the real engine (ansible-core) over SSH against a fleet of
eleven lab hosts, each with its own network namespace and address, its own mount namespace (its own
/etc/libvirt, /run/libvirt and /var/lib/vnetmigrate), host name and sshd (tests/lab/fleet.py).

The example playbook, ansible/playbooks/careful_migration.yml, must leave the healthy hosts
migrated and verified, the blocked ones untouched and reported, and the host that breaks half-way
(Docker starts on it right after its migration committed, and its FORWARD DROP cuts the guests
off under nftables) rolled back. What the playbook reports is checked against the hosts
themselves: network.conf, the kernel's rules and packets from each host's guest. Then the
modules alone: migrate is idempotent and refuses a held-back host in one line, rollback's check
mode.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time

import pytest

from tests.lab.conftest import _missing as lab_missing
from tests.lab.fleet import REPO, SSHD, Fleet, FleetHost, HostSpec
from tests.lab.txn_support import nft_view
from tests.sandbox import fixtures, namespaces
from tests.unit.schema_check import valid_envelope
from vnetmigrate import txnstore

pytestmark = pytest.mark.lab

# Inventory order is rollout order: h01 is the canary; the waves are 1, 25% and the rest of the
# hosts that pass the preflight, so the host that breaks (h09) is in the last, large wave.
SPECS = [
    HostSpec("h01"),
    HostSpec("h02"),
    HostSpec("h03", docker="drop+workaround"),   # Docker's DROP with the DOCKER-USER workaround: fine
    HostSpec("h04", docker="drop"),              # Docker's DROP alone: blocker docker-forward-drop
    HostSpec("h05", libvirt="11.3.0"),           # 11.x's nftables backend needs act_csum: this kernel lacks it
    HostSpec("h06"),
    HostSpec("h07", state="leftover"),          # libvirt's empty nftables table from an earlier switch: repaired first
    HostSpec("h08"),
    HostSpec("h09"),                             # breaks half-way (below)
    HostSpec("h10"),
    HostSpec("h11", libvirt="11.3.0", state="switched"),  # libvirt 11.3 switched itself and failed: guests cut off
]
HELD = {"h04": "docker-forward-drop", "h05": "nftables-prerequisites", "h11": "nftables-prerequisites"}
BROKEN = "h09"
PLAYBOOK = "ansible/playbooks/careful_migration.yml"


def ansible_ready() -> str | None:
    if not (REPO / ".venv/bin/ansible-playbook").exists():
        return "ansible-core is not installed in .venv (the test extras: ./bootstrap test)"
    if shutil.which(SSHD) is None or shutil.which("ssh") is None:
        return "OpenSSH's sshd and ssh are needed (apt-get install openssh-server openssh-client)"
    return None


def host_state(h: FleetHost) -> dict:
    saves = {f: re.sub(r"\[\d+:\d+\]", "[0:0]", h.lab.iptables_save(family=f)) for f in (4, 6)}
    return {"ipt": saves, "nft": nft_view(h.lab.host), "conf": h.network_conf.read_text()}


def break_after_commit(h: FleetHost, done: threading.Event, stop: threading.Event) -> None:
    """Docker starts on `h` right after its migration commits (as on a host where Docker comes up
    with the upgrade): its FORWARD DROP, without the DOCKER-USER workaround, drops guest traffic
    under libvirt's nftables backend. The check after the migration is what must catch it."""
    txn_root = h.state_dir / txnstore.TXN
    while not stop.is_set():
        for d in sorted(txn_root.glob("*")) if txn_root.is_dir() else ():
            try:
                summary = txnstore.read(d)
            except txnstore.StateDirError:
                continue  # being written
            if summary.begin.get("command") == "migrate" and summary.status == "committed":
                h.lab.iptables_restore(fixtures.DOCKER_28)
                done.set()
                return
        time.sleep(0.02)


def playbook_output(proc) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-12000:]}\n--- stderr\n{proc.stderr[-4000:]}"


def has_repair() -> bool:
    """Whether this tree's vnetmigrate has `repair` (the playbook repairs only with it; without
    it, a repair's dry run fails and fixes nothing)."""
    return subprocess.run([str(REPO / ".venv/bin/vnetmigrate"), "repair", "--help"], capture_output=True,
                          timeout=120).returncode == 0


@pytest.fixture(scope="module")
def fleet():
    reason = lab_missing() or ansible_ready()
    if reason:
        pytest.skip(reason)
    with Fleet(SPECS) as f:
        f.inventory_path = f.inventory(f.tmp / "inventory.yml", vnetmigrate_no_restart=True)
        yield f


def test_careful_rollout_over_ssh_migrates_holds_back_and_rolls_back(fleet):
    hosts = {h.name: h for h in fleet.hosts}
    # Each host's sshd (and what it runs) has a mount namespace of its own, not this one.
    mounts = {os.stat(f"/proc/{h.sshd.pid}/ns/mnt").st_ino for h in fleet.hosts}
    assert len(mounts) == len(SPECS) and os.stat("/proc/self/ns/mnt").st_ino not in mounts
    before = {name: host_state(h) for name, h in hosts.items()}
    assert [h.name for h in fleet.hosts if not h.lab.ping().ok] == ["h11"]  # its guests are cut off
    inventory = fleet.inventory_path
    report, scans = fleet.tmp / "summary.json", fleet.tmp / "scans"
    broke, stop = threading.Event(), threading.Event()
    watcher = threading.Thread(target=break_after_commit, args=(hosts[BROKEN], broke, stop), daemon=True)
    watcher.start()
    try:
        proc = fleet.ansible(["ansible-playbook", "-i", str(inventory), str(REPO / PLAYBOOK),
                              "-e", f"vnetmigrate_report={report} vnetmigrate_scans_dir={scans}"])
    finally:
        stop.set()
        watcher.join()
    out = playbook_output(proc)
    # The preflight shows each plan (--diff): network.conf's diff and the rules.
    assert '-firewall_backend = "iptables"\n+firewall_backend = "nftables"' in proc.stdout, out
    assert "+ 28 nftables commands\n- ipv4: 7 chains, 19 rules\n- ipv6: 7 chains\n" in proc.stdout, out
    assert broke.is_set(), out
    assert "Traceback" not in proc.stdout + proc.stderr and "Warning" not in proc.stderr, out
    # Exit 2: a host failed (h09, rolled back); the rollout went on because one host of the
    # last wave is below max_fail_percentage.
    assert proc.returncode == 2, out
    summary = json.loads(report.read_text())
    migrated = [n for n in hosts if n not in HELD and n != BROKEN]
    for name in migrated:
        expected = "repaired (libvirt-leftover-rules), " if name == "h07" else ""
        assert summary[name] == expected + "migrated to nftables, verified", (name, out)
    for name, blocker in HELD.items():
        assert summary[name].startswith(f"held back, untouched: {blocker} (scan: "), (name, out)
    assert summary["h11"].endswith("(scan: guests are broken now (no switch pending: network.conf pins libvirt "
                                   "to nftables))"), out
    assert summary[BROKEN].startswith("rolled back: verification failed: guests are broken now"), out
    assert "docker-forward-drop" in summary[BROKEN], out
    # Waves: the canary alone, then 25% of the hosts that passed the preflight, then the rest.
    waves = [sorted(re.findall(r"^changed: \[(h\d\d)\]", play.split("TASK [Migrate]")[1].split("\nTASK [")[0], re.M))
             for play in proc.stdout.split("PLAY [Migrate in waves")[1:]]
    assert waves == [["h01"], ["h02", "h03"], ["h06", "h07", "h08", "h09", "h10"]], out
    recap = dict(re.findall(r"^(h\d\d)\s+: (ok=.*)$", proc.stdout, re.M))
    assert {n for n, line in recap.items() if "failed=0" not in line} == {BROKEN}, out

    # The preflight's scans, one file per host on the controller, read as one fleet.
    read = subprocess.run([str(REPO / ".venv/bin/vnetmigrate"), "fleet", str(scans), "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    fleet_doc = valid_envelope(read.stdout, "fleet-v1")["data"]
    assert read.returncode == 4 and fleet_doc["host_count"] == len(SPECS), read.stdout[-3000:]
    assert fleet_doc["by_finding"]["libvirt-rules-missing"] == ["h11"], fleet_doc["by_finding"]

    # What the hosts say, not what the playbook said.
    for name in migrated:
        h = hosts[name]
        now = host_state(h)
        assert 'firewall_backend = "nftables"' in now["conf"], name
        assert {"ip libvirt_network", "ip6 libvirt_network"} <= set(now["nft"]), name
        assert "LIBVIRT" not in now["ipt"][4], name
        assert h.lab.ping().ok and h.lab.tcp().ok, name
    for name in HELD:
        assert host_state(hosts[name]) == before[name], name
        assert not hosts[name].state_dir.exists(), name  # not even a journal
    h = hosts[BROKEN]
    now = host_state(h)
    assert now["conf"] == before[BROKEN]["conf"]
    assert "ip libvirt_network" not in now["nft"] or not now["nft"]["ip libvirt_network"]
    libvirt_lines = [ln for ln in now["ipt"][4].splitlines() if "LIBVIRT" in ln]
    assert libvirt_lines == [ln for ln in before[BROKEN]["ipt"][4].splitlines() if "LIBVIRT" in ln]
    assert ":FORWARD DROP" in now["ipt"][4]  # Docker is still there: rolled back, not cleaned up
    assert h.lab.ping().ok and h.lab.tcp().ok  # under iptables, Docker's DROP does not cut the guests off

    # Idempotent: migrating migrated hosts again changes nothing. A held-back host is
    # refused by the real command too, in one line, and nothing changes on it.
    again = fleet.ansible(["ansible", "-i", str(inventory), "h01,h03,h07,h05", "-m",
                           "vnetmigrate.kvm.vnetmigrate_migrate", "-a", "no_restart=true", "--diff"])
    assert again.returncode == 2, playbook_output(again)
    assert sorted(re.findall(r"^(h\d\d) \| SUCCESS =>", again.stdout, re.M)) == ["h01", "h03", "h07"], again.stdout
    assert re.findall(r"^(h\d\d) \| FAILED! =>", again.stdout, re.M) == ["h05"], again.stdout
    assert '"changed": true' not in again.stdout
    assert '"msg": "migrate refused: blockers: nftables-prerequisites: libvirt\'s nftables backend cannot ' \
           'work on this host after the migration: missing the csum action (act_csum)"' in again.stdout
    assert host_state(hosts["h05"]) == before["h05"]

    # Rollback in check mode (history): h01's committed migration would be rolled back; h09's
    # migration, named by its id, was rolled back already.
    (h09_txn,) = [d.name for d in (hosts[BROKEN].state_dir / txnstore.TXN).iterdir()
                  if txnstore.read(d).begin.get("command") == "migrate"]
    probe = fleet.ansible(["ansible", "-i", str(inventory), f"h01,{BROKEN}", "--check", "-m",
                           "vnetmigrate.kvm.vnetmigrate_rollback", "-a", "id={{ txn[inventory_hostname] | default(omit) }}",
                           "-e", json.dumps({"txn": {BROKEN: h09_txn}})])
    assert probe.returncode == 0, playbook_output(probe)
    assert re.search(r"^h01 \| CHANGED =>", probe.stdout, re.M) and re.search(rf"^{BROKEN} \| SUCCESS =>",
                                                                             probe.stdout, re.M), probe.stdout
    assert host_state(hosts["h01"])["conf"].endswith('firewall_backend = "nftables"\n')



def test_repair_over_ssh_brings_back_the_guests_of_a_held_back_host(fleet):
    """The admin repairs a held-back host afterwards: h11's guests, cut off by libvirt's own failed
    switch, get their rules back (libvirt back on iptables, pinned); a second repair has nothing
    to do. (The rollout left h11 untouched: this test does not depend on its outcome.)"""
    if not has_repair():
        pytest.skip("this tree's vnetmigrate has no `repair` command yet")
    h11 = next(h for h in fleet.hosts if h.name == "h11")
    assert not h11.lab.ping().ok
    repair = fleet.tmp / "repair.yml"
    repair.write_text(json.dumps([{"hosts": "h11", "gather_facts": False, "tasks": [
        {"name": "what would a repair fix", "vnetmigrate.kvm.vnetmigrate_repair": {"no_restart": True},
         "check_mode": True, "register": "would"},
        {"name": "repair", "vnetmigrate.kvm.vnetmigrate_repair": {"no_restart": True}, "diff": True},
        {"name": "repair again", "vnetmigrate.kvm.vnetmigrate_repair": {"no_restart": True}},
        {"name": "fixes", "ansible.builtin.debug": {"msg": "fixes: {{ would.fixes | join(',') }}"}}]}]))
    fixed = fleet.ansible(["ansible-playbook", "-i", str(fleet.inventory_path), str(repair)])
    assert fixed.returncode == 0, playbook_output(fixed)
    tasks = {t.split(" ]", 1)[0].rstrip("] *"): body for t, body in
             (chunk.split("\n", 1) for chunk in fixed.stdout.split("TASK [")[1:])}
    assert tasks["what would a repair fix"].strip().endswith("changed: [h11]")  # would change
    assert tasks["repair"].startswith("1. add the ipv4 iptables rules of 1 network\n"), fixed.stdout
    assert tasks["repair"].strip().endswith("changed: [h11]") and tasks["repair again"].strip() == "ok: [h11]"
    assert '"msg": "fixes: libvirt-rules-missing"' in tasks["fixes"]
    assert h11.network_conf.read_text().endswith('firewall_backend = "iptables"\n')
    assert h11.lab.ping().ok and h11.lab.tcp().ok

def test_the_fleet_leaves_nothing_behind_when_the_test_fails(lab_ready):
    reason = ansible_ready()
    if reason:
        pytest.skip(reason)
    fleet = Fleet([HostSpec("h01"), HostSpec("h02", state="switched")])
    with pytest.raises(RuntimeError, match="the test failed here"):
        with fleet:
            sshds = [h.sshd for h in fleet.hosts]
            names = [fleet.controller] + [ns for h in fleet.hosts for ns in h.lab.namespaces]
            raise RuntimeError("the test failed here")
    assert all(p.poll() is not None for p in sshds)
    assert not set(names) & set(namespaces.existing()) and not fleet.tmp.exists()
