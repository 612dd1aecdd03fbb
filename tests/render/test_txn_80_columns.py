"""migrate's, rollback's and repair's outcomes, history's table and every command's error at 80
columns: each line fits (but a path or id longer than the line, alone on it), the words are
those of the unwrapped text in order, and a wider terminal keeps one line per message.

Results come from the use cases' own code on recorded real libvirt data (tests/unit/command_outputs).
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from tests.unit.command_outputs import COMMITTED, ROLLED_BACK, STUCK, plans, results
from tests.unit.wrapping import too_wide, unwrapped, words
from vnetmigrate.cli import policy
from vnetmigrate.exitcodes import ExitCode
from vnetmigrate.reports import txn_terminal
from vnetmigrate.usecases.history import HistoryResult, TxnRecord
from vnetmigrate.usecases.migrate import REFUSED_BLOCKERS, MigrateResult
from vnetmigrate.usecases.rollback import RollbackResult

STATE = Path("/var/lib/vnetmigrate")
OLD, NEW = "20261207T001434.551329Z-28e79c", "20261207T001512.123456Z-3f9a1c"
JOURNAL = STATE / "txn" / OLD / "journal.jsonl"
CORRUPT = (f"journal {JOURNAL} is corrupt at line 4: Expecting property name enclosed in double quotes: "
           "line 1 column 2 (char 1)")
HISTORY = HistoryResult(STATE, (
    TxnRecord(NEW, "rolled-back", "migrate", "migrate libvirt's firewall to nftables", steps=5, steps_done=5),
    TxnRecord(OLD, "corrupt", errors=(CORRUPT,))))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict:
    p = plans()["with-restart"]
    made = results(tmp_path_factory.mktemp("outcomes"))
    return {
        "migrate committed": MigrateResult(p, ExitCode.OK, transaction=COMMITTED),
        "migrate rolled back": MigrateResult(p, ExitCode.ROLLED_BACK, transaction=ROLLED_BACK),
        "migrate stuck": MigrateResult(p, ExitCode.NEEDS_ATTENTION, transaction=STUCK),
        "migrate refused": MigrateResult(p, ExitCode.BLOCKERS, refused=REFUSED_BLOCKERS),
        "migrate after a recovery": MigrateResult(p, ExitCode.OK, transaction=COMMITTED, recovered=(STUCK,)),
        "rollback stuck": RollbackResult(STATE, (STUCK,)),
        "rollback nothing": RollbackResult(STATE / ("deep/" * 20), ()),
        "history": HISTORY,
        **{name: made[name] for name in ("repair committed", "repair rolled back", "repair stuck", "history three")},
        "repair with a long note": replace(made["repair dry-run"], notes=(
            "the daemon's configuration names " + " ".join(f"/etc/libvirt/hooks/net{i}.d" for i in range(4)),),
            left=tuple(replace(x, reason=x.reason + " (" + "and more " * 6 + ")") for x in made["repair dry-run"].left)),
    }


def unwrapped_text(result) -> str:
    """The lines as they were before wrapping: the outcome and the table unwrapped."""
    return txn_terminal._plain(txn_terminal.lines(result, None))


def on_terminal(result, columns: int) -> str:
    buf = io.StringIO()
    txn_terminal.render(result, Console(file=buf, width=columns, force_terminal=True, color_system=None))
    return "\n".join(line.rstrip() for line in buf.getvalue().split("\n"))


def test_every_outcome_fits_80_columns_and_keeps_its_words(outcomes):
    for name, result in outcomes.items():
        narrow, whole = txn_terminal.to_text(result), unwrapped_text(result)
        assert not too_wide(narrow), (name, too_wide(narrow))
        assert words(narrow) == words(whole), name
        assert on_terminal(result, 80) == narrow, name  # a terminal of 80 columns reads what a pipe gets
    assert too_wide(unwrapped_text(outcomes["migrate committed"]))  # what the test is about


def test_a_wide_terminal_keeps_one_line_per_message(outcomes):
    for name, result in outcomes.items():
        assert on_terminal(result, 250) == unwrapped_text(result), name
    assert on_terminal(HISTORY, 250).splitlines()[1:] == [
        f"{NEW} rolled-back        5/5  migrate libvirt's firewall to nftables",
        f"{OLD} corrupt              -",
        f"{' ' * 31}{CORRUPT}"]


def test_history_wraps_a_title_under_its_column_and_an_error_under_its_row():
    assert txn_terminal.to_text(HISTORY).splitlines() == [
        "ID                             STATUS           STEPS  TITLE",
        f"{NEW} rolled-back        5/5  migrate libvirt's",
        "                                                       firewall to nftables",
        f"{OLD} corrupt              -",
        f"  journal {JOURNAL}",
        "  is corrupt at line 4: Expecting property name enclosed in double quotes: line",
        "  1 column 2 (char 1)"]
    narrow = on_terminal(HISTORY, 60).splitlines()  # no room for the title's column: under the row
    assert narrow[1:3] == [f"{NEW} rolled-back        5/5", "  migrate libvirt's firewall to nftables"]


def test_an_outcome_keeps_a_command_and_an_id_whole(outcomes):
    stuck = txn_terminal.to_text(outcomes["migrate stuck"])
    assert f"  retry with `vnetmigrate rollback {STUCK.id}` (with\n    --restart-command CMD or" in stuck
    committed = txn_terminal.to_text(outcomes["migrate committed"]).splitlines()
    assert committed[-2:] == [f"Transaction {COMMITTED.id} committed: libvirt's rules are in",
                              "  nftables, verified."]
    assert txn_terminal.quiet_line(outcomes["migrate committed"]) == unwrapped("\n".join(committed[-2:]))  # -q: whole


def test_errors_hints_and_notes_wrap_at_80_columns_when_stderr_is_no_terminal(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # a pipe or a log file has no width of its own
    message = f"vnetmigrate migrate: error: {CORRUPT}"
    hint = "hint: nothing was changed; move that transaction directory aside after checking the host by hand"
    for said in (message, hint, "vnetmigrate migrate: error: short", "nft said:\n  add rule ip filter x\n  ^^^^^"):
        policy.say_on_stderr(said)
    err = capsys.readouterr().err
    assert not too_wide(err) and words(err) == words(message) + words(hint) + ["vnetmigrate", "migrate:", "error:",
                                                                              "short", "nft", "said:", "add", "rule",
                                                                              "ip", "filter", "x", "^^^^^"]
    lines = err.splitlines()
    assert lines[:4] == ["vnetmigrate migrate: error: journal", f"  {JOURNAL} is",
                         "  corrupt at line 4: Expecting property name enclosed in double quotes: line 1",
                         "  column 2 (char 1)"]
    assert lines[4:] == ["hint: nothing was changed; move that transaction directory aside after checking",
                         "  the host by hand", "vnetmigrate migrate: error: short",
                         "nft said:", "  add rule ip filter x", "  ^^^^^"]  # lines that fit: as they were


def test_a_failure_reads_the_same_at_80_columns(outcomes):
    """The failed step's error wraps under the outcome; the rest of the text is unchanged."""
    long_error = replace(ROLLED_BACK, error="restart failed: " + "word " * 30 + str(JOURNAL))
    failed = txn_terminal.to_text(MigrateResult(plans()["with-restart"], ExitCode.ROLLED_BACK, transaction=long_error))
    tail = failed.split(f"Transaction {ROLLED_BACK.id} FAILED")[1]
    assert not too_wide(tail) and f"\n  {JOURNAL}\n" in tail
    assert words(tail) == ["at", "step", "6:", "restart", "failed:", *["word"] * 30, str(JOURNAL), "everything", "it",
                           "did", "was", "rolled", "back;", "the", "old", "state", "is", "verified", "back", "note:",
                           "the", "daemon", "was", "restarted", "again"]


def test_a_quoted_command_in_a_message_stays_on_one_line(capsys):
    command = f"`vnetmigrate rollback {OLD} --root / --netns vnm-host-1`"
    policy.say_on_stderr(f"hint: run {command} to roll it back where it ran")
    assert capsys.readouterr().err.splitlines() == ["hint: run", f"  {command}", "  to roll it back where it ran"]
