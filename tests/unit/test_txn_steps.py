"""Step classes read journals written before they existed, and roll those transactions back.

The journal is the truth (docs: vnetmigrate(8), recovery): an interrupted transaction is
rolled back by whichever vnetmigrate runs next, possibly a newer one. The recordings in
tests/data/txn/ were written by the version that kept steps as `kind` + `data` dicts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from vnetmigrate.firewall import Backend, Family
from vnetmigrate.txn import journal, recovery, steps
from vnetmigrate.txn.statedir import StateDir

V1 = Path(__file__).resolve().parents[1] / "data/txn/journal-2026-12"
TXN = "20261206T093622.067584Z-c1645c"
INTENTS = [json.loads(line) for line in (V1 / "intents.jsonl").read_text().splitlines()]


def test_the_recording_has_every_kind_of_step_migrate_uses():
    # The repair's kinds (command, hook, install) came later: tests/unit/test_txn_repair_steps.py.
    assert {r["do"]["kind"] for r in INTENTS} == {"nft", "ipt", "legacy", "file", "restart", "verify", "dedupe"}
    assert set(steps.KINDS) == {r["do"]["kind"] for r in INTENTS} | {"command", "hook", "install"}


@pytest.mark.parametrize("rec", INTENTS, ids=lambda r: f'{r["step"]}-{r["do"]["kind"]}')
def test_an_old_intent_loads_as_its_class_and_writes_back_unchanged(rec):
    step = steps.Step.from_dict(rec["do"])
    assert type(step) is steps.KINDS[rec["do"]["kind"]] and step.title == rec["do"]["title"]
    assert step.to_dict() == rec["do"]
    assert step.undo_record() == rec["undo"]


def test_old_intents_come_back_typed():
    by_kind = {}
    for rec in INTENTS:
        by_kind.setdefault(rec["do"]["kind"], []).append(steps.Step.from_dict(rec["do"]))
    assert [s.family for s in by_kind["ipt"]] == [Family.IPV4, Family.IPV6]
    assert by_kind["legacy"][0].family is Family.IPV4 and by_kind["legacy"][0].key == "ipv4-legacy"
    assert by_kind["dedupe"][0].backend is Backend.NFTABLES
    restart = by_kind["restart"][0]
    assert restart.settle["backend"] == "iptables" and restart.changes_kernel
    assert not by_kind["verify"][0].changes_kernel and not by_kind["file"][0].changes_kernel


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown step kind 'shell'"):
        steps.Step.from_dict({"kind": "shell", "title": "rm -rf", "data": {}, "touches": {}})


def test_a_transaction_an_older_version_left_interrupted_is_rolled_back(tmp_path):
    root = tmp_path / "root"
    conf = root / "etc/libvirt/network.conf"
    conf.parent.mkdir(parents=True)
    # What the crashed transaction left: step 1 wrote network.conf, step 2 restarted once.
    conf.write_text('firewall_backend = "nftables"\n')
    (root / "restart.log").write_text("restarted\n")
    state = StateDir(tmp_path / "state").ensure()
    txn = state.txn_root / TXN
    shutil.copytree(V1 / TXN, txn)
    text = (txn / "journal.jsonl").read_text().replace("@ROOT@", str(root))
    (txn / "journal.jsonl").write_text(text)
    assert journal.read(txn).status == "incomplete"
    state.lock()
    try:
        (out,) = recovery.recover(state, "test: an older version's transaction")
    finally:
        state.unlock()
    assert (out.txn_id, out.status, out.rollback_errors, out.differences) == (TXN, "rolled-back", [], [])
    assert conf.read_text() == 'firewall_backend = "iptables"\n'
    assert (root / "restart.log").read_text() == "restarted\nrestarted\n"  # restarted again, as journaled
    assert not (root / "etc/other.conf").exists()
    recs = [r["rec"] for r in journal.read(txn).records]
    assert recs[-6:] == ["rollback", "undoing", "undone", "undoing", "undone", "rolled-back"]
