"""`vnetmigrate repair` on lab hosts broken the way libvirt breaks them (scenarios.BREAKAGES):
broken -> `repair --yes` -> every probe passes -> `rollback` -> the host is exactly as before
the repair (ruleset without counters and handles, network.conf, status file) -> `repair --yes`
again -> libvirt's daemon restarts (tests/lab/libvirt_host.py emulates what 11.3 does) ->
every probe still passes. (A restart changes what the repair changed, so `rollback` after it
refuses by design: it would undo the restart's work too.)
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.lab import libvirt_host
from tests.lab.scenarios import BREAKAGE, BREAKAGES, REPAIR_PROBES, break_libvirt, probe
from tests.lab.test_migrate import Host
from tests.lab.pingstream import PingStream
from tests.lab.txn_support import REPO
from tests.sandbox.topology import REMOTE_IP
from tests.unit.schema_check import valid_envelope
from tests.unit.wrapping import unwrapped

pytestmark = pytest.mark.lab


def state(host) -> dict:
    status = host.root / "run/libvirt/network/default.xml"
    return {**host.state_now(), "status": status.read_text()}


def failing(lab, expected: tuple[str, ...] = ()) -> set[str]:
    """The probes that fail; those `expected` to fail get the short timeout (a loaded machine
    answers a working DHCP or ping late, not never)."""
    return {name for name in REPAIR_PROBES if not probe(lab, name, 0.3 if name in expected else 2.0).ok}


@pytest.fixture
def host(lab, tmp_path):
    out = Host.__new__(Host)
    out.lab, out.root, out.state = lab, tmp_path / "root", tmp_path / "state"
    return out


@pytest.mark.parametrize("breakage", BREAKAGES, ids=[b.id for b in BREAKAGES])
def test_repair_fixes_it_for_good_and_rollback_undoes_it_exactly(host, breakage):
    lab = host.lab
    break_libvirt(lab, host.root, breakage, host.vnm)
    before = state(host)
    assert failing(lab, breakage.fails) == set(breakage.fails)
    dry = host.vnm("repair", "--dry-run", *breakage.options, "--format", "json")
    planned = valid_envelope(dry.stdout, "repair-v1")["data"]
    assert set(breakage.findings) <= {f["id"] for f in planned["before"]["findings"]}, planned["before"]
    assert breakage.repaired_by in [r["finding"] for r in planned["remedies"]], dry.stdout + dry.stderr
    assert dry.returncode == planned["before"]["exit_code"] and state(host) == before  # a dry run changes nothing
    if breakage is BREAKAGES[0]:  # the same plan as Markdown, for a ticket
        md = host.vnm("repair", "--dry-run", *breakage.options, "--format", "markdown")
        assert md.returncode == dry.returncode and md.stdout.startswith("# vnetmigrate repair: "), md.stderr
        assert f"- `{breakage.repaired_by}`: " in md.stdout and "Dry run: nothing was changed." in md.stdout
        rows = [ln.split(" | ")[:2] for ln in md.stdout.splitlines() if ln.startswith("| ")][1:]
        assert rows == [[f"| {s['index']}", f"`{s['kind']}`"] for s in planned["steps"]], md.stdout

    if breakage.fails:  # guests are cut off until the repair: nothing to lose
        proc = host.vnm("repair", "--yes", *breakage.options, "--format", "json")
    else:  # guests work: the repair must not lose a packet of theirs
        with PingStream(lab.guest().ns, REMOTE_IP) as stream:
            time.sleep(0.1)
            proc = host.vnm("repair", "--yes", *breakage.options, "--format", "json")
            time.sleep(0.1)
        assert len(stream.sent) > 20 and stream.lost == [], f"lost {len(stream.lost)} of {len(stream.sent)}"
    data = valid_envelope(proc.stdout, "repair-v1")["data"]
    assert data["transaction"]["status"] == "committed", proc.stdout + proc.stderr
    assert [s["kind"] for s in data["steps"]] == [s["kind"] for s in planned["steps"]]
    assert proc.returncode == data["after"]["exit_code"]  # scan's verdict after the repair
    assert set(breakage.findings).isdisjoint(f["id"] for f in data["after"]["findings"]
                                             if f["id"] != "nftables-prerequisites" or breakage.act_csum)
    assert failing(lab) == set(), data["after"]
    if breakage is BREAKAGES[0]:
        history = valid_envelope(host.vnm("history", "--format", "json").stdout)["data"]["transactions"]
        assert [t["command"] for t in history][-1:] == ["repair"]

    back = host.vnm("rollback")
    assert back.returncode == 0, back.stdout + back.stderr
    assert state(host) == before

    again = host.vnm("repair", "--yes", *breakage.options)
    assert "committed: repaired, verified" in again.stdout, again.stdout + again.stderr
    libvirt_host.restart(lab.host, host.root, act_csum=breakage.act_csum)
    assert failing(lab) == set()


def test_without_only_the_backend_disagreement_is_listed_with_the_choice_not_repaired(host):
    break_libvirt(host.lab, host.root, BREAKAGE["restart-pending"], host.vnm)
    before = state(host)
    proc = host.vnm("repair", "--yes", "--format", "json")
    data = valid_envelope(proc.stdout, "repair-v1")["data"]
    (left,) = [x for x in data["left"] if x["finding"] == "libvirt-restart-pending"]
    assert "--only libvirt-restart-pending" in left["reason"]
    assert proc.returncode == data["after"]["exit_code"] == data["before"]["exit_code"] and data["steps"] == []
    assert state(host) == before


def test_without_a_terminal_and_without_yes_it_refuses_and_changes_nothing(host):
    break_libvirt(host.lab, host.root, BREAKAGE["silent-switch"], host.vnm)
    before = state(host)
    proc = subprocess.run([sys.executable, "-m", "vnetmigrate", "repair", "--netns", host.lab.host, "--root",
                           str(host.root), "--state-dir", str(host.state)], capture_output=True, text=True, cwd=REPO,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 1 and "no terminal to confirm on: pass --yes" in unwrapped(proc.stderr), proc.stderr
    assert unwrapped(proc.stderr).count("\n") == 2 and "Traceback" not in proc.stderr
    plan = host.vnm("plan", "--to", "iptables")
    assert plan.returncode in (0, 4)
    assert state(host) == before and not host.state.exists()


def test_a_repair_killed_at_any_step_boundary_is_rolled_back_or_finished_fully(host):
    """SIGKILL at every boundary of the silent-switch repair with the daemon restarted (a quick
    stand-in for the emulated daemon as --restart-command): `rollback` brings back the broken
    state exactly; at two of them a new `repair --yes` rolls the interrupted one back first and
    then repairs fully. Never anything between."""
    lab = host.lab
    break_libvirt(lab, host.root, BREAKAGE["silent-switch"], host.vnm)
    before = state(host)
    restart = ("--restart-command", quick_restart(host))
    plan = valid_envelope(host.vnm("repair", "--dry-run", *restart, "--format", "json").stdout)["data"]
    kinds = [s["kind"] for s in plan["steps"]]
    assert {"ipt", "verify", "file", "restart", "dedupe"} <= set(kinds)
    points = [f"{i}:{w}" for i in range(len(kinds)) for w in ("before", "after")] + ["commit"]
    assert len(points) == 15
    assert host.vnm("repair", "--yes", *restart).returncode in (0, 3)
    repaired = state(host)
    assert failing(lab) == set()
    assert host.vnm("rollback").returncode == 0 and state(host) == before
    fresh_at = {points[kinds.index("restart") * 2 + 1], "commit"}
    for point in points:
        crashed = host.vnm("repair", "--yes", *restart, crash_at=point)
        assert crashed.returncode == -9, (point, crashed.stdout, crashed.stderr)
        if point in fresh_at:  # recovered by a new repair, which then repairs fully
            fresh = host.vnm("repair", "--yes", *restart)
            assert fresh.stdout.count("committed: repaired") == 1, (point, fresh.stdout, fresh.stderr)
            assert "Interrupted transaction found first:" in fresh.stdout, point
            assert state(host) == repaired, point
        proc = host.vnm("rollback")
        assert proc.returncode == 0, (point, proc.stdout, proc.stderr)
        assert state(host) == before, point
    assert failing(lab, BREAKAGE["silent-switch"].fails) == set(BREAKAGE["silent-switch"].fails)


def quick_restart(host) -> str:
    """libvirt_host.restart as a shell script (a Python start per restart would double this
    test's time): with network.conf saying iptables, the default network's iptables rules on
    top and the iptables status file; saying nftables, this kernel's silent failure."""
    from vnetmigrate.libvirt import IptablesState, iptables_restore
    from vnetmigrate.rules.iptables_save import parse_save

    chains = IptablesState.of(parse_save(host.lab.iptables_save(), "ipv4", "nft"))
    rules = host.root.parent / "restart-rules.v4"
    rules.write_text(iptables_restore([libvirt_host.network()], "11.3", "ipv4", chains))
    script = host.root.parent / "restart.sh"
    status = host.root / "run/libvirt/network/default.xml"
    script.write_text(f"""#!/bin/sh
if grep -q '^firewall_backend = "iptables"' {host.root}/etc/libvirt/network.conf; then
  ip netns exec {host.lab.host} iptables-nft-restore --noflush < {rules} || exit 1
  cp {libvirt_host.STATUS_OF["iptables"]} {status}
else
  cp {libvirt_host.SWITCHED}/status/default.xml {status}
fi
""")
    script.chmod(0o755)
    return str(script)


def test_on_a_terminal_it_shows_the_plan_asks_and_only_yes_changes_the_host(host):
    import os
    import pty

    break_libvirt(host.lab, host.root, BREAKAGE["silent-switch"], host.vnm)
    before = state(host)
    argv = [sys.executable, "-m", "vnetmigrate", "repair", "--netns", host.lab.host, "--root", str(host.root),
            "--state-dir", str(host.state)]
    outputs = {}
    for answer in ("n", "yes"):
        leader, follower = pty.openpty()
        try:
            proc = subprocess.Popen(argv, stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    cwd=REPO)
            os.write(leader, f"{answer}\n".encode())
            out, err = proc.communicate(timeout=120)
        finally:
            os.close(follower)
            os.close(leader)
        outputs[answer] = (proc.returncode, out, err, state(host))
    code, out, err, after_no = outputs["n"]
    assert after_no == before
    assert code == 1 and "Apply these 4 steps? [y/N] Repair refused: not confirmed; nothing was changed" in out, out
    assert "libvirt-rules-missing: move libvirt back to its iptables backend" in out
    code, out, err, _state = outputs["yes"]
    assert "Apply these 4 steps? [y/N] Repaired (1 repair, transaction " in out, out + err
    assert out.count("Repairs:") == 1  # the plan is not printed twice
    assert code == 0 and state(host) != before and failing(host.lab) == set()
