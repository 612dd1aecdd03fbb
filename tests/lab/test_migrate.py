"""`vnetmigrate plan / migrate / rollback` on a lab host holding real libvirt 11.3's recorded rules.

The result of a migration is verified by the engine against the model (its last step); here
the tests check what a user sees: packets flow, foreign rules are untouched, the way back
restores the original listing, crashes and bad input leave a consistent host.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab import libvirt_host
from tests.lab.txn_scenario import FOREIGN_NFT
from tests.lab.pingstream import PingStream
from tests.lab.txn_support import REPO, nft_view
from tests import crashpoint
from tests.sandbox import fixtures
from tests.sandbox.topology import REMOTE_IP
from tests.unit.schema_check import valid_envelope
from tests.unit.wrapping import unwrapped

pytestmark = pytest.mark.lab


class Host:
    def __init__(self, lab, tmp: Path):
        self.lab, self.root, self.state = lab, tmp / "root", tmp / "state"
        libvirt_host.install(lab, self.root)

    def vnm(self, *args: str, env: dict | None = None, crash_at: str | None = None,
            meddle: tuple[str, str] | None = None, program: list[str] | None = None) -> subprocess.CompletedProcess:
        """Run the CLI; `crash_at`: SIGKILL it at that step boundary; `meddle`: (boundary, shell
        command) run at that boundary, as another program would (tests/crashpoint.py); `program`:
        another way to start it (default: the console script's main, as `python -m vnetmigrate`)."""
        import os

        if crash_at is not None:
            env = {**(env or {}), crashpoint.ENV: crash_at}
        if meddle is not None:
            env = {**(env or {}), crashpoint.RUN_AT: meddle[0], crashpoint.RUN: meddle[1]}
        hooked = crash_at is not None or meddle is not None
        program = crashpoint.VNM if hooked else program or [sys.executable, "-m", "vnetmigrate"]
        argv = [*program, *args, "--state-dir", str(self.state)]
        if args[0] in ("plan", "migrate", "repair", "rollback"):  # rollback: where the journals say they ran
            argv += ["--netns", self.lab.host, "--root", str(self.root)]
        if args[0] == "migrate" and "iptables" not in args:
            # This kernel lacks act_csum: libvirt 11's own nftables backend could not start a
            # network here (scan's blocker). No libvirt runs in the lab; the rules are ours.
            argv += ["--force", "nftables-prerequisites"]
        return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=120,
                              env={**os.environ, **(env or {})})

    def saves(self) -> dict:
        return {f: re.sub(r"\[\d+:\d+\]", "[0:0]", self.lab.iptables_save(family=f)) for f in (4, 6)}

    def state_now(self) -> dict:
        conf = self.root / "etc/libvirt/network.conf"
        return {"ipt": self.saves(), "nft": nft_view(self.lab.host), "conf": conf.read_text()}


@pytest.fixture
def host(lab, tmp_path):
    return Host(lab, tmp_path)


def libvirt_tables(state: dict) -> dict:
    return {k: v for k, v in state["nft"].items() if k.endswith("libvirt_network")}


def others(state: dict) -> dict:
    """Everything but libvirt's own objects: the foreign tables and iptables rules."""
    nft = {k: v for k, v in state["nft"].items()
           if not k.endswith("libvirt_network") and k.split()[1] not in ("filter", "nat", "mangle")}
    ipt = {f: [ln for ln in text.splitlines() if "LIBVIRT" not in ln and not ln.startswith("#")]
           for f, text in state["ipt"].items()}
    return {"nft": nft, "ipt": ipt}


def test_plan_changes_nothing_and_says_what_migrate_will_do(host):
    before = host.state_now()
    proc = host.vnm("plan", "--format", "json")
    doc = valid_envelope(proc.stdout)
    data = doc["data"]
    assert proc.returncode == (4 if data["blockers"] else 0), proc.stdout + proc.stderr
    assert {b["id"] for b in data["blockers"]} <= {"nftables-prerequisites"}  # this kernel: no act_csum
    assert doc["command"] == "plan" and data["summary"]["networks_moved"] == ["default"]
    # libvirt's iptables-nft rules of both families go in one exact nfnetlink batch (txn/iptexact.py)
    assert [s["kind"] for s in data["steps"]] == ["nft", "verify", "nft", "file", "verify"]
    assert data["steps"][2]["title"] == "remove libvirt's iptables rules and LIBVIRT_* chains (ipv4, ipv6)"
    assert data["summary"]["remove"]["ipv4"] == {"rules": 19, "chains": 7}
    assert '+firewall_backend = "nftables"' in data["summary"]["network_conf"]
    dry = host.vnm("migrate", "--dry-run", "--format", "json")
    assert valid_envelope(dry.stdout)["data"]["steps"] == data["steps"] and dry.returncode == 0  # its --force applies
    assert {b["id"]: b["forced"] for b in valid_envelope(dry.stdout)["data"]["blockers"]} == \
        {b["id"]: True for b in data["blockers"]}
    text = host.vnm("migrate", "--dry-run")
    assert text.stdout.endswith("\nDry run: nothing was changed.\n") and "dry_run" not in text.stdout
    assert host.state_now() == before
    assert not host.state.exists() or not list((host.state / "txn").glob("*"))


TYPER_APP = [sys.executable, "-c", "from vnetmigrate.cli.typerapp import app; app(prog_name='vnetmigrate')"]


def _same_run(proc: subprocess.CompletedProcess) -> tuple:
    """A run's exit code and output without what differs from run to run: times, durations,
    transaction ids and the process id its journal records."""
    def same(text: str) -> str:
        text = re.sub(r"\d{8}T\d{6}(\.\d+)?Z-[0-9a-f]+", "ID", text)
        text = re.sub(r'"(started_at|duration|started|ended|time|seconds|pid)": [^,\n}]+', r'"\1": X', text)
        return re.sub(r"[0-9]+(\.[0-9]+)? (ms|s)\b", "T", text)
    return proc.returncode, same(proc.stdout), same(proc.stderr)


def test_plain_plan_migrate_and_rollback_lines_run_the_same_without_typer(host):
    """Plain command lines of plan, migrate and rollback skip typer (cli/fast.py): a migration
    there and back run by the typer app and by the fast path prints the same, and leaves the
    same host."""
    before = host.state_now()
    runs = {}
    for name, program in (("typer", TYPER_APP), ("fast", None)):
        lines = [("plan", "-f", "json"), ("migrate", "--no-restart", "-f", "json"), ("plan",), ("rollback", "-f", "json"),
                 ("migrate", "--no-restart", "-q"), ("rollback",)]
        runs[name] = [_same_run(host.vnm(*line, program=program)) for line in lines]
        assert host.state_now() == before, name
    assert [r[0] for r in runs["fast"]] == [4, 0, 4, 0, 0, 0], runs["fast"]  # plan: no act_csum here
    assert runs["fast"][4][1] == "Transaction ID committed: libvirt's rules are in nftables, verified.\n"  # -q: the outcome
    assert runs["fast"] == runs["typer"]


def test_migrate_there_and_back_with_packets_flowing(host):
    lab = host.lab
    before = host.state_now()
    assert lab.ping().ok and lab.tcp().ok
    proc = host.vnm("migrate", "--no-restart")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^Transaction \S+ committed: libvirt's rules are in nftables, verified\.$", unwrapped(proc.stdout),
                     re.M)
    assert "{'" not in proc.stdout, proc.stdout
    after = host.state_now()
    assert "LIBVIRT" not in after["ipt"][4] + after["ipt"][6]
    assert set(libvirt_tables(after)) == {"ip libvirt_network", "ip6 libvirt_network"}
    assert 'firewall_backend = "nftables"' in after["conf"]
    assert lab.ping().ok and lab.tcp().ok and lab.ssh().ok
    again = host.vnm("migrate", "--no-restart")
    assert again.returncode == 0 and "Nothing to do" in again.stdout, again.stdout
    back = host.vnm("migrate", "--to", "iptables", "--no-restart")
    assert back.returncode == 0, back.stdout + back.stderr
    assert host.state_now() == before  # the original listing, rule for rule; no libvirt_network left
    assert lab.ping().ok and lab.tcp().ok


@pytest.mark.parametrize("docker", [False, True], ids=["plain", "docker-forward-drop"])
def test_zero_loss_across_migrate_and_rollback_with_foreign_rules_untouched(host, docker):
    lab = host.lab
    lab.nft(FOREIGN_NFT)
    if docker:
        lab.iptables_restore(fixtures.DOCKER_28)
        for argv in fixtures.DOCKER_USER_WORKAROUND:
            lab.iptables(*argv)
    before = host.state_now()
    session = lab.tcp_session()
    assert session.roundtrip().ok
    with PingStream(lab.guest().ns, REMOTE_IP) as stream:
        time.sleep(0.2)
        proc = host.vnm("migrate", "--no-restart")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        migrated = host.state_now()
        assert session.roundtrip().ok
        back = host.vnm("rollback")
        assert back.returncode == 0, back.stdout + back.stderr
        time.sleep(0.2)
    assert session.roundtrip().ok
    session.close()
    assert len(stream.sent) > 50 and stream.lost == [], f"lost {len(stream.lost)} of {len(stream.sent)}"
    assert others(migrated) == others(before)
    assert host.state_now() == before


def crash_points(host) -> list[str]:
    n = len(valid_envelope(host.vnm("plan", "--format", "json").stdout)["data"]["steps"])
    return [f"{i}:{w}" for i in range(n) for w in ("before", "after")] + ["commit"]


def test_crash_at_every_step_boundary_then_rollback_or_fresh_migrate(host):
    before = host.state_now()
    points = crash_points(host)
    assert len(points) == 11  # 5 steps: both families' iptables rules go in one (txn/iptexact.py)
    # The installed CLI ignores the crash variable: only tests/crashpoint.py obeys it.
    assert host.vnm("migrate", "--no-restart", env={crashpoint.ENV: points[0]}).returncode == 0
    migrated = host.state_now()
    assert host.vnm("rollback").returncode == 0 and host.state_now() == before
    for point in points:
        crashed = host.vnm("migrate", "--no-restart", crash_at=point)
        assert crashed.returncode == -9, (point, crashed.stderr)
        if point in (points[0], points[len(points) // 2], points[-1]):  # scan names it (0.5 s each)
            scan = subprocess.run([sys.executable, "-m", "vnetmigrate", "scan", "--netns", host.lab.host, "--root",
                                   str(host.root), "--state-dir", str(host.state), "--format", "json"],
                                  capture_output=True, text=True, cwd=REPO)
            findings = {f["id"] for f in valid_envelope(scan.stdout)["data"]["findings"]}
            assert "interrupted-transaction" in findings, point
        if points.index(point) % 2:  # the "after" points: recovered by a fresh migrate instead
            fresh = host.vnm("migrate", "--no-restart")
            assert fresh.returncode == 0, (point, fresh.stdout, fresh.stderr)
            assert fresh.stdout.startswith("Interrupted transaction found first:\n  ") and "[{" not in fresh.stdout
            assert host.state_now() == migrated, point
            assert host.vnm("rollback").returncode == 0
        else:
            proc = host.vnm("rollback")
            assert proc.returncode == 0, (point, proc.stdout, proc.stderr)
        assert host.state_now() == before, point
        assert host.lab.ping().ok, point


def test_second_migration_refuses_while_the_first_holds_the_lock(host):
    from vnetmigrate.txn.statedir import StateDir

    before = host.state_now()
    holder = StateDir(host.state).ensure()
    holder.lock()
    try:
        proc = host.vnm("migrate", "--no-restart")
    finally:
        holder.unlock()
    assert proc.returncode == 1 and "another vnetmigrate (pid" in proc.stderr
    assert host.state_now() == before


def test_a_migration_killed_before_its_begin_record_is_set_aside_by_the_next(host):
    """Killed between creating its journal and writing the begin record, a migration left an
    empty journal that blocked every later command until someone moved it aside. The next
    migrate sets it aside (nothing had changed) and says so, removes the temporary files of
    atomic writes a killed run leaves (planted here: a kill inside atomic_write has no
    boundary of its own), and migrates."""
    before = host.state_now()
    killed = host.vnm("migrate", "--no-restart", crash_at="created")
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert host.state_now() == before
    (txn,) = (host.state / "txn").iterdir()
    assert (txn / "journal.jsonl").read_bytes() == b""
    temp = host.root / "etc/libvirt/.network.conf.k2j4x9.vnm-tmp"
    temp.write_text('firewall_backend = "nftables"\n')
    again = host.vnm("migrate", "--no-restart")
    assert again.returncode == 0, again.stdout + again.stderr
    notes = unwrapped(again.stderr)
    assert f"transaction {txn.name} never began" in notes and f"removed {temp}" in notes
    assert (host.state / "aside" / txn.name / "journal.jsonl").exists() and not temp.exists()
    (committed,) = txn_ids(host)  # the new one; the set-aside one is no transaction any more
    assert committed != txn.name


def test_migrations_with_different_state_dirs_exclude_each_other_per_namespace(host, tmp_path):
    """Two runs with their own --state-dir once migrated one host at once (4 of 50 ended in a
    spurious exit 6): the lock is the network namespace's, not the state dir's."""
    from vnetmigrate.txn.hostlock import HostLock
    from vnetmigrate.txn.statedir import StateDir

    before = host.state_now()
    other = ["--state-dir", str(tmp_path / "other-state"), "--netns", host.lab.host, "--root", str(host.root)]
    StateDir(tmp_path / "other-state").ensure()  # so rollback has a state dir to lock
    with HostLock(host.lab.host):
        for argv in (["migrate", "--no-restart", "--force", "nftables-prerequisites"], ["rollback"]):
            proc = vnm(*argv, *other)
            assert proc.returncode == 1, proc.stdout + proc.stderr
            assert "another vnetmigrate (pid" in proc.stderr and f"network namespace {host.lab.host}" in proc.stderr
    assert host.state_now() == before
    with HostLock(None):  # another namespace's lock does not stop this one
        proc = vnm("migrate", "--no-restart", "--force", "nftables-prerequisites", *other)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_bad_input_and_environment_one_error_nothing_changed(host, tmp_path):
    before = host.state_now()
    conf = host.root / "etc/libvirt/network.conf"
    conf.write_text("firewall_backend = nftables-ish\n")
    proc = host.vnm("migrate", "--no-restart")
    assert proc.returncode in (1, 4) and "Traceback" not in proc.stderr + proc.stdout
    assert "network.conf" in proc.stderr + proc.stdout
    conf.write_text(libvirt_host.CONF)
    assert host.state_now() == before
    host.state.mkdir(exist_ok=True)
    blocked = tmp_path / "file-state"
    blocked.write_text("x")
    proc = subprocess.run([sys.executable, "-m", "vnetmigrate", "migrate", "--no-restart", "--netns", host.lab.host,
                           "--root", str(host.root), "--state-dir", str(blocked)], capture_output=True, text=True,
                          cwd=REPO)
    assert proc.returncode == 1 and "not a directory" in unwrapped(proc.stderr) and unwrapped(proc.stderr).count("\n") <= 2
    nobody = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                             "vnetmigrate", "migrate", "--state-dir", str(host.state)], capture_output=True, text=True,
                            cwd=REPO)
    assert nobody.returncode == 1 and "needs root" in nobody.stderr
    no_nft = subprocess.run(["unshare", "--mount", "sh", "-c",
                             "mount --bind /dev/null /usr/sbin/nft && exec \"$@\"", "sh", sys.executable, "-m",
                             "vnetmigrate", "migrate", "--no-restart", "--netns", host.lab.host, "--root",
                             str(host.root), "--state-dir", str(host.state)], capture_output=True, text=True, cwd=REPO)
    assert no_nft.returncode == 4 and "target-tool-missing" in no_nft.stdout, no_nft.stdout + no_nft.stderr
    assert "cannot be forced" in no_nft.stdout
    assert host.state_now() == before


def test_the_listing_check_sees_a_missing_rule_and_a_duplicate(host):
    """The verification migrate relies on, against a live ruleset it must reject."""
    from vnetmigrate.libvirt import nft_text, parse_status
    from vnetmigrate.netns import entered
    from vnetmigrate.txn.livecheck import expected_nft_lines, nft_listing_problems

    status = [(libvirt_host.DATA / "status/default.xml").read_text()]
    expected = expected_nft_lines(status, "11.3")
    host.lab.nft(nft_text([parse_status(status[0]).network], "11.3"))
    with entered(host.lab.host):
        assert nft_listing_problems(expected, final=False) == []
        assert [p for p in nft_listing_problems(expected, final=True) if "LIBVIRT" not in p] == []
        host.lab.nft('delete rule ip libvirt_network guest_output handle '
                     + host.lab.run(["nft", "-a", "list", "chain", "ip", "libvirt_network", "guest_output"])
                     .stdout.split("accept # handle ")[1].split()[0])
        assert [p for p in nft_listing_problems(expected, final=False)] == [
            'missing: ip guest_output ip saddr 192.168.122.0/24 iif "virbr0" counter accept']
        host.lab.nft('insert rule ip libvirt_network guest_cross iif "virbr0" oif "virbr0" counter accept')
        assert 'not expected (a duplicate or a leftover): ip guest_cross iif "virbr0" oif "virbr0" counter accept' \
            in nft_listing_problems(expected, final=True)


def test_failed_restart_is_rolled_back_exit_5_and_a_failed_rollback_exit_6(host, tmp_path):
    """The restart command fails: everything is undone (5). When even the restart during the
    rollback fails, the host needs attention (6), history says so, and `rollback` retries
    (running the recorded restart command again)."""
    before = host.state_now()
    flag = tmp_path / "failed-once"
    once = f"sh -c 'test -e {flag} || {{ touch {flag}; exit 1; }}'"
    proc = host.vnm("migrate", "--restart-command", once, "--format", "json")
    assert proc.returncode == 5, proc.stdout + proc.stderr
    txn = valid_envelope(proc.stdout)["data"]["transaction"]
    assert txn["status"] == "rolled-back" and "exit 1" in txn["error"]
    assert host.state_now() == before
    counter = tmp_path / "calls"
    twice = f"sh -c 'n=$(cat {counter} 2>/dev/null || echo 0); echo $((n + 1)) > {counter}; test $n -ge 2'"
    always = host.vnm("migrate", "--restart-command", twice)  # fails, and fails again in the rollback
    assert always.returncode == 6, always.stdout + always.stderr
    assert "ROLLBACK INCOMPLETE" not in always.stdout  # migrate prints its transaction's outcome
    hist = host.vnm("history", "--format", "json")
    assert hist.returncode == 6
    assert valid_envelope(hist.stdout)["data"]["transactions"][0]["status"] == "needs-attention"
    assert host.state_now() == before  # every kernel object and file is back; only the restart failed
    retry = host.vnm("rollback")  # the daemon restarts this time (third call)
    assert retry.returncode == 0, retry.stdout + retry.stderr
    assert host.vnm("history").returncode == 0


def test_libvirt_chains_in_legacy_tables_are_migrated_and_restored(lab, tmp_path):
    """libvirt ran with iptables-legacy: its chains are in x_tables. They go (through
    python-iptables) and come back on rollback, and no other legacy table appears."""
    host = Host.__new__(Host)
    host.lab, host.root, host.state = lab, tmp_path / "root", tmp_path / "state"
    lab.iptables_restore((libvirt_host.DATA / "iptables-save.txt").read_text(), legacy=True)
    lab.iptables_restore((libvirt_host.DATA / "ip6tables-save.txt").read_text(), family=6, legacy=True)
    libvirt_host.install(lab, host.root, rules=False)
    from tests.sandbox.rules import legacy_tables

    tables = legacy_tables(lab.host)
    saves = {f: lab.iptables_save(family=f, legacy=True) for f in (4, 6)}
    proc = host.vnm("migrate", "--no-restart", "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [s["kind"] for s in valid_envelope(proc.stdout)["data"]["steps"]] == ["nft", "verify", "legacy", "legacy",
                                                                            "file", "verify"]
    assert "LIBVIRT" not in lab.iptables_save(legacy=True) + lab.iptables_save(family=6, legacy=True)
    assert legacy_tables(lab.host) == tables
    assert lab.ping().ok and lab.tcp().ok
    back = host.vnm("rollback")
    assert back.returncode == 0, back.stdout + back.stderr
    strip = lambda t: re.sub(r"\[\d+:\d+\]", "[0:0]", t)  # noqa: E731
    assert {f: strip(lab.iptables_save(family=f, legacy=True)) for f in (4, 6)} == \
        {f: strip(t) for f, t in saves.items()}
    assert legacy_tables(lab.host) == tables
    assert lab.ping().ok


def test_after_a_no_restart_migration_and_a_later_restart_migrate_removes_the_duplicates(host):
    """The daemon restarted by hand re-created every rule on top of ours: `migrate` plans
    only the removal of the extra copies, and the result is exactly libvirt's rules."""
    from vnetmigrate.libvirt import nft_text, parse_status

    assert host.vnm("migrate", "--no-restart").returncode == 0
    migrated = host.state_now()
    net = parse_status((libvirt_host.DATA / "status/default.xml").read_text()).network
    per_network = [ln for ln in nft_text([net], "11.3").splitlines() if ln.startswith("insert rule")]
    host.lab.nft("\n".join(per_network))  # what the restarted daemon would add (no recipe update here)
    plan = valid_envelope(host.vnm("plan", "--format", "json").stdout)["data"]
    assert [s["kind"] for s in plan["steps"]] == ["dedupe", "verify"] and plan["summary"]["duplicates"] == 16
    proc = host.vnm("migrate", "--no-restart")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert host.state_now() == migrated


def vnm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vnetmigrate", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=120)


def test_every_command_defaults_to_the_state_dir_under_root(host):
    """Without --state-dir, plan, migrate, rollback and history use /var/lib/vnetmigrate under
    --root, as scan does: the journals describe the machine whose files migrate changes."""
    where = ["--root", str(host.root)]
    default = host.root / "var/lib/vnetmigrate"
    listed = vnm("history", *where)  # before anything is written: history has --root too
    assert listed.returncode == 0 and unwrapped(listed.stdout) == f"no transactions in {default}\n", listed.stderr
    before = host.state_now()
    proc = vnm("migrate", "--no-restart", "--netns", host.lab.host, *where, "--force", "nftables-prerequisites")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (txn,) = (default / "txn").iterdir()
    assert (txn / "snapshot.json").stat().st_mode & 0o777 == 0o600  # it holds rulesets and configuration
    assert default.stat().st_mode & 0o777 == 0o700
    hist = valid_envelope(vnm("history", *where, "--format", "json").stdout)
    assert [t["id"] for t in hist["data"]["transactions"]] == [txn.name]
    assert hist["data"]["state_dir"] == str(default)
    migrated = host.state_now()
    # The journal says where the transaction ran: a command line naming elsewhere is refused
    # (a journal is data: it must not choose where root writes), and says what would match.
    elsewhere = vnm("rollback", *where)
    assert elsewhere.returncode == 1 and f"--netns {host.lab.host}" in unwrapped(elsewhere.stderr), elsewhere.stderr
    assert "refused, nothing was changed" in unwrapped(elsewhere.stderr) and host.state_now() == migrated
    journal = txn / "journal.jsonl"
    lines = journal.read_text().splitlines(keepends=True)
    genuine = lines[0]
    lines[0] = genuine.replace(json.dumps(str(host.root))[1:-1], "/")  # a crafted journal: the host's /
    journal.write_text("".join(lines))
    crafted = vnm("rollback", "--netns", host.lab.host, *where)
    assert crafted.returncode == 1 and "ran with --root / " in unwrapped(crafted.stderr), crafted.stderr
    assert host.state_now() == migrated
    journal.write_text(genuine + "".join(lines[1:]))
    back = vnm("rollback", "--netns", host.lab.host, *where)
    assert back.returncode == 0 and txn.name in back.stdout, back.stdout + back.stderr
    assert host.state_now() == before


def test_rollback_and_history_on_a_missing_or_bogus_state_dir(tmp_path):
    missing = tmp_path / "none"
    nothing = vnm("rollback", "--state-dir", str(missing))
    assert nothing.returncode == 0 and "nothing to roll back" in nothing.stdout, nothing.stderr
    named = vnm("rollback", "20260101T000000.000000Z-aaaaaa", "--state-dir", str(missing))
    assert named.returncode == 1 and "no transaction" in named.stderr
    assert not missing.exists()
    bogus = tmp_path / "file"
    bogus.write_text("x\n")
    for argv in (["history"], ["rollback"], ["history", "--format", "json"]):
        proc = vnm(*argv, "--state-dir", str(bogus))
        assert proc.returncode == 1 and "is not a directory" in unwrapped(proc.stderr), (argv, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
    assert bogus.read_text() == "x\n"


def txn_ids(host) -> list[str]:
    return [t["id"] for t in reversed(valid_envelope(host.vnm("history", "--format", "json").stdout)["data"]
                                      ["transactions"])]


def test_a_restart_command_that_cannot_run_is_refused_before_anything_changes(host, tmp_path):
    before = host.state_now()
    script = tmp_path / "restart.sh"
    script.write_text("#!/bin/sh\nexit 0\n")  # not executable
    for command, why in (("no-such-restart-program --now", "'no-such-restart-program' is not found in PATH"),
                         (str(script), f"{script} is not an executable file")):
        for verb in ("plan", "migrate"):
            proc = host.vnm(verb, "--restart-command", command)
            assert proc.returncode == 1 and why in unwrapped(proc.stderr), (verb, proc.stdout, proc.stderr)
    script.chmod(0o755)
    proc = host.vnm("plan", "--restart-command", f"{script} libvirtd", "--format", "json")
    assert valid_envelope(proc.stdout)["data"]["summary"]["restart"] == [str(script), "libvirtd"], proc.stderr
    assert host.state_now() == before and txn_ids(host) == []


def test_a_failing_restart_command_is_replaced_or_skipped_by_rollback(host):
    """`false` restarts nothing: migrate and every rollback that re-runs it need attention
    (6); `rollback --no-restart` or `--restart-command CMD` finishes the job; migrate refuses
    while a transaction needs attention, and plan says so."""
    before = host.state_now()
    proc = host.vnm("migrate", "--restart-command", "false")
    assert proc.returncode == 6, proc.stdout + proc.stderr
    (first,) = txn_ids(host)
    assert f"Transaction {first} FAILED" in proc.stdout and "{'id'" not in proc.stdout
    assert host.vnm("rollback").returncode == 6  # the journaled `false` again
    plan = host.vnm("plan", "--format", "json")
    refusal = [b for b in valid_envelope(plan.stdout)["data"]["blockers"] if b["id"] == "interrupted-transaction"]
    assert plan.returncode == 4 and len(refusal) == 1 and not refusal[0]["forcible"]
    assert first in refusal[0]["title"] and "needs attention" in refusal[0]["title"]
    for force in ([], ["--force", "interrupted-transaction"]):
        refused = host.vnm("migrate", "--no-restart", *force)
        assert refused.returncode == 4 and first in refused.stdout and "Refused" in refused.stdout, refused.stdout
    assert host.state_now() == before and txn_ids(host) == [first]
    skipped = host.vnm("rollback", "--no-restart")
    assert skipped.returncode == 0 and "was not restarted" in skipped.stdout, skipped.stdout + skipped.stderr
    journal = (host.state / "txn" / first / "journal.jsonl").read_text()
    assert '"restart_how":"not restarted (--no-restart)"' in journal
    assert host.state_now() == before
    assert host.vnm("migrate", "--restart-command", "false").returncode == 6
    second = txn_ids(host)[-1]
    replaced = host.vnm("rollback", second, "--restart-command", "true")
    assert replaced.returncode == 0, replaced.stdout + replaced.stderr
    assert host.vnm("history").returncode == 0 and host.state_now() == before


def test_rollback_never_restores_an_old_snapshot_over_a_later_committed_transaction(host, tmp_path):
    before = host.state_now()
    assert host.vnm("migrate", "--restart-command", "false").returncode == 6
    (old,) = txn_ids(host)
    # What an earlier version let happen: a migration committed on top of it.
    aside = tmp_path / old
    (host.state / "txn" / old).rename(aside)
    assert host.vnm("migrate", "--no-restart").returncode == 0
    aside.rename(host.state / "txn" / old)
    (_, later) = txn_ids(host)
    migrated = host.state_now()
    for argv in (["rollback"], ["rollback", old], ["rollback", "--no-restart"]):
        proc = host.vnm(*argv)
        assert proc.returncode == 1 and f"{later} committed after it" in unwrapped(proc.stderr), (argv, proc.stderr)
        assert f"vnetmigrate rollback {later}" in unwrapped(proc.stderr) and "Traceback" not in proc.stderr
        assert host.state_now() == migrated
    forced = host.vnm("rollback", old, "--force", "--no-restart")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert host.state_now() == before


# Longer than the 16 MiB a configuration file is read up to (vnetmigrate.bounded.CONFIG_LIMIT).
OVERSIZED = b"firewall_backend = \"iptables\"\n" + b"#" * (16 * 1024 * 1024 + 100) + b"\n"


@pytest.mark.parametrize("kind", ["latin-1", "directory", "symlink", "oversized"])
def test_a_network_conf_migrate_cannot_rewrite_stops_plan_and_migrate(host, kind):
    """A Latin-1 comment would be corrupted by a rewrite, a directory or a link would be
    replaced, a file over the read limit would be cut short (it was: migrate committed the
    first 16 MiB): an unforcible blocker, and the file is left exactly as it was."""
    conf = host.root / "etc/libvirt/network.conf"
    latin = b"# r\xe9seau de l'h\xf4te\nfirewall_backend = \"iptables\"\n"
    if kind == "latin-1":
        conf.write_bytes(latin)
    elif kind == "oversized":
        conf.write_bytes(OVERSIZED)
    elif kind == "directory":
        conf.unlink()
        conf.mkdir()
    else:
        conf.rename(conf.with_name("network.conf.real"))
        conf.symlink_to("network.conf.real")
    kernel = {"ipt": host.saves(), "nft": nft_view(host.lab.host)}
    plan = host.vnm("plan", "--format", "json")
    blockers = {b["id"]: b for b in valid_envelope(plan.stdout)["data"]["blockers"]}
    assert plan.returncode == 4 and not blockers["network-conf-unusable"]["forcible"], plan.stdout + plan.stderr
    assert str(conf) in blockers["network-conf-unusable"]["title"]
    proc = host.vnm("migrate", "--no-restart", "--force", "network-conf-unusable")
    assert proc.returncode == 4 and "BLOCKER network-conf-unusable" in proc.stdout and "cannot be forced" in proc.stdout
    assert "internal error" not in proc.stderr
    assert {"ipt": host.saves(), "nft": nft_view(host.lab.host)} == kernel and txn_ids(host) == []
    if kind == "latin-1":
        assert conf.read_bytes() == latin
    elif kind == "oversized":
        assert conf.read_bytes() == OVERSIZED
        assert "larger than 16 MiB" in blockers["network-conf-unusable"]["title"]
    elif kind == "directory":
        assert conf.is_dir()
    else:
        assert conf.is_symlink()


def test_nftables_blockers_stop_a_migration_although_network_conf_pins_iptables(host):
    """network.conf pins iptables (the state before any migration), so scan judges no
    nftables backend; plan and migrate judge the host as `migrate --to nftables` leaves it:
    Docker's FORWARD DROP policy stops them until the DOCKER-USER workaround is in place."""
    lab = host.lab
    lab.iptables_restore(fixtures.DOCKER_28)
    before = host.state_now()
    scan = vnm("scan", "--netns", lab.host, "--root", str(host.root), "--state-dir", str(host.state),
               "--format", "json")
    assert "docker-forward-drop" not in {f["id"] for f in valid_envelope(scan.stdout)["data"]["findings"]
                                         if f["severity"] == "blocker"}  # scan: unchanged
    plan = host.vnm("plan", "--format", "json")
    found = {b["id"]: b for b in valid_envelope(plan.stdout)["data"]["blockers"]}
    assert plan.returncode == 4 and found["docker-forward-drop"]["forcible"], plan.stdout + plan.stderr
    text = host.vnm("plan")
    assert "BLOCKER docker-forward-drop: Docker's FORWARD DROP policy blocks guest traffic after" in \
        " ".join(text.stdout.split())  # wrapped at 80 columns
    refused = host.vnm("migrate", "--no-restart")
    assert refused.returncode == 4 and "docker-forward-drop" in refused.stdout, refused.stdout + refused.stderr
    assert host.state_now() == before
    assert valid_envelope(host.vnm("plan", "--to", "iptables", "--format", "json").stdout)["data"]["blockers"] == []
    for argv in fixtures.DOCKER_USER_WORKAROUND:
        lab.iptables(*argv)
    plan = host.vnm("plan", "--format", "json")
    assert "docker-forward-drop" not in {b["id"] for b in valid_envelope(plan.stdout)["data"]["blockers"]}
    proc = host.vnm("migrate", "--no-restart")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert lab.ping().ok and lab.tcp().ok


def test_after_migrate_no_restart_scan_keeps_the_new_rules_and_asks_for_a_restart(host):
    """The status files still name iptables: scan must neither offer to delete the nftables
    rules guests now depend on nor call the iptables rules missing; one warning says why."""
    assert host.vnm("migrate", "--no-restart").returncode == 0
    migrated = host.state_now()
    scan = vnm("scan", "--netns", host.lab.host, "--root", str(host.root), "--state-dir", str(host.state),
               "--format", "json")
    findings = {f["id"]: f for f in valid_envelope(scan.stdout)["data"]["findings"]}
    pending = findings["libvirt-restart-pending"]
    assert pending["severity"] == "warning" and pending["title"].endswith("its status files still name iptables")
    assert "systemctl restart" in pending["workarounds"][0]["commands"][0]
    assert {"libvirt-leftover-rules", "libvirt-leftover-chains", "libvirt-rules-missing"}.isdisjoint(findings)
    commands = [c for f in findings.values() for w in f["workarounds"] for c in w["commands"]]
    assert not [c for c in commands if "libvirt_network" in c and "delete" in c], commands
    assert "Nothing to do" in host.vnm("migrate", "--no-restart").stdout and host.state_now() == migrated
    assert host.lab.ping().ok


def rollback_crash_points(host) -> list[str]:
    n = len(valid_envelope(host.vnm("plan", "--format", "json").stdout)["data"]["steps"])
    return [f"{i}:{w}" for i in reversed(range(n)) for w in ("undo", "undone")] + ["rolled-back"]


def test_a_killed_rollback_of_a_committed_migration_is_finished_by_the_next_rollback(host):
    """SIGKILL at every boundary of `rollback` (before each undo, after it, before the final
    record): the journal says interrupted, scan and history say so, and the next `rollback`
    (bare, or naming the transaction) brings back the fully-old state."""
    before = host.state_now()
    points = rollback_crash_points(host)
    assert len(points) == 11  # 5 steps: both families' iptables rules go in one (txn/iptexact.py)
    half_way = 0
    for n, point in enumerate(points):
        assert host.vnm("migrate", "--no-restart").returncode == 0, point
        migrated = host.state_now()
        crashed = host.vnm("rollback", crash_at=point)
        assert crashed.returncode == -9, (point, crashed.stdout, crashed.stderr)
        half_way += host.state_now() not in (migrated, before)
        history = host.vnm("history", "--format", "json")
        latest = max(valid_envelope(history.stdout)["data"]["transactions"], key=lambda t: t["id"])
        assert latest["status"] == "incomplete", (point, latest)
        if n in (0, len(points) // 2, len(points) - 1):  # scan names it (0.5 s each)
            scan = subprocess.run([sys.executable, "-m", "vnetmigrate", "scan", "--netns", host.lab.host, "--root",
                                   str(host.root), "--state-dir", str(host.state), "--format", "json"],
                                  capture_output=True, text=True, cwd=REPO)
            assert "interrupted-transaction" in {f["id"] for f in valid_envelope(scan.stdout)["data"]["findings"]}
        again = host.vnm("rollback", *([latest["id"]] if n % 2 else []))
        assert again.returncode == 0, (point, again.stdout, again.stderr)
        assert host.state_now() == before, point
        assert host.lab.ping().ok, point
    assert half_way >= 6  # the kills left the host between the states, not just before or after
