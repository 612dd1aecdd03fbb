"""Zero loss: 100 pings a second from the guest to the wan and a held TCP connection survive
a migration iptables -> nftables and its rollback, also behind Docker's FORWARD DROP with the
DOCKER-USER workaround. Foreign rules stay identical throughout."""

from __future__ import annotations

import re
import time

import pytest

from tests.lab import txn_fixture_plan
from tests.lab.pingstream import PingStream
from tests.sandbox import fixtures
from tests.sandbox.topology import REMOTE_IP

pytestmark = pytest.mark.lab


def state(lab) -> dict:
    def save(family: int) -> str:  # without the packet counters of built-in chains
        return re.sub(r"\[\d+:\d+\]", "[0:0]", lab.iptables_save(family=family))

    return {"v4": save(4), "v6": save(6),
            "tables": sorted(lab.run(["nft", "list", "tables"]).stdout.splitlines())}


@pytest.mark.parametrize("docker", [False, True], ids=["plain", "docker-forward-drop"])
def test_no_packet_lost_across_migrate_and_rollback(lab, tmp_path, docker):
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import engine, recovery
    from vnetmigrate.txn.statedir import StateDir

    lab.iptables_restore(fixtures.libvirt_iptables_v4())
    lab.iptables_restore(fixtures.libvirt_iptables_v6(), family=6)
    if docker:
        lab.iptables_restore(fixtures.DOCKER_28)
        for argv in fixtures.DOCKER_USER_WORKAROUND:
            lab.iptables(*argv)
    conf = tmp_path / "root/etc/libvirt/network.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(txn_fixture_plan.OLD_CONF)
    plan = txn_fixture_plan.plan(lab, tmp_path / "root")
    before = state(lab)
    foreign_v4 = [ln for ln in before["v4"].splitlines() if "LIBVIRT" not in ln]
    session = lab.tcp_session()
    assert session.roundtrip().ok
    timings = {}
    with PingStream(lab.guest().ns, REMOTE_IP) as stream:
        time.sleep(0.3)
        with entered(lab.host), StateDir(tmp_path / "state") as st:
            t0 = time.monotonic()
            out = engine.run(plan, st, tmp_path / "root", netns=lab.host)
            timings["migrate"] = time.monotonic() - t0
        assert out.status == "committed", out
        migrated = state(lab)
        assert "LIBVIRT" not in migrated["v4"] + migrated["v6"]
        assert "table ip libvirt_network" in migrated["tables"]
        assert conf.read_text() == txn_fixture_plan.NEW_CONF
        time.sleep(0.3)
        assert session.roundtrip().ok
        with StateDir(tmp_path / "state") as st:
            t0 = time.monotonic()
            back = recovery.roll_back_committed(st, recovery.latest_committed(st))
            timings["rollback"] = time.monotonic() - t0
        assert back.status == "rolled-back", back
        time.sleep(0.3)
    assert session.roundtrip().ok
    session.close()
    print(f"\nsent {len(stream.sent)} pings, lost {len(stream.lost)}; "
          f"migrate {timings['migrate'] * 1000:.0f} ms, rollback {timings['rollback'] * 1000:.0f} ms")
    assert len(stream.sent) > 80
    assert stream.lost == []
    assert state(lab) == before
    assert [ln for ln in migrated["v4"].splitlines() if "LIBVIRT" not in ln] == foreign_v4
    assert conf.read_text() == txn_fixture_plan.OLD_CONF


def test_the_stream_sees_a_gap_when_the_order_is_break_before_make(lab, tmp_path):
    """Negative control: the same steps, old rules removed 0.2 s before the new are added."""
    from dataclasses import replace

    from vnetmigrate.netns import entered
    from vnetmigrate.txn import engine, steps
    from vnetmigrate.txn.statedir import StateDir

    lab.iptables_restore(fixtures.libvirt_iptables_v4())
    lab.iptables_restore(fixtures.libvirt_iptables_v6(), family=6)
    (tmp_path / "root/etc/libvirt").mkdir(parents=True)
    (tmp_path / "root/etc/libvirt/network.conf").write_text(txn_fixture_plan.OLD_CONF)
    good = txn_fixture_plan.plan(lab, tmp_path / "root")
    add, verify, v4, v6, conf = good.steps
    gap = steps.restart("a pause", ["sleep", "0.2"])
    bad = replace(good, steps=(v4, v6, gap, add, verify, conf))
    with PingStream(lab.guest().ns, REMOTE_IP) as stream:
        time.sleep(0.2)
        with entered(lab.host), StateDir(tmp_path / "state") as st:
            assert engine.run(bad, st, tmp_path / "root", netns=lab.host).status == "committed"
        time.sleep(0.2)
    assert len(stream.lost) >= 10
