"""LiveHost's `while_waiting` (collect/host.py): scan's imports done while a slow listing runs.
Real processes (`sh`), nothing of the host read: the work runs once, during the first command
slow to answer and not for a quick one, and every record is what it would have been."""

from __future__ import annotations

import time

from vnetmigrate.collect.host import LiveHost
from vnetmigrate.evidence import Evidence


def test_work_is_done_once_while_a_slow_command_runs():
    done: list[float] = []
    host = LiveHost(Evidence(meta={}), while_waiting=[lambda: done.append(time.monotonic())])
    quick = host.run("quick", ["sh", "-c", "echo quick"])
    assert done == []  # a quick command answers within LiveHost.SLOW
    started = time.monotonic()
    slow, second = host.run_all([("slow", ["sh", "-c", "sleep 0.3; echo slow; echo oops >&2; exit 3"]),
                                 ("second", ["sh", "-c", "sleep 0.3; echo second"])])
    ended = time.monotonic()
    assert len(done) == 1 and started <= done[0] < started + 0.25 < ended  # once, while the first ran
    assert [(r.key, r.returncode, r.stdout, r.stderr) for r in (quick, slow, second)] == \
        [("quick", 0, "quick\n", ""), ("slow", 3, "slow\n", "oops\n"), ("second", 0, "second\n", "")]
    assert list(host.ev.commands) == ["quick", "slow", "second"]


def test_failing_work_changes_no_record():
    def broken():
        raise ImportError("the analysis imports it again, and fails there")
    host = LiveHost(Evidence(meta={}), while_waiting=[broken])
    rec = host.run("slow", ["sh", "-c", "sleep 0.1; echo slow"])
    assert (rec.returncode, rec.stdout, host.ev.errors) == (0, "slow\n", [])


def test_work_not_ready_waits_for_the_next_slow_command():
    tries: list[int] = []
    host = LiveHost(Evidence(meta={}), while_waiting=[lambda: tries.append(1) or len(tries) > 1])
    host.run("first", ["sh", "-c", "sleep 0.1"])
    host.run("second", ["sh", "-c", "sleep 0.1"])
    host.run("third", ["sh", "-c", "sleep 0.1"])
    assert tries == [1, 1]  # False the first time: tried again at the second, then done



def test_eager_work_runs_while_a_batch_of_quick_commands_runs(tmp_path):
    # migrate's listings each answer at once (not slow: these print first), so `eager` does the work as
    # soon as a batch of processes is started, while they run; the records are what they were
    seen: list[tuple[float, list[str]]] = []
    host = LiveHost(Evidence(meta={}), eager=True,
                    while_waiting=[lambda: seen.append((time.monotonic(), sorted(p.name for p in tmp_path.iterdir())))])
    alone = host.run("alone", ["sh", "-c", "echo alone"])
    assert seen == []  # one quick process is no batch
    started = time.monotonic()
    first, second = host.run_all([("first", ["sh", "-c", f"echo first; sleep 0.3; touch {tmp_path}/first"]),
                                  ("second", ["sh", "-c", f"echo second; sleep 0.3; touch {tmp_path}/second"])])
    assert len(seen) == 1 and seen[0][0] < started + 0.25 and seen[0][1] == []  # once, before either ended
    assert [(r.key, r.returncode, r.stdout) for r in (alone, first, second)] == \
        [("alone", 0, "alone\n"), ("first", 0, "first\n"), ("second", 0, "second\n")]
    assert list(host.ev.commands) == ["alone", "first", "second"]
