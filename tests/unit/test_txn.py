"""The transaction engine's pure parts: journal records, restore builders, steps, state dir, CLI."""

from __future__ import annotations

import json
import os

import pytest

from tests.unit.cli_runner import cli_runner
from tests.unit.schema_check import valid_envelope
from vnetmigrate.cli import app
from vnetmigrate.txn import journal, restore, snapshot, steps
from vnetmigrate.txn.journal import Journal, JournalCorrupt
from vnetmigrate.txn.statedir import StateDir, StateDirError


def write_journal(directory, *records: dict, tail: bytes = b"") -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "journal.jsonl", "wb") as fh:
        for r in records:
            fh.write(json.dumps({"time": 1.0, **r}).encode() + b"\n")
        fh.write(tail)


@pytest.mark.parametrize("records,status", [
    ([{"rec": "begin"}, {"rec": "intent", "step": 0}], "incomplete"),
    ([{"rec": "begin"}, {"rec": "commit"}], "committed"),
    ([{"rec": "begin"}, {"rec": "commit"}, {"rec": "rollback"}, {"rec": "rolled-back"}], "rolled-back"),
    ([{"rec": "begin"}, {"rec": "rollback"}, {"rec": "rollback-failed"}], "needs-attention"),
])
def test_status_comes_from_the_last_terminal_record(tmp_path, records, status):
    write_journal(tmp_path / "t1", *records)
    assert journal.read(tmp_path / "t1").status == status


def test_a_torn_last_record_was_never_acknowledged(tmp_path):
    write_journal(tmp_path / "t", {"rec": "begin"}, {"rec": "intent", "step": 0}, tail=b'{"rec": "done", "st')
    summary = journal.read(tmp_path / "t")
    assert summary.started_steps == [0] and summary.done(0) is None
    jr = Journal.append_to(tmp_path / "t")  # reopening for recovery cuts the torn tail
    jr.append("rollback", reason="test")
    jr.close()
    assert [r["rec"] for r in journal.read(tmp_path / "t").records] == ["begin", "intent", "rollback"]


@pytest.mark.parametrize("content,match", [
    (b'{"rec": "begin"}\nnot json\n', "corrupt at line 2"),
    (b'{"rec": "intent", "step": 0}\n', "does not start with a begin record"),
    (b'{"rec": "begin"}\n{"rec": "intent"}\n', "without a step number"),
    (b'{"rec": "begin"}\n{"rec": "launch"}\n', "not a journal record"),
])
def test_corrupt_journal_is_one_error(tmp_path, content, match):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "journal.jsonl").write_bytes(content)
    with pytest.raises(JournalCorrupt, match=match):
        journal.read(tmp_path / "t")


def test_records_are_appended_one_line_each(tmp_path):
    jr = Journal.create(tmp_path)
    jr.append("begin", title="x")
    jr.append("intent", step=0, do={"kind": "nft"}, undo={"restore": {}})
    jr.close()
    lines = (tmp_path / "journal.jsonl").read_text().splitlines()
    assert [json.loads(ln)["rec"] for ln in lines] == ["begin", "intent"]


def test_lock_names_the_holder(tmp_path):
    first = StateDir(tmp_path / "s").ensure()
    first.lock()
    try:
        with pytest.raises(StateDirError, match=f"pid {os.getpid()}"):
            StateDir(tmp_path / "s").lock()
    finally:
        first.unlock()
    StateDir(tmp_path / "s").lock()  # free again once released


def test_nft_restore_replaces_the_table_in_one_batch():
    want = [{"table": {"family": "ip", "name": "t"}},
            {"chain": {"family": "ip", "table": "t", "name": "c"}},
            {"rule": {"family": "ip", "table": "t", "chain": "c", "expr": [{"accept": None}]}}]
    live = want[:2]
    cmds = restore.nft_table("ip t", want, live)
    assert cmds[0] == {"delete": {"table": {"family": "ip", "name": "t"}}}
    assert [next(iter(c["add"])) for c in cmds[1:]] == ["table", "chain", "rule"]
    assert restore.nft_table("ip t", want, want) == []
    assert restore.nft_table("ip t", None, live) == [{"delete": {"table": {"family": "ip", "name": "t"}}}]
    assert restore.nft_table("ip t", None, None) == []


def test_ipt_restore_puts_jumps_back_at_their_positions_and_never_names_foreign_rules():
    want = {"present": True, "chains": {"LIBVIRT_FWX": ["-A LIBVIRT_FWX -i virbr0 -o virbr0 -j ACCEPT"]},
            "builtins": {"FORWARD": ["-A FORWARD -j LIBVIRT_FWX", "-A FORWARD -j DOCKER-USER"]}}
    live = {"present": True, "chains": {"LIBVIRT_FWX": None},
            "builtins": {"FORWARD": ["-A FORWARD -j DOCKER-USER", "-A FORWARD -j DOCKER-FORWARD"]}}
    text = restore.ipt_table("filter", want, live)
    assert text.splitlines() == ["*filter", ":LIBVIRT_FWX - [0:0]", "-A LIBVIRT_FWX -i virbr0 -o virbr0 -j ACCEPT",
                                 "-I FORWARD 1 -j LIBVIRT_FWX", "COMMIT"]
    back = restore.ipt_table("filter", live, want)  # the other way: jump deleted, chain removed
    assert back.splitlines() == ["*filter", "-D FORWARD -j LIBVIRT_FWX", ":LIBVIRT_FWX - [0:0]",
                                 "-X LIBVIRT_FWX", "COMMIT"]
    assert "DOCKER" not in text + back
    assert restore.ipt_table("filter", want, want) == ""


def test_view_ignores_handles_counters_and_foreign_rules_in_builtin_chains():
    a = {"nft": {"ip t": [{"rule": {"family": "ip", "table": "t", "chain": "c", "expr": [{"counter": None}]}}]},
         "ipt": {"ipv4 filter": {"present": True, "chains": {"LIBVIRT_FWX": []},
                                 "builtins": {"FORWARD": ["-A FORWARD -j LIBVIRT_FWX"]}}},
         "files": {"/etc/x": "1"}}
    b = json.loads(json.dumps(a))
    b["ipt"]["ipv4 filter"]["builtins"]["FORWARD"].append("-A FORWARD -j DOCKER-USER")
    assert snapshot.fingerprint(a) == snapshot.fingerprint(b) and snapshot.differences(a, b) == []
    b["files"]["/etc/x"] = "2"
    assert snapshot.differences(a, b) == ["files /etc/x"]


def test_differences_compare_only_the_chains_the_rollback_captured():
    """A plan's snapshot names every chain of the plan (a restart's VNM_GUARD too); a rollback of
    its first steps captures what those touched: the others are not compared (they made a
    rollback after a crash before any step report "differs from the snapshot")."""
    plan = {"nft": {}, "files": {},
            "ipt": {"ipv4 filter": {"present": True, "chains": {"LIBVIRT_FWX": [], "VNM_GUARD": ["-A VNM_GUARD -j X"]},
                                    "builtins": {"FORWARD": ["-A FORWARD -j VNM_GUARD", "-A FORWARD -j LIBVIRT_FWX"]}}}}
    first = {"nft": {}, "files": {},
             "ipt": {"ipv4 filter": {"present": True, "chains": {"LIBVIRT_FWX": []},
                                     "builtins": {"FORWARD": ["-A FORWARD -j LIBVIRT_FWX"]}}}}
    assert snapshot.differences(plan, first) == []
    first["ipt"]["ipv4 filter"]["chains"]["LIBVIRT_FWX"] = ["-A LIBVIRT_FWX -j ACCEPT"]
    assert snapshot.differences(plan, first) == ["ipt ipv4 filter"]


def test_differences_in_any_order_and_only_of_the_chains_captured():
    """After libvirt's daemon re-created its rules, two networks' blocks may come in another order
    (`any_order`); a chain the live capture does not name (a step that never ran touched it) is
    not compared, though another chain of its table is."""
    rule = lambda bridge: {"rule": {"family": "ip", "table": "libvirt_network", "chain": "guest_output",  # noqa: E731
                                    "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iif"}}, "right": bridge}},
                                             {"accept": None}]}}
    a = {"nft": {"ip libvirt_network": [rule("virbr0"), rule("virbr1")]},
         "ipt": {"ipv4 filter": {"present": True, "chains": {"LIBVIRT_FWO": ["-A LIBVIRT_FWO -i virbr0 -j ACCEPT",
                                                                            "-A LIBVIRT_FWO -i virbr1 -j ACCEPT"],
                                                            "NEVER_TOUCHED": None}, "builtins": {}}},
         "files": {}}
    b = {"nft": {"ip libvirt_network": [rule("virbr1"), rule("virbr0")]},
         "ipt": {"ipv4 filter": {"present": True, "chains": {"LIBVIRT_FWO": ["-A LIBVIRT_FWO -i virbr1 -j ACCEPT",
                                                                            "-A LIBVIRT_FWO -i virbr0 -j ACCEPT"]},
                                 "builtins": {}}},
         "files": {}}
    assert snapshot.differences(a, b) == ["nft ip libvirt_network", "ipt ipv4 filter"]
    assert snapshot.differences(a, b, any_order=True) == []
    b["nft"]["ip libvirt_network"].append(rule("virbr0"))  # a copy too many is no reordering
    assert snapshot.differences(a, b, any_order=True) == ["nft ip libvirt_network"]


def test_steps_round_trip_and_carry_their_undo():
    s = steps.file("conf", "/etc/libvirt/network.conf", "new\n", None)
    assert steps.Step.from_dict(json.loads(json.dumps(s.to_dict()))) == s
    assert s.undo_record() == {"restore": {"nft_tables": [], "ipt_chains": [], "files": ["/etc/libvirt/network.conf"]},
                      "old_content": None}
    r = steps.restart("restart", ["systemctl", "restart", "virtnetworkd"])
    assert r.undo_record()["restart_after_restore"] == ["systemctl", "restart", "virtnetworkd"] and r.changes_kernel
    with pytest.raises(ValueError):
        steps.Step.from_dict({"kind": "shell", "title": "no", "data": {}, "touches": {}})


def test_history_lists_outcomes_and_flags_what_needs_attention(tmp_path):
    txn = tmp_path / "txn"
    write_journal(txn / "20260101T000000Z-aaaaaa", {"rec": "begin", "title": "first", "steps": 2},
                  {"rec": "commit"})
    write_journal(txn / "20260102T000000Z-bbbbbb", {"rec": "begin", "title": "second", "steps": 2},
                  {"rec": "intent", "step": 0})
    (txn / "20260103T000000Z-cccccc").mkdir()
    (txn / "20260103T000000Z-cccccc" / "journal.jsonl").write_text("garbage\n")
    result = cli_runner().invoke(app, ["history", "--state-dir", str(tmp_path), "--format", "json"])
    doc = valid_envelope(result.stdout, "history-v1")
    assert result.exit_code == 6 and doc["command"] == "history"
    assert [t["status"] for t in doc["data"]["transactions"]] == ["corrupt", "incomplete", "committed"]
    text = cli_runner().invoke(app, ["history", "--state-dir", str(tmp_path / "none")])
    assert text.exit_code == 0 and "no transactions" in text.stdout


def test_transactions_made_within_one_second_keep_their_order(tmp_path, monkeypatch):
    """Ids carry microseconds and each new one is later than every id there: history lists and
    `rollback` picks the newest as they were made, also within one microsecond or with the
    clock stepped back; ids of earlier versions (whole seconds) are ordered by their begin record."""
    from vnetmigrate.txn import recovery, statedir
    from vnetmigrate.usecases.history import records

    state = StateDir(tmp_path).ensure()
    instant = 1_767_225_600_000_000_000
    made = []
    for now in [instant] * 4 + [instant - 3_600_000_000_000] * 2:  # six at once, two after a clock step back
        monkeypatch.setattr(statedir, "_clock", lambda now=now: now)
        d = state.new_txn_dir()
        write_journal(d, {"rec": "begin", "title": d.name}, {"rec": "commit"})
        made.append(d.name)
    assert [d.name for d in state.txn_dirs()] == made
    assert [r.id for r in records(tmp_path)] == made
    assert recovery.latest_committed(state).id == made[-1]
    old = tmp_path / "old"
    for name, begun in (("20260101T000000Z-aaaaaa", 3.5), ("20260101T000000Z-bbbbbb", 1.25),
                        ("20260101T000000Z-cccccc", 2.0), ("20251231T235959Z-ffffff", 9.0)):
        write_journal(old / "txn" / name, {"rec": "begin", "time": begun})
    assert [d.name[-6:] for d in StateDir(old).txn_dirs()] == ["ffffff", "bbbbbb", "cccccc", "aaaaaa"]


@pytest.mark.parametrize("make,says", [
    (lambda p: p.write_bytes(b"# r\xe9seau\n"), r"network.conf is not UTF-8 text \(byte 0xe9 at offset 3\)"),
    (lambda p: p.mkdir(), r"network.conf is a directory, not a regular file"),
])
def test_the_engine_names_the_file_it_cannot_snapshot_and_records_nothing(tmp_path, make, says):
    from vnetmigrate.txn import engine

    conf = tmp_path / "root/etc/libvirt/network.conf"
    conf.parent.mkdir(parents=True)
    make(conf)
    plan = steps.Plan("t", (steps.file("switch", "/etc/libvirt/network.conf", 'firewall_backend = "nftables"\n',
                                       None),))
    state = StateDir(tmp_path / "state").ensure()
    with pytest.raises(snapshot.FileUnusable, match=says) as err:
        engine.run(plan, state, tmp_path / "root")
    assert str(tmp_path / "state") not in err.value.message
    assert state.txn_dirs() == [] and not any((tmp_path / "state/txn").iterdir())


def test_migrate_with_a_root_that_does_not_exist_is_one_error_and_creates_nothing(tmp_path):
    """The default state dir lies under --root: migrate created it (and so the root) before it
    checked the root, then migrated a host made of nothing. Now the root is checked first."""
    from vnetmigrate.errors import InputError
    from vnetmigrate.usecases.migrate import migrate
    from vnetmigrate.usecases.plan import Options

    root = tmp_path / "no-such-root"
    opts = Options("nftables", "vnm-never-created", root, root / "var/lib/vnetmigrate")
    with pytest.raises(InputError, match="--root .*no-such-root: not a directory"):
        migrate(opts)
    assert list(tmp_path.iterdir()) == []
