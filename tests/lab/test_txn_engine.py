"""The transaction engine on a real kernel: commit, rollback, crashes, failures, conflicts, locks.

Each test gets its own namespace (tests/lab/txn_scenario.py sets up the "old" state: libvirt-
style iptables-nft chains, foreign Docker/ufw/firewalld/netavark tables, a network.conf under a
temp root). Kernel states are compared whole: `nft -j list ruleset` without handles/counters
and iptables-nft-save per chain.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.lab import txn_scenario as sc
from tests.lab.txn_support import foreign, kernel_state, namespace, ns_run, scenario, skip_unless_lab, vnm
from tests.unit.wrapping import unwrapped

pytestmark = pytest.mark.lab
CRASH_POINTS = [f"{i}:{w}" for i in range(len(sc.plan(Path("/")).steps)) for w in ("before", "after")] + ["commit"]


class World:
    def __init__(self, ns: str, tmp: Path):
        self.ns, self.root, self.state = ns, tmp / "root", tmp / "state"
        sc.setup_old(ns, self.root)

    def where(self) -> list[str]:
        """rollback's options: the state dir, and where the transactions ran (their journals must agree)."""
        return ["--state-dir", str(self.state), "--netns", self.ns, "--root", str(self.root)]

    def snapshot(self) -> dict:
        conf = self.root / "etc/libvirt/network.conf"
        return {**kernel_state(self.ns), "conf": conf.read_text() if conf.exists() else None}

    def run(self, plan=None, **kw):
        from vnetmigrate.netns import entered
        from vnetmigrate.txn import engine
        from vnetmigrate.txn.statedir import StateDir

        with entered(self.ns), StateDir(self.state) as st:
            return engine.run(plan or sc.plan(self.root), st, self.root, netns=self.ns, **kw)


@pytest.fixture
def world(tmp_path):
    skip_unless_lab()
    with namespace() as ns:
        yield World(ns, tmp_path)


@pytest.fixture(scope="module")
def new_state(tmp_path_factory):
    """The fully-new state: the scenario committed in a namespace of its own."""
    skip_unless_lab()
    with namespace() as ns:
        w = World(ns, tmp_path_factory.mktemp("ref"))
        assert w.run().status == "committed"
        return w.snapshot()


def test_commit_then_rollback(world, new_state):
    old = world.snapshot()
    out = world.run()
    assert out.status == "committed" and out.exit_code == 0
    assert world.snapshot() == new_state != old
    assert foreign(new_state) == foreign(old)
    proc = vnm("rollback", *world.where())
    assert proc.returncode == 0, proc.stderr
    assert world.snapshot() == old
    hist = vnm("history", "--state-dir", str(world.state))
    assert "rolled-back" in hist.stdout and hist.returncode == 0


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_crash_then_rollback_or_fresh_run(world, new_state, point):
    old = world.snapshot()
    crashed = scenario(world.ns, world.state, world.root, env={"VNETMIGRATE_TEST_CRASH_AT": point})
    assert crashed.returncode == -9, crashed.stderr
    hist = vnm("history", "--state-dir", str(world.state))
    assert "incomplete" in hist.stdout and hist.returncode == 6
    proc = vnm("rollback", *world.where())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert world.snapshot() == old
    # Crash again; this time a fresh run finishes the job (it rolls back first, then applies).
    assert scenario(world.ns, world.state, world.root, env={"VNETMIGRATE_TEST_CRASH_AT": point}).returncode == -9
    fresh = scenario(world.ns, world.state, world.root)
    assert fresh.returncode == 0, fresh.stderr
    assert world.snapshot() == new_state
    assert foreign(world.snapshot()) == foreign(old)


@pytest.mark.parametrize("step", [5, 2, 0])
def test_crash_during_a_rollback_is_finished_by_the_next_rollback(world, step):
    old = world.snapshot()
    crashed = scenario(world.ns, world.state, world.root,
                       env={"VNM_TEST_FAIL_LAST": "1", "VNETMIGRATE_TEST_CRASH_AT": f"{step}:undo"})
    assert crashed.returncode == -9, crashed.stderr
    assert world.snapshot() != old or step == 0
    hist = vnm("history", "--state-dir", str(world.state))
    assert "incomplete" in hist.stdout
    proc = vnm("rollback", *world.where())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert world.snapshot() == old


def test_failure_midway_rolls_back_to_the_snapshot(world):
    from vnetmigrate.txn import steps

    old = world.snapshot()
    base = sc.plan(world.root)
    bad = steps.ipt("a step the kernel refuses", "ipv4", "*filter\n-X NO_SUCH_CHAIN\nCOMMIT\n",
                    [("filter", "NO_SUCH_CHAIN")])
    plan = steps.Plan("fails at step 6", base.steps[:5] + (bad,) + base.steps[5:])
    out = world.run(plan)
    assert (out.status, out.exit_code, out.failed_step) == ("rolled-back", 5, 5)
    assert "NO_SUCH_CHAIN" in out.error
    assert world.snapshot() == old


def test_failed_verification_rolls_back(world):
    from vnetmigrate.txn import steps

    old = world.snapshot()
    base = sc.plan(world.root)
    wrong = steps.verify("expects a rule that is not there", "nft-rule-counts", table="ip libvirt_network",
                         chains={"forward": 2})
    out = world.run(steps.Plan("verify fails", (base.steps[0], wrong) + base.steps[2:]))
    assert out.status == "rolled-back" and "forward: 1 rules, expected 2" in out.error
    assert world.snapshot() == old


def test_change_by_someone_else_aborts_the_next_step(world):
    """Between steps 2 and 3 another program adds a rule to a chain step 3 would remove."""
    old = world.snapshot()

    def meddle(i: int) -> None:
        if i == 2:
            ns_run(world.ns, ["iptables-nft", "-A", "LIBVIRT_FWX", "-i", "virbr9", "-j", "ACCEPT"])

    out = world.run(before_step=meddle)
    assert out.status == "rolled-back" and out.failed_step == 2 and "changed since the plan" in out.error
    now = world.snapshot()
    assert "ip libvirt_network" not in now["nft"]  # step 1's table is gone again
    assert foreign(now) == foreign(old)
    fwx = now["ipv4"]["filter"]["LIBVIRT_FWX"]["rules"]
    assert fwx == old["ipv4"]["filter"]["LIBVIRT_FWX"]["rules"] + ["-A LIBVIRT_FWX -i virbr9 -j ACCEPT"]


def test_plan_made_before_a_change_does_not_start(world):
    from dataclasses import replace

    from vnetmigrate.netns import entered
    from vnetmigrate.txn import snapshot

    plan = sc.plan(world.root)
    with entered(world.ns):
        plan = replace(plan, fingerprint=snapshot.probe(plan.touched))
    ns_run(world.ns, ["nft", "add", "table", "ip", "libvirt_network"])
    changed = world.snapshot()
    out = world.run(plan)
    assert out.status == "rolled-back" and out.failed_step == 0
    assert world.snapshot() == changed


def test_second_migration_refuses_while_one_holds_the_lock(world):
    holder = subprocess.Popen(["python3", "-c", "import fcntl,os,sys,time; os.makedirs(sys.argv[1], exist_ok=True); "
                               "fd=os.open(sys.argv[1]+'/lock', os.O_RDWR|os.O_CREAT); fcntl.flock(fd, fcntl.LOCK_EX); "
                               "os.write(fd, b'%d\\n' % os.getpid()); print('held', flush=True); time.sleep(60)",
                               str(world.state)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        old = world.snapshot()
        proc = scenario(world.ns, world.state, world.root)
        assert proc.returncode == 1
        assert f"another vnetmigrate (pid {holder.pid})" in proc.stderr
        assert vnm("rollback", *world.where()).returncode == 1
        assert world.snapshot() == old
    finally:
        holder.kill()
        holder.wait()


def test_state_dir_that_is_a_file(world):
    old = world.snapshot()
    world.state.write_text("not a directory")
    from vnetmigrate.txn.statedir import StateDirError

    with pytest.raises(StateDirError, match="not a directory"):
        world.run()
    assert world.snapshot() == old


@pytest.mark.parametrize("options,match", [("size=64k", "cannot record a transaction|no space"),
                                           ("ro,size=1m", "read-only")])
def test_full_or_read_only_state_dir(world, options, match):
    from vnetmigrate.txn.statedir import StateDirError

    world.state.mkdir()
    # mode=0700: a tmpfs root is 1777, and a state dir others can write to is refused
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"{options},mode=0700", "vnm-test", str(world.state)], check=True)
    try:
        if "ro" not in options.split(","):
            (world.state / "txn").mkdir()
            with open(world.state / "filler", "wb") as fh:  # leave room for the probe, not for the journal
                fh.write(b"x" * (64 * 1024 - 8192))
        old = world.snapshot()
        with pytest.raises(StateDirError, match=match):
            world.run()
        assert world.snapshot() == old
        assert not list((world.state / "txn").glob("*")) if (world.state / "txn").exists() else True
    finally:
        subprocess.run(["umount", str(world.state)], check=True)


def test_corrupt_journal_is_one_clear_error(world):
    old = world.snapshot()
    assert scenario(world.ns, world.state, world.root, env={"VNETMIGRATE_TEST_CRASH_AT": "2:after"}).returncode == -9
    crashed = world.snapshot()
    journal = next((world.state / "txn").glob("*/journal.jsonl"))
    with open(journal, "a") as fh:
        fh.write("{not json\n")
    proc = vnm("rollback", *world.where())
    assert proc.returncode == 1
    said = unwrapped(proc.stderr)
    assert said.count("\n") <= 2 and "is corrupt at line" in said and "Traceback" not in said
    assert world.snapshot() == crashed != old


def test_state_dir_filling_up_during_the_transaction_does_not_stop_its_journal(world):
    """The journal reserved its space when it was created: records still land on a full disk."""
    world.state.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "vnm-test", str(world.state)], check=True)
    try:
        def fill(i: int) -> None:
            if i == 2:
                with open(world.state / "filler", "wb") as fh:
                    try:
                        while True:
                            fh.write(b"x" * 65536)
                            fh.flush()
                    except OSError:
                        pass

        out = world.run(before_step=fill)
        assert out.status == "committed", out
        assert os.statvfs(world.state).f_bavail == 0
        records = (world.state / "txn" / out.txn_id / "journal.jsonl").read_text().splitlines()
        assert records[-1].startswith('{"fingerprint"') and '"rec":"commit"' in records[-1]
    finally:
        subprocess.run(["umount", str(world.state)], check=True)
