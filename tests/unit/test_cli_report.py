"""`vnetmigrate report` (saved scans and saved evidence) and scan's Markdown/HTML formats, via the CLI."""

import json

import pytest

from tests.unit.cli_runner import cli_runner
from tests.render import scenarios
from tests.unit.schema_check import valid_envelope
from tests.unit.wrapping import unwrapped
from vnetmigrate.cli import app
from vnetmigrate.exitcodes import ExitCode

runner = cli_runner()
EVIDENCE = {"blockers": (scenarios.docker_evidence, ExitCode.BLOCKERS),
            "warnings": (scenarios.switching_evidence, ExitCode.WARNINGS),
            "ok": (scenarios.quiet_evidence, ExitCode.OK)}


def saved(tmp_path, evidence=scenarios.docker_evidence):
    """(evidence dir, scan JSON file) as a user gets them: --save-evidence's form, then scan's JSON."""
    ev_dir, scan_json = tmp_path / "evidence", tmp_path / "scan.json"
    evidence().save(ev_dir)
    res = runner.invoke(app, ["scan", "--from", str(ev_dir), "-f", "json", "-o", str(scan_json)])
    assert res.exit_code in (0, 3, 4), res.stderr
    valid_envelope(scan_json.read_text())
    return ev_dir, scan_json


def rewrite(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("status", EVIDENCE)
@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "html"])
def test_saved_scan_renders_in_every_format_and_exits_like_scan(tmp_path, status, fmt):
    evidence, code = EVIDENCE[status]
    _, scan_json = saved(tmp_path, evidence)
    verdict = json.loads(scan_json.read_text())["data"]["verdict"]
    res = runner.invoke(app, ["report", str(scan_json), "--format", fmt])
    assert res.exit_code == code, res.output
    assert res.stderr == ""
    assert verdict in res.stdout
    if fmt == "json":
        assert valid_envelope(res.stdout)["status"] == status


def test_json_of_a_saved_scan_is_the_saved_scan(tmp_path):
    _, scan_json = saved(tmp_path)
    res = runner.invoke(app, ["report", str(scan_json), "-f", "json"])
    assert res.stdout == scan_json.read_text()


def test_saved_scan_reads_exactly_like_the_scan_itself(tmp_path):
    ev_dir, scan_json = saved(tmp_path)
    live = runner.invoke(app, ["scan", "--from", str(ev_dir)])
    later = runner.invoke(app, ["report", str(scan_json)])
    assert later.stdout == live.stdout and later.exit_code == live.exit_code
    assert later.stdout.startswith("Verdict: guests are broken now (no switch pending: network.conf pins libvirt to nftables)\n")


def test_evidence_directory_is_analysed(tmp_path):
    ev_dir, scan_json = saved(tmp_path)
    res = runner.invoke(app, ["report", str(ev_dir), "-f", "json"])
    assert res.exit_code == ExitCode.BLOCKERS
    assert same_scan(valid_envelope(res.stdout), json.loads(scan_json.read_text()))


@pytest.mark.parametrize("fmt, start", [("markdown", "# vnetmigrate scan: guests are broken now (no switch pending: network.conf pins libvirt to nftables)\n"),
                                        ("html", "<!DOCTYPE html>\n")])
def test_scan_and_report_write_markdown_and_html(tmp_path, fmt, start):
    ev_dir, scan_json = saved(tmp_path)
    out = tmp_path / f"report.{fmt}"
    res = runner.invoke(app, ["scan", "--from", str(ev_dir), "--format", fmt, "--output", str(out)])
    assert res.exit_code == ExitCode.BLOCKERS and res.stdout == ""
    assert out.read_text().startswith(start)
    converted = runner.invoke(app, ["report", str(scan_json), "-f", fmt])
    assert converted.stdout == out.read_text()


def write(path, content):
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def failed_scan(path):
    """The envelope a failing `scan -f json` prints, saved as a user would."""
    res = runner.invoke(app, ["scan", "--from", str(path.parent / "nothing-here"), "-f", "json"])
    return write(path, res.stdout)


BAD_INPUTS = {
    "malformed JSON": (lambda p, s: write(p, '{"schema_version": 1,'), "malformed JSON at line 1"),
    "not UTF-8": (lambda p, s: write(p, b"\xff\xfe\x00{"), "not UTF-8 text"),
    "not an envelope": (lambda p, s: write(p, "[1, 2, 3]"), "not a vnetmigrate JSON envelope"),
    "newer schema": (lambda p, s: rewrite(s, lambda d: d.update(schema_version=2)), "has schema_version 2"),
    "not a scan": (lambda p, s: rewrite(s, lambda d: d.update(command="plan")), 'output of the command "plan"'),
    "breaks the schema": (lambda p, s: rewrite(s, lambda d: d["data"]["findings"][0].update(severity="fatal")),
                          "$.data.findings[0].severity"),
    "inconsistent": (lambda p, s: rewrite(s, lambda d: d.update(exit_code=0)), "is inconsistent"),
    "failed scan": (lambda p, s: failed_scan(p), "records a scan that failed: evidence"),
    "missing": (lambda p, s: p.parent / "no-such.json", "no such file or directory"),
    "directory, not evidence": (lambda p, s: p.parent / "empty-dir", "no manifest.json"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_clear_error(tmp_path, case):
    make, message = BAD_INPUTS[case]
    _, scan_json = saved(tmp_path)
    (tmp_path / "empty-dir").mkdir()
    target = make(tmp_path / "input.json", scan_json)
    res = runner.invoke(app, ["report", str(target)])
    assert res.exit_code == ExitCode.ERROR, res.output
    first, *rest = unwrapped(res.stderr).splitlines()
    assert first.startswith("vnetmigrate report: error: ") and message in first, res.stderr
    assert all(line.startswith("hint: ") for line in rest) and len(rest) <= 1
    assert "Traceback" not in res.stderr and res.stdout == ""
    as_json = runner.invoke(app, ["report", str(target), "-f", "json"])
    doc = valid_envelope(as_json.stdout)
    assert (doc["command"], doc["status"], doc["exit_code"], doc["data"]) == ("report", "error", 1, None)
    assert message in doc["errors"][0]["message"]


def test_unwritable_output_is_one_clear_error(tmp_path):
    _, scan_json = saved(tmp_path)
    res = runner.invoke(app, ["report", str(scan_json), "-f", "html", "-o", str(tmp_path / "no" / "dir.html")])
    assert res.exit_code == ExitCode.ERROR and "cannot write" in res.stderr and "Traceback" not in res.stderr


def test_usage_errors_keep_clicks_code(tmp_path):
    assert runner.invoke(app, ["report"]).exit_code == ExitCode.USAGE
    assert runner.invoke(app, ["report", str(tmp_path), "-f", "pdf"]).exit_code == ExitCode.USAGE


def test_a_saved_scan_cannot_drive_the_terminal(tmp_path):
    _, scan_json = saved(tmp_path)
    rewrite(scan_json, lambda d: d["data"]["findings"][0].update(title="\x1b]0;owned\x07\x1b[2Jgone"))
    res = runner.invoke(app, ["report", str(scan_json)])
    assert res.exit_code == ExitCode.BLOCKERS
    assert "\x1b" not in res.stdout and "\x07" not in res.stdout
    assert "\\x1b]0;owned\\x07\\x1b[2Jgone" in res.stdout


def same_scan(a: dict, b: dict) -> bool:
    """Equal but for when the command ran and for how long (the envelope's run fields)."""
    run = ("started_at", "duration")
    return {k: v for k, v in a.items() if k not in run} == {k: v for k, v in b.items() if k not in run}
