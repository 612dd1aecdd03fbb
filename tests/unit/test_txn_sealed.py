"""Sealed summaries of finished journals (txnstore.sealed, journal.seal): read instead of the
journal while it is unchanged, never when anything about them is off, and never for a
transaction that is still running. The lab tests roll back committed transactions through
them (a rollback's own tidy seals the journal it then undoes)."""

from __future__ import annotations

import json
import os

import pytest

from vnetmigrate import txnstore
from vnetmigrate.txn import journal, recovery
from vnetmigrate.txn.journal import Journal
from vnetmigrate.txn.statedir import StateDir

STEPS = [{"kind": "nft", "title": f"step {i}", "data": {"commands": [f"add rule ip t c{n}" for n in range(200)]},
          "touches": {"nft": ["ip t"]}} for i in range(3)]


def _finished(directory, *tail: tuple[str, dict]):
    """A journal as the engine writes it: begin, snapshot, intents and dones, then `tail`."""
    directory.mkdir(parents=True)
    jr = Journal.create(directory)
    jr.append("begin", command="migrate", title="migrate libvirt's firewall to nftables", steps=len(STEPS),
              netns=None, root="/", pid=1, touched={"files": ["/etc/libvirt/network.conf"]})
    jr.append("snapshot", file="snapshot.json", fingerprint="f0")
    for i, step in enumerate(STEPS):
        jr.append("intent", step=i, do=step, undo={"restore": {"nft": ["ip t"]}})
        jr.append("done", step=i, result={"seconds": 0.01})
    for rec, fields in tail:
        jr.append(rec, **fields)
    jr.close()
    return directory


def _without_data(records):
    return [{k: v for k, v in r.items() if k != "do"} if r["rec"] == "intent" else r for r in records]


@pytest.fixture
def committed(tmp_path):
    return _finished(tmp_path / "txn" / "20261207T000000.000001Z-aaaaaa", ("commit", {"fingerprint": "f1"}))


def test_a_sealed_journal_reads_as_itself_without_the_steps_data(committed):
    full = journal.read(committed)
    assert journal.seal(committed)
    summary = journal.read(committed)
    assert summary.sealed and not full.sealed
    assert summary.records == _without_data(full.records) and summary.begin == full.begin
    assert summary.to_dict() == full.to_dict() and summary.status == "committed"
    assert journal.read(committed, full=True).records == full.records
    assert os.path.getsize(committed / txnstore.SEALED) < os.path.getsize(committed / journal.NAME) / 5
    assert oct(os.stat(committed / txnstore.SEALED).st_mode & 0o777) == "0o600"


def test_a_running_transaction_is_never_sealed(tmp_path):
    running = _finished(tmp_path / "t")  # no terminal record: killed, or still going
    assert not journal.seal(running)
    assert not (running / txnstore.SEALED).exists()
    rolling = _finished(tmp_path / "u", ("commit", {}), ("rollback", {"reason": "asked"}))
    assert journal.read(rolling).status == "incomplete" and not journal.seal(rolling)


def test_a_journal_appended_to_after_sealing_is_read_again(committed):
    assert journal.seal(committed)
    jr = Journal.append_to(committed)  # a rollback of the committed transaction
    jr.append("rollback", reason="asked")
    jr.close()
    summary = journal.read(committed)
    assert not summary.sealed and summary.status == "incomplete"  # what recovery must see


def test_a_journal_rewritten_in_place_with_the_same_size_and_time_is_read_again(committed):
    assert journal.seal(committed)
    path = committed / journal.NAME
    st = os.stat(path)
    data = path.read_bytes().replace(b'"rec":"commit"', b'"rec":"commix"')
    with open(path, "r+b") as fh:  # same inode, same size
        fh.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old modification time
    with pytest.raises(journal.JournalCorrupt, match="not a journal record"):
        journal.read(committed)  # the inode change time moved: the journal itself is read


@pytest.mark.parametrize("damage", [
    lambda p: p.write_text("{not json"),
    lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "version": 99})),
    lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "records": []})),
    lambda p: p.write_text(json.dumps({**json.loads(p.read_text()),
                                       "records": [{"rec": "launch"}] + json.loads(p.read_text())["records"]})),
    lambda p: p.write_text(json.dumps({**json.loads(p.read_text()),
                                       "records": json.loads(p.read_text())["records"][:-1]})),  # no commit
    lambda p: (p.unlink(), p.symlink_to("/dev/null")),
    lambda p: p.write_text(""),  # what a crash can leave of a write never synced (journal.seal)
    lambda p: p.write_text(p.read_text()[:len(p.read_text()) // 2]),
    lambda p: p.write_bytes(b"\0" * len(p.read_bytes())),
], ids=["not-json", "version", "no-records", "odd-record", "unfinished", "symlink", "empty", "cut-short", "zeros"])
def test_a_damaged_summary_is_passed_over_for_the_journal(committed, damage):
    full = journal.read(committed)
    assert journal.seal(committed)
    damage(committed / txnstore.SEALED)
    summary = journal.read(committed)
    assert not summary.sealed and summary.records == full.records


def test_another_journal_s_summary_is_passed_over(tmp_path, committed):
    other = _finished(tmp_path / "txn" / "20261207T000000.000002Z-bbbbbb", ("commit", {}))
    assert journal.seal(other)
    (committed / txnstore.SEALED).write_bytes((other / txnstore.SEALED).read_bytes())
    assert not journal.read(committed).sealed


def test_a_corrupt_journal_is_not_sealed_and_stays_an_error(committed):
    path = committed / journal.NAME
    lines = path.read_bytes().split(b"\n")
    lines[3] = b"{garbage"
    path.write_bytes(b"\n".join(lines))
    assert not journal.seal(committed)
    with pytest.raises(journal.JournalCorrupt, match="corrupt at line 4"):
        journal.read(committed)


def test_tidy_seals_finished_journals_and_recovery_rolls_back_through_the_whole_journal(tmp_path, committed):
    running = _finished(tmp_path / "txn" / "20261207T000000.000003Z-cccccc")
    state = StateDir(tmp_path)
    with state:
        recovery.tidy(state, tmp_path / "root")
    assert (committed / txnstore.SEALED).exists() and not (running / txnstore.SEALED).exists()
    summaries = recovery.summaries(state)
    assert [s.sealed for s in summaries] == [True, False]
    assert [s.status for s in summaries] == ["committed", "incomplete"]


def test_a_killed_seal_leaves_a_temporary_file_that_tidy_removes(tmp_path, committed):
    leftover = committed / ".summary.json.1234.vnm-tmp"
    leftover.write_text("{")
    state = StateDir(tmp_path)
    with state:
        notes = recovery.tidy(state, tmp_path / "root")
    assert not leftover.exists() and any("temporary file" in n for n in notes)
    assert journal.read(committed).sealed
