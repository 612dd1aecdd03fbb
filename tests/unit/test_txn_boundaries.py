"""The engine reports its step boundaries to observers: what progress output and the crash tests hang on."""

from __future__ import annotations

import pytest

from vnetmigrate.txn import boundaries, engine, steps
from vnetmigrate.txn.statedir import StateDir

CONF = "/etc/libvirt/network.conf"
OLD, MID, NEW = 'firewall_backend = "iptables"\n', "# half-way\n", 'firewall_backend = "nftables"\n'


@pytest.fixture
def seen():
    calls: list[tuple[str, int | None]] = []
    boundaries.observers.append(lambda where, step: calls.append((where, step)))
    yield calls
    boundaries.observers.pop()


def run(tmp_path, fail_before: int | None = None) -> engine.TxnResult:
    conf = tmp_path / "root" / CONF.lstrip("/")
    conf.parent.mkdir(parents=True)
    conf.write_text(OLD)
    plan = steps.Plan("t", (steps.file("first", CONF, MID, OLD), steps.file("second", CONF, NEW, MID)))

    def refuse(where: str, step: int | None) -> None:
        if (where, step) == ("before", fail_before):
            raise RuntimeError("stop here")

    boundaries.observers.append(refuse)
    try:
        with StateDir(tmp_path / "state") as state:
            return engine.run(plan, state, tmp_path / "root")
    finally:
        boundaries.observers.remove(refuse)


def test_a_committed_run_passes_every_boundary_in_order(tmp_path, seen):
    out = run(tmp_path)
    assert out.status == "committed"
    assert seen == [("created", None), ("planned", 2), ("before", 0), ("after", 0), ("before", 1), ("after", 1), ("commit", None)]
    assert (tmp_path / "root" / CONF.lstrip("/")).read_text() == NEW


def test_an_observer_that_raises_fails_the_step_and_the_undo_boundaries_come_in_reverse(tmp_path, seen):
    out = run(tmp_path, fail_before=1)
    assert out.status == "rolled-back" and out.failed_step == 1 and "stop here" in out.error
    assert seen == [("created", None), ("planned", 2), ("before", 0), ("after", 0), ("before", 1), ("undo", 1), ("undone", 1),
                    ("undo", 0), ("undone", 0), ("rolled-back", None)]
    assert (tmp_path / "root" / CONF.lstrip("/")).read_text() == OLD

