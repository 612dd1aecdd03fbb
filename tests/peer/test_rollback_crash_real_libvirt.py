"""A `rollback` SIGKILLed at any of its step boundaries is finished by the next `rollback`, on real libvirt.

One libvirt 11.3 daemon serves every kill point of a direction: migrate (committed, the daemon
restarted under the new backend), then `rollback` killed at a boundary (tests/crashpoint.py), the
next `rollback` killed at the next boundary, and so on for up to seven (every killed run resumed
by the next, which undoes every started step again); then `history` and `scan` must call that
transaction interrupted, and a plain `rollback` must bring the host back to exactly the state
before the migration: the whole ruleset (`nft -j list ruleset` without handles and counters;
each network's rules in their order, the networks' blocks in any, as after any restart of the
daemon), network.conf byte for byte, the status files naming the old backend, and a guest's pings going
out. That state is the next migration's starting state, so nothing is restarted in between.

Both directions: a host on iptables migrated to nftables, and one on nftables migrated back to
iptables (`migrate --to iptables`). The peer's `tc` is a shim (this kernel lacks act_csum, see
HACKING.md).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests import crashpoint
from tests.peer.libvirtd import PeerLibvirt
from tests.peer.require import require_peer
from tests.peer.test_migrate_real_libvirt import REPO, Outside, in_ns, ipt_listing, networks, show_library
from tests.unit.schema_check import valid_envelope

pytestmark = pytest.mark.peer


IPTABLES_NFT = {(fam, t) for fam in ("ip", "ip6") for t in ("filter", "nat", "mangle", "raw", "security")}


def ruleset(ns: str) -> dict:
    """Every table, chain and rule without handles and counters: each chain's rules in order, the
    objects of a table by name (a chain's place in the listing is the order it was created in,
    which means nothing to a packet: the rollback re-creates chains libvirt created earlier).

    iptables-nft's tables as `ip(6)tables-nft-save` shows them: libvirt in the peer's root
    writes them with Debian 13's iptables 1.8.11, vnetmigrate with this machine's 1.8.9, and the
    two encode the same rule differently (HACKING.md); on a host both use the same binary."""
    def clean(obj):
        if isinstance(obj, dict):
            if set(obj) == {"counter"}:
                return {"counter": None}
            return {k: clean(v) for k, v in obj.items() if k != "handle"}
        return [clean(v) for v in obj] if isinstance(obj, list) else obj
    out: dict = {"iptables-nft": ipt_listing(ns)}
    for item in json.loads(in_ns(ns, "nft", "-j", "list", "ruleset"))["nftables"]:
        (kind, obj), = clean(item).items()
        if (obj.get("family"), obj.get("table", obj.get("name"))) in IPTABLES_NFT:
            continue
        if kind == "rule":
            out[f"{obj['family']} {obj['table']} {obj['chain']}"].append(obj)
        elif kind == "table":
            out[f"table {obj['family']} {obj['name']}"] = obj
        elif kind != "metainfo":
            out[f"{obj['family']} {obj['table']} {obj['name']}"] = [obj]  # a chain (or set) and its rules
    return out


class Peer:
    def __init__(self, peer: PeerLibvirt, state: Path, outside: Outside):
        self.peer, self.state, self.outside = peer, state, outside
        self.where = ["--netns", peer.netns, "--root", str(peer.state_dir), "--state-dir", str(state)]
        self.state_dir = ["--state-dir", str(state)]

    def vnm(self, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
        program = crashpoint.VNM if crash_at else [sys.executable, "-m", "vnetmigrate"]
        env = {crashpoint.ENV: crash_at} if crash_at else {}
        extra = ["--restart-command", shlex.join(self.peer.restart_command())] if args[0] == "migrate" else []
        where = self.state_dir if args[0] == "history" else self.where
        return subprocess.run([*program, *args, *where, *extra], capture_output=True, text=True, cwd=REPO,
                              timeout=300, env={**os.environ, **env})

    def state_now(self) -> dict:
        conf = self.peer.etc_libvirt / "network.conf"
        return {"ruleset": ruleset(self.peer.netns), "network.conf": conf.read_bytes(),
                "status": self.peer.status_xml("default").split("<firewall name='fwRemoval' backend=")[1][:10]}


def kill_points(steps: int) -> list[str]:
    """Every boundary of a rollback of `steps` steps, in the order it reaches them."""
    return [f"{i}:{w}" for i in reversed(range(steps)) for w in ("undo", "undone")] + ["rolled-back"]


def by_network(lines: list) -> dict:
    """A chain's rules per network they name (its bridge, else its subnet), each in order: a
    restarted daemon re-applies networks in an order that changes from run to run (HACKING.md),
    so only the order within each network's block is libvirt's."""
    out: dict = {}
    for line in lines:
        text = json.dumps(line)
        key = next((k for k in ("virbr0", "vnm-route", "192.168.122.", "192.168.140.") if k in text), None)
        out.setdefault(key, []).append(line)
    return out


def old_state(host: Peer) -> dict:
    state = host.state_now()
    return {**state, "ruleset": {k: by_network(v) if isinstance(v, list) else v for k, v in state["ruleset"].items()}}


def crash_cycle(host: Peer, new: str, before: dict, points: list[str]) -> tuple[int, list[str]]:
    """Migrate to `new`, then kill a `rollback` at each of `points` in turn (each killed run is
    resumed by the next), scan, and finish with a plain `rollback`: the host must be `before`
    again. Returns how many kills left the host between the two states, and the migration's
    step kinds."""
    force = ["--force", "nftables-prerequisites"] if new == "nftables" else []
    migrated = host.vnm("migrate", "--to", new, *force, "--format", "json")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    kinds = [s["kind"] for s in valid_envelope(migrated.stdout, "txn-v1")["data"]["steps"]]
    after = old_state(host)
    assert after["status"].startswith(f"'{new}'"), after["status"]
    half_way = 0
    for point in points:
        crashed = host.vnm("rollback", crash_at=point)
        assert crashed.returncode == -9, (point, crashed.stdout, crashed.stderr)
        half_way += old_state(host) not in (before, after)
    history = valid_envelope(host.vnm("history", "--format", "json").stdout)["data"]["transactions"]
    latest = max(history, key=lambda t: t["id"])
    assert latest["status"] == "incomplete", (points, latest)
    scan = subprocess.run([sys.executable, "-m", "vnetmigrate", "scan", *host.where, "--format", "json"],
                          capture_output=True, text=True, cwd=REPO)
    findings = {f["id"]: f for f in valid_envelope(scan.stdout)["data"]["findings"]}
    assert latest["id"] in findings["interrupted-transaction"]["title"], (points, scan.stdout)
    again = host.vnm("rollback", *([latest["id"]] if len(points) % 2 else []))
    assert again.returncode == 0, (points, again.stdout, again.stderr)
    assert "verified back" in again.stdout, again.stdout
    assert old_state(host) == before, points
    assert host.outside.ping(), points
    return half_way, kinds


# migrate's steps on this host (the tests check): to nftables, both families' iptables rules go
# in one step (txn/iptexact.py); back to iptables, the ipv4 and ipv6 rules are added in two
TO_NFT_STEPS, TO_IPT_STEPS = 8, 9


def test_a_killed_rollback_on_real_libvirt_is_finished_by_the_next_rollback(tmp_path):
    """iptables -> nftables, every boundary: one migration per seven kill points (each killed
    rollback resumed by the next one, the seventh by a rollback that finishes), three in all."""
    require_peer("11.3")
    with PeerLibvirt("11.3", "iptables") as lv:
        for xml in networks():
            lv.define_and_start(xml)
        show_library(lv)
        host = Peer(lv, tmp_path / "state", Outside(lv.netns))
        try:
            before = old_state(host)
            assert host.outside.ping()
            points = kill_points(TO_NFT_STEPS)
            half_way = 0
            for i in range(0, len(points), 7):
                moved, kinds = crash_cycle(host, "nftables", before, points[i:i + 7])
                assert len(kinds) == TO_NFT_STEPS and "restart" in kinds, kinds
                half_way += moved
            assert len(points) == 17
            assert half_way >= 8, half_way  # the kills left the host between the states, not only at either end
        finally:
            host.outside.close()


def test_a_killed_rollback_of_a_migration_back_to_iptables_is_finished_by_the_next_rollback(tmp_path):
    """nftables -> iptables (`migrate --to iptables`): killed just before the restart step is
    undone, then after the restart, before the final record; resumed to the old nftables state
    (whose rules the restarted daemon re-created in an order of its own)."""
    require_peer("11.3")
    with PeerLibvirt("11.3", "nftables") as lv:
        for xml in networks():
            lv.define_and_start(xml)
        show_library(lv)
        host = Peer(lv, tmp_path / "state", Outside(lv.netns))
        try:
            before = old_state(host)
            assert host.outside.ping()
            restart = TO_IPT_STEPS - 3  # the restart step (dedupe and the final verification follow it)
            _, kinds = crash_cycle(host, "iptables", before, [f"{restart}:undo", "rolled-back"])
            assert len(kinds) == TO_IPT_STEPS and kinds[restart] == "restart", kinds
        finally:
            host.outside.close()
