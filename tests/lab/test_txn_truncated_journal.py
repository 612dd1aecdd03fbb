"""A journal cut short on disk never yields "verified back" without comparing the live state with
the snapshot (issue 9 item 4).

A committed transaction of tests/lab/txn_scenario.py (every kind of step, real kernel) has its
journal truncated at record boundaries and inside records; so has one whose rollback was killed
half-way. `rollback` then either brings the host back and proves it (the live state equals the
snapshot), or ends "needs attention" naming what differs, or refuses with one clear message:
never "rolled back" over a host that is not. Before, a journal cut after its begin record made
`rollback` record "rolled back, verified" at once (no step had started, it said) over a fully
migrated host, and one cut after step 3's records restored steps 1-3 and compared only those.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab import txn_scenario as sc
from tests.lab.test_txn_engine import World
from tests.lab.txn_support import REPO, namespace, skip_unless_lab
from tests.unit.wrapping import unwrapped

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    skip_unless_lab()
    with namespace() as ns:
        yield World(ns, tmp_path_factory.mktemp("truncated"))


def commit(world: World, name: str) -> Path:
    """Commit the scenario with a state dir of its own; its journal."""
    world.state = world.state.parent / name
    out = world.run()
    assert out.status == "committed", out
    return world.state / "txn" / out.txn_id / "journal.jsonl"


def roll_back(world: World):
    """`rollback` as the CLI runs it (in-process: the state and the host are what count here)."""
    from vnetmigrate.usecases.rollback import rollback

    return rollback(world.state, netns=world.ns, root=world.root)


def cut(journal: Path, records: int, into: int = 0) -> None:
    """Keep the first `records` whole records, and `into` bytes of the next one."""
    data = journal.read_bytes()
    ends = [i + 1 for i, b in enumerate(data) if b == ord("\n")]
    keep = ([0] + ends)[records]
    with open(journal, "r+b") as fh:
        fh.truncate(keep + into)


def back_to_old(world: World, old: dict) -> None:
    """Put the old state back by hand (the snapshot, as a person would from the kept file)."""
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import execute
    from vnetmigrate.txn.snapshot import Touched

    snap = json.loads(next(world.state.glob("txn/*/snapshot.json")).read_text())
    with entered(world.ns):
        execute.restore_to(snap, Touched.from_dict(snap["touched"]), world.root)
    assert world.snapshot() == old


def records_of(journal: Path) -> list[str]:
    return [json.loads(ln)["rec"] for ln in journal.read_text().splitlines()]


# (records kept, bytes of the next one kept) -> what rollback must end in. The committed
# journal: begin, snapshot, then intent and done of steps 0-5 (nft, verify, ipt v4, ipt v6,
# network.conf, restart), commit: 15 records.
COMMITTED_CUTS = {
    (0, 0): "refused", (0, 40): "refused",        # empty, torn begin: holds no record
    (1, 0): "attention",                          # begin only: no step seen to start
    (2, 30): "attention",                         # begin, snapshot, intent 0 torn: the same
    (8, 0): "attention",                          # steps 0-2 seen (ipv6 chains, network.conf differ)
    (11, 0): "back",                              # steps 0-4 seen, all objects restored
    (14, 20): "back",                             # everything but the commit record
}


def test_a_truncated_committed_journal_is_compared_with_the_live_state(world):
    old = world.snapshot()
    for n, ((records, into), expected) in enumerate(COMMITTED_CUTS.items()):
        journal = commit(world, f"committed-{n}")
        assert records_of(journal)[-1] == "commit" and len(records_of(journal)) == 15
        migrated = world.snapshot()
        cut(journal, records, into)
        try:
            result = roll_back(world)
        except Exception as exc:
            assert expected == "refused", (records, into, exc)
            assert "holds no record, yet what it touches differs from its snapshot" in exc.message, exc.message
            assert world.snapshot() == migrated
            back_to_old(world, old)
            continue
        (outcome,) = result.transactions
        status = outcome.to_dict()["status"]
        if expected == "back":
            assert status == "rolled-back", (records, into, outcome.to_dict())
            assert world.snapshot() == old, (records, into)
            continue
        assert status == "needs-attention", (records, into, outcome.to_dict())
        assert world.snapshot() != old
        problems = " ".join(outcome.to_dict()["rollback_errors"])
        assert "another program changed it, or the journal lost records" in problems, problems
        back_to_old(world, old)
        again = roll_back(world)  # with the host put back by hand, the rollback can prove it
        assert [o.to_dict()["status"] for o in again.transactions] == ["rolled-back"], (records, into)
        assert world.snapshot() == old


# A rollback killed before undoing step 2: records 0-13 as above, 14 the commit, 15 the rollback,
# 16-21 undoing/undone of steps 5, 4, 3, 22 undoing step 2.
ROLLBACK_CUTS = {
    4: "attention",    # step 0 seen: the ipv4 chains (step 2, not undone yet) differ
    15: "refused",     # right after the commit: "committed", but the host changed since
    16: "back",        # the rollback record: resumed, every step undone again
    23: "back",        # all of it (the killed rollback's own journal)
}


def test_a_journal_truncated_in_the_middle_of_a_rollback(world):
    old = world.snapshot()
    for n, (records, expected) in enumerate(ROLLBACK_CUTS.items()):
        journal = commit(world, f"rollback-{n}")
        killed = subprocess.run([sys.executable, "-m", "tests.crashpoint", "rollback", *world.where()],
                                capture_output=True, text=True, cwd=REPO, timeout=120,
                                env={**os.environ, "VNETMIGRATE_TEST_CRASH_AT": "2:undo"})
        assert killed.returncode == -9, killed.stdout + killed.stderr
        assert records_of(journal)[14:] == ["commit", "rollback", "undoing", "undone", "undoing", "undone", "undoing",
                                            "undone", "undoing"]
        half_way = world.snapshot()
        cut(journal, records)
        proc = subprocess.run([sys.executable, "-m", "vnetmigrate", "rollback", *world.where()],
                              capture_output=True, text=True, cwd=REPO, timeout=120)
        said = unwrapped(proc.stdout + proc.stderr)
        if expected == "back":
            assert proc.returncode == 0 and "verified back" in said, (records, said)
            assert world.snapshot() == old
            continue
        assert "verified back" not in said and "Traceback" not in said, (records, said)
        if expected == "refused":
            assert proc.returncode == 1 and "changed again since it committed" in unwrapped(proc.stderr), (records, said)
            assert world.snapshot() == half_way
        else:
            assert proc.returncode == 6 and "the journal lost records" in said, (records, said)
        back_to_old(world, old)
