"""interrupted-transaction: scan reports a migration that did not finish, from the journals' summaries."""

from __future__ import annotations

import json

import pytest

from tests.unit.builders import make_evidence as host
from vnetmigrate.checks import all_checks
from vnetmigrate.checks.registry import run
from vnetmigrate.evidence import CommandRecord
from vnetmigrate.facts import build
from vnetmigrate.findings import Severity

CHECK = next(c for c in all_checks() if c.id == "interrupted-transaction")


def with_journals(rows, ok=True):
    ev = host()
    ev.add_command(CommandRecord("txn.journals", ("read-journals", "/var/lib/vnetmigrate"), 0 if ok else 1,
                                 stdout=json.dumps(rows), stderr="" if ok else "permission denied", via="python"))
    return ev


@pytest.mark.parametrize("status", ["incomplete", "needs-attention", "corrupt"])
def test_unfinished_transaction_is_a_blocker_with_the_rollback_command(status):
    ev = with_journals([{"id": "20260101T000000Z-aaaaaa", "status": "committed", "title": "old"},
                        {"id": "20260102T000000Z-bbbbbb", "status": status, "title": "migrate to nftables",
                         "steps": 7, "steps_done": 3, "errors": ["step 4: boom"]}])
    out = run(build(ev), [CHECK])
    (finding,) = out.findings
    assert finding.id == "interrupted-transaction" and finding.severity == Severity.BLOCKER
    assert "20260102T000000Z-bbbbbb" in finding.title and status in finding.title
    assert ("rolls an interrupted transaction back" in finding.summary) == (status == "incomplete")
    commands = [c for w in finding.workarounds for c in w.commands]
    if status == "corrupt":
        assert commands[0].startswith("mv /var/lib/vnetmigrate/txn/20260102T000000Z-bbbbbb")
    else:
        assert commands == ["vnetmigrate rollback 20260102T000000Z-bbbbbb --state-dir /var/lib/vnetmigrate"]
        assert finding.evidence[0].detail == "3/7 steps done"


def test_quiet_when_every_transaction_finished():
    ev = with_journals([{"id": "a", "status": "committed"}, {"id": "b", "status": "rolled-back"}])
    out = run(build(ev), [CHECK])
    assert not out.findings and not out.skipped and not out.errors


def test_skipped_when_the_journals_were_not_read():
    ev = host()
    del ev.commands["txn.journals"]  # evidence saved before this collector existed
    out = run(build(ev), [CHECK])
    assert out.skipped == ({"check": "interrupted-transaction", "reason": "facts missing: transactions"},)


def test_unreadable_state_dir_is_an_error_of_that_unit():
    facts = build(with_journals([], ok=False))
    assert facts.transactions is None
    assert any(e["unit"] == "facts.transactions" and "permission denied" in e["message"] for e in facts.errors)


def test_collector_reads_summaries_under_root_and_changes_nothing(tmp_path):
    from vnetmigrate.collect import txnstate
    from vnetmigrate.collect.host import LiveHost
    from vnetmigrate.evidence import Evidence

    journal = tmp_path / "var/lib/vnetmigrate/txn/20260102T000000Z-bbbbbb/journal.jsonl"
    journal.parent.mkdir(parents=True)
    journal.write_text('{"rec": "begin", "time": 1, "title": "t", "steps": 2}\n{"rec": "intent", "step": 0, "time": 2}\n')
    before = sorted(p.name for p in tmp_path.rglob("*"))
    ev = Evidence()
    txnstate.collect(LiveHost(ev, root=str(tmp_path)))
    rows = json.loads(ev.command("txn.journals").stdout)
    assert [(r["id"], r["status"]) for r in rows] == [("20260102T000000Z-bbbbbb", "incomplete")]
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # no lock file, nothing created
    empty = Evidence()
    txnstate.collect(LiveHost(empty, root=str(tmp_path / "nothing")))
    assert empty.command("txn.journals").stdout == "[]"
