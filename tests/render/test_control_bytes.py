"""No renderer passes control bytes from a scan to its reader (issue: `--format markdown` passed
raw ESC and BEL from a saved scan to the terminal it was printed on; text already escaped them).

A saved scan travels by mail and tickets: anything in it can be hostile. Every string a scan
carries is given ESC sequences, BEL, DEL and C1 controls here; no output format may contain one.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.render import scenarios
from vnetmigrate.cli import app
from vnetmigrate.reports.render import render

# ESC [ 2 J clears the screen, OSC 0 sets the window title, BEL rings, U+009B is CSI on its own.
NASTY = "\x1b[2J\x1b]0;owned\x07\x7f\x9b31m\x08"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def poisoned(value: Any) -> Any:
    """`value` with NASTY appended to every free-text string (the keys and enums stay valid)."""
    if isinstance(value, dict):
        return {k: (v + NASTY if isinstance(v, str) and k in FREE_TEXT else poisoned(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [poisoned(v) for v in value]
    return value


FREE_TEXT = {"title", "summary", "where", "detail", "hint", "hostname", "message", "unit", "verdict", "note",
             "reason", "check"}


def doc_with_controls() -> dict:
    doc = poisoned(scenarios.envelope(scenarios.broken_evidence()))
    ev_doc = poisoned(scenarios.envelope(scenarios.docker_evidence()))
    doc["data"]["findings"] += ev_doc["data"]["findings"]
    for f in doc["data"]["findings"]:
        for w in f.get("workarounds") or []:
            w["commands"] = [c + NASTY for c in w.get("commands") or []]
    return doc


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_no_renderer_passes_control_bytes(fmt):
    out = render(doc_with_controls(), fmt)
    assert not CONTROL.search(out), repr(CONTROL.search(out).group())
    assert "owned" in out  # the text around the controls is kept, readable


def test_json_carries_them_only_escaped():
    out = render(doc_with_controls(), "json")
    assert not CONTROL.search(out.replace("\n", "")) and "\\u001b" in out


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_report_of_a_saved_scan_with_control_bytes(tmp_path, fmt):
    import json

    saved = tmp_path / "scan.json"
    saved.write_text(json.dumps(doc_with_controls()))
    res = CliRunner().invoke(app, ["report", str(saved), "--format", fmt])
    assert res.exit_code in (3, 4), res.stderr
    assert not CONTROL.search(res.stdout), repr(CONTROL.search(res.stdout).group())


def test_history_shows_a_crafted_journals_controls_escaped(tmp_path):
    """The text output of the transaction commands carries journal data (titles, errors)."""
    import json

    txn = tmp_path / "state/txn/20260101T000000.000000Z-aaaaaa"
    txn.mkdir(parents=True, mode=0o700)
    (tmp_path / "state").chmod(0o700)
    records = [{"rec": "begin", "time": 1.0, "title": "switch" + NASTY, "steps": 1},
               {"rec": "rollback", "time": 2.0, "reason": "x"},
               {"rec": "rollback-failed", "time": 3.0, "errors": ["boom" + NASTY]},
               {"rec": "undo-failed", "time": 3.0, "step": 0, "error": "undo" + NASTY}]
    (txn / "journal.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    res = CliRunner().invoke(app, ["history", "--state-dir", str(tmp_path / "state")])
    assert "switch" in res.stdout and "undo" in res.stdout, res.stdout + res.stderr
    assert not CONTROL.search(res.stdout), repr(CONTROL.search(res.stdout).group())


def test_an_error_naming_a_hostile_path_shows_its_controls_escaped(tmp_path):
    path = tmp_path / ("scan" + NASTY.replace("/", "") + ".json")
    path.write_text("not json")
    res = CliRunner().invoke(app, ["report", str(path)])
    assert res.exit_code == 1 and "scan" in res.stderr
    assert not CONTROL.search(res.stderr.replace("\n", "")), repr(res.stderr)
