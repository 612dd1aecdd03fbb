"""`vnetmigrate fleet`: real saved scans (made by `scan --from`) aggregated, through the CLI."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.render import scenarios
from tests.unit.fleet_scans import FLEET, evidence_of, save_fleet, save_scan
from tests.unit.schema_check import published, valid_envelope
from tests.unit.wrapping import unwrapped
from vnetmigrate.cli import app
from vnetmigrate.exitcodes import ExitCode
from vnetmigrate.reports import schema

runner = CliRunner()
BLOCKED = ["kvm-docker1", "kvm-docker2"]


def valid_fleet(output: str) -> dict:
    return valid_envelope(output, "fleet-v1")


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("fleet") / "scans"
    save_fleet(directory)
    return directory


@pytest.fixture
def copy(scans, tmp_path) -> Path:
    """A copy of the fleet's directory a test may add files to."""
    return Path(shutil.copytree(scans, tmp_path / "scans"))


def fleet(*args) -> "CliRunner.invoke":
    return runner.invoke(app, ["fleet", *map(str, args)])


def test_counts_every_host_by_verdict_finding_matrix_row_and_libvirt(scans):
    res = fleet(scans, "--format", "json")
    assert res.exit_code == ExitCode.BLOCKERS, res.output
    data = valid_fleet(res.stdout)["data"]
    assert data["host_count"] == len(FLEET) == data["file_count"] and data["error_count"] == 0
    assert data["by_verdict"] == {"guests are broken now": BLOCKED, "cannot tell yet": ["kvm-garbled"],
                                  "ready after these steps": ["kvm-old"],
                                  "no switch pending": ["kvm-quiet1", "kvm-quiet2"]}
    assert list(data["by_verdict"])[0] == "guests are broken now"  # worst first
    assert list(data["by_status"]) == ["blockers", "warnings", "ok"]
    assert data["by_blocker"] == {"docker-forward-drop": BLOCKED}
    assert data["by_finding"]["docker-forward-drop"] == BLOCKED
    assert data["by_finding"]["backend-switch-on-upgrade"] == ["kvm-old"]
    assert len(data["by_finding"]["backend-effective"]) == len(FLEET)  # every scan reports its backend
    first = data["findings"][0]
    assert (first["id"], first["severity"], first["hosts"]) == ("docker-forward-drop", "blocker", 2)
    assert [f["severity"] for f in data["findings"]] == sorted(
        (f["severity"] for f in data["findings"]), key=["blocker", "warning", "info"].index)
    # libvirt 9.0 with no backend pinned moves from row 2 to row 3 when it upgrades
    assert data["by_matrix_row"]["moves"]["2 -> 3"] == ["kvm-old"]
    assert data["by_matrix_row"]["now"]["3"] == BLOCKED
    assert data["by_libvirt_version"] == {"11.3.0": ["kvm-docker1", "kvm-docker2", "kvm-garbled", "kvm-quiet1",
                                                     "kvm-quiet2"], "9.0.0": ["kvm-old"]}
    assert data["by_backend"]["now"]["nftables"] == BLOCKED
    assert data["by_backend"]["after"]["nftables"] == BLOCKED + ["kvm-old"]


def test_hosts_are_listed_worst_first_with_their_own_scan(scans):
    data = valid_fleet(fleet(scans, "-f", "json").stdout)["data"]
    rows = data["hosts"]
    assert [r["exit_code"] for r in rows] == [4, 4, 3, 3, 0, 0]
    for row in rows:
        scan = json.loads(Path(row["source"]).read_text())
        assert Path(row["source"]).name == f"{row['host']}.json"
        assert (row["verdict"], row["status"], row["matrix"]) == (
            scan["data"]["verdict"], scan["status"], {k: scan["data"]["matrix"][k] for k in ("now", "after")})
        assert row["findings"] == [f["id"] for f in scan["data"]["findings"]]
        assert row["report"] is None


@pytest.mark.parametrize("hosts, code", [(["kvm-quiet1", "kvm-quiet2"], ExitCode.OK),
                                         (["kvm-quiet1", "kvm-old"], ExitCode.WARNINGS),
                                         (["kvm-quiet1", "kvm-garbled"], ExitCode.WARNINGS),
                                         (["kvm-old", "kvm-docker2"], ExitCode.BLOCKERS)])
def test_exits_like_the_worst_hosts_scan(scans, hosts, code):
    res = fleet(*(scans / f"{h}.json" for h in hosts), "-f", "json")
    assert res.exit_code == code
    doc = valid_fleet(res.stdout)
    assert doc["exit_code"] == code and doc["data"]["host_count"] == 2


def test_a_bad_host_file_is_listed_and_the_others_still_count(copy):
    (copy / "truncated.json").write_text('{"schema_version": 1, "comm')
    (copy / "latin1.json").write_bytes(b'{"hostname": "caf\xe9"}')
    (copy / "plan.json").write_text(json.dumps({"schema_version": 1, "command": "plan"}))
    (copy / "notes.txt").write_text("not a .json file: never read")
    res = fleet(copy, copy / "missing.json", "-f", "json")
    doc = valid_fleet(res.stdout)
    assert doc["data"]["host_count"] == len(FLEET)
    assert doc["data"]["error_count"] == 4 and doc["data"]["file_count"] == len(FLEET) + 4
    why = {Path(e["unit"]).name: e["message"] for e in doc["errors"]}
    assert "malformed JSON at line 1" in why["truncated.json"]
    assert "not UTF-8" in why["latin1.json"]
    assert 'output of the command "plan"' in why["plan.json"]
    assert "no such file or directory" in why["missing.json"]
    assert res.exit_code == ExitCode.BLOCKERS and res.stderr == ""


def test_an_unreadable_host_file_makes_a_ready_fleet_cannot_tell(scans, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("[]")
    res = fleet(scans / "kvm-quiet1.json", broken, "-f", "json")
    doc = valid_fleet(res.stdout)
    assert res.exit_code == ExitCode.WARNINGS and doc["status"] == "warnings"
    assert doc["errors"] == [{"unit": str(broken), "message": f"{broken} is not a saved scan: not a vnetmigrate "
                                                              "JSON envelope"}]


def test_a_second_scan_of_a_host_counts_once_the_newer_one(copy):
    older = save_scan(copy, "kvm-quiet1", scenarios.docker_evidence, name="kvm-quiet1-old.json",
                      collected_at="2026-11-01T10:00:00Z")
    newer = save_scan(copy, "kvm-old", scenarios.quiet_evidence, name="kvm-old-new.json",
                      collected_at="2026-12-02T10:00:00Z")
    doc = valid_fleet(fleet(copy, "-f", "json").stdout)
    data = doc["data"]
    assert data["host_count"] == len(FLEET) and data["error_count"] == 2
    rows = {r["host"]: r for r in data["hosts"]}
    assert rows["kvm-quiet1"]["source"] == str(copy / "kvm-quiet1.json") and rows["kvm-quiet1"]["status"] == "ok"
    assert rows["kvm-old"]["source"] == str(newer) and rows["kvm-old"]["status"] == "ok"
    messages = {e["unit"]: e["message"] for e in doc["errors"]}
    assert messages[str(older)] == (f"a second scan of host kvm-quiet1: {copy / 'kvm-quiet1.json'} is kept "
                                    "(a newer scan)")
    assert messages[str(copy / "kvm-old.json")].endswith(f"{newer} is kept (a newer scan)")


def test_the_same_file_given_twice_counts_once(scans):
    res = fleet(scans / "kvm-old.json", scans / "kvm-old.json", "-f", "json")
    data = valid_fleet(res.stdout)["data"]
    assert data["host_count"] == 1 and data["error_count"] == 1
    assert res.exit_code == ExitCode.WARNINGS


def test_saved_evidence_is_analysed_like_report_does(tmp_path, scans):
    evidence = tmp_path / "bundles" / "kvm-bundle"
    evidence_of("kvm-bundle", scenarios.docker_evidence).save(evidence)
    res = fleet(tmp_path / "bundles", scans / "kvm-quiet1.json", "-f", "json")
    data = valid_fleet(res.stdout)["data"]
    assert data["by_blocker"] == {"docker-forward-drop": ["kvm-bundle"]}
    assert data["hosts"][0]["source"] == str(evidence)
    report = json.loads(runner.invoke(app, ["report", str(evidence), "-f", "json"]).stdout)
    assert data["hosts"][0]["verdict"] == report["data"]["verdict"] and res.exit_code == ExitCode.BLOCKERS


def test_evidence_that_does_not_load_is_that_hosts_error(tmp_path, scans):
    evidence = tmp_path / "bundles" / "kvm-bundle"
    evidence_of("kvm-bundle", scenarios.docker_evidence).save(evidence)
    (evidence / "manifest.json").write_text("{")
    doc = valid_fleet(fleet(evidence, scans / "kvm-quiet1.json", "-f", "json").stdout)
    assert doc["data"]["host_count"] == 1
    assert doc["errors"][0]["unit"] == str(evidence) and "manifest.json" in doc["errors"][0]["message"]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_readable_host_is_one_line_and_exit_1(tmp_path, fmt):
    (tmp_path / "a.json").write_text("nope")
    res = fleet(tmp_path, "-f", fmt)
    assert res.exit_code == ExitCode.ERROR
    lines = unwrapped(res.stderr).splitlines()
    assert len(lines) == 2 and lines[1].startswith("hint: ")
    assert lines[0].startswith("vnetmigrate fleet: error: no host scan could be read among 1 file(s): ")
    assert "Traceback" not in res.output
    if fmt == "json":
        doc = valid_fleet(res.stdout)
        assert (doc["command"], doc["status"], doc["data"]) == ("fleet", "error", None)


def test_an_empty_directory_is_an_error(tmp_path):
    res = fleet(tmp_path)
    assert res.exit_code == ExitCode.ERROR
    assert res.stderr.startswith("vnetmigrate fleet: error: no host scan could be read among 0 file(s)\n")


def test_without_arguments_is_a_usage_error():
    assert fleet().exit_code == ExitCode.USAGE


def test_the_report_written_into_the_scans_directory_is_not_read_back(copy):
    out = copy / "fleet.json"
    first = fleet(copy, "-f", "json", "-o", out)
    second = fleet(copy, "-f", "json", "-o", out)
    assert first.exit_code == second.exit_code == ExitCode.BLOCKERS
    assert valid_fleet(out.read_text())["data"]["file_count"] == len(FLEET)


def test_html_dir_writes_the_fleet_page_and_each_hosts_report_linked(scans, tmp_path):
    site = tmp_path / "site"
    res = fleet(scans, "--html-dir", site, "-f", "json")
    assert res.exit_code == ExitCode.BLOCKERS
    data = valid_fleet(res.stdout)["data"]
    index = (site / "index.html").read_text()
    links = re.findall(r'<a href="([^"]+)">', index)
    assert sorted(links) == sorted(f"hosts/{h}.html" for h in FLEET)
    for row in data["hosts"]:
        page = Path(row["report"])
        assert page == site / "hosts" / f"{row['host']}.html"
        # the host's page is the one `report --format html` makes of its scan
        assert page.read_text() == runner.invoke(app, ["report", row["source"], "-f", "html"]).stdout


def test_without_html_dir_hosts_link_to_their_scans_relative_to_the_page(scans, tmp_path):
    out = tmp_path / "pages" / "fleet.html"
    out.parent.mkdir()
    assert fleet(scans, "-f", "html", "-o", out).exit_code == ExitCode.BLOCKERS
    links = re.findall(r'<a href="([^"]+)">', out.read_text())
    assert len(links) == len(FLEET)
    assert all((out.parent / link).resolve() == (scans / Path(link).name).resolve() for link in links)
    md = tmp_path / "pages" / "fleet.md"
    fleet(scans, "-f", "markdown", "-o", md)
    assert sorted(re.findall(r"\]\(<([^>]+)>\)", md.read_text())) == sorted(links)


def test_text_is_readable_at_80_columns(scans, tmp_path):
    out = tmp_path / "fleet.txt"
    res = fleet(scans, "-o", out)
    assert res.exit_code == ExitCode.BLOCKERS and res.stdout == ""
    text = out.read_text()
    assert text.startswith("Fleet: 6 host(s); worst: guests are broken now\n")
    wide = [line for line in text.splitlines() if len(line) > 80 and str(scans) not in line]
    assert not wide, wide  # only a host's file path may run on (unbroken, so it can be copied)
    assert re.search(r"2\s+docker-forward-drop\s+Docker's FORWARD DROP", text)
    assert "  kvm-old      ready after these steps  B0 W1 I1  row 2 -> 3\n" in text
    assert f"      libvirt 9.0.0 iptables  {scans / 'kvm-old.json'}\n" in text
    piped = subprocess.run([sys.executable, "-m", "vnetmigrate", "fleet", str(scans)], capture_output=True, text=True)
    assert piped.stdout == text  # a pipe gets the file's text: no rich padding at the ends of lines


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_every_format_shows_the_verdicts_findings_and_hosts(scans, fmt):
    res = fleet(scans, "-f", fmt)
    assert res.exit_code == ExitCode.BLOCKERS
    for shown in ("guests are broken now", "cannot tell yet", "docker-forward-drop", "backend-switch-on-upgrade",
                  "kvm-quiet2", "9.0.0"):
        assert shown in res.stdout, (fmt, shown)


def test_a_hostile_hostname_cannot_drive_a_terminal_or_a_page(tmp_path, scans):
    name = '\x1b]0;owned\x07<script>alert(1)</script>|**x**\nFleet: 0 host(s)'
    save_scan(tmp_path, name, scenarios.quiet_evidence, name="evil.json")
    text = fleet(tmp_path / "evil.json", "-f", "text").stdout
    assert "\x1b" not in text and "\x07" not in text and "\\x1b]0;owned\\x07" in text
    assert "\nFleet: 0" not in text and "**\\x0aFleet: 0 host(s)" in text  # a name adds no line of its own
    html = fleet(tmp_path / "evil.json", "-f", "html").stdout
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "\x1b" not in html
    md = fleet(tmp_path / "evil.json", "-f", "markdown").stdout
    assert "<script>" not in md and "\x1b" not in md
    fleet(tmp_path / "evil.json", "--html-dir", tmp_path / "site")
    (page,) = (tmp_path / "site" / "hosts").iterdir()
    assert "\x1b" not in page.read_text() and "\\x1b]0;owned\\x07" in page.read_text()  # the host's own page too


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_a_directory_the_user_may_not_list_is_an_error_not_a_silent_gap(scans):
    """fleet needs no root: as user nobody, a locked subdirectory is listed as an error."""
    with tempfile.TemporaryDirectory(prefix="vnm-fleet-") as tmp:
        top = Path(tmp)
        top.chmod(0o755)
        shutil.copy(scans / "kvm-quiet1.json", top / "kvm-quiet1.json")
        (top / "locked").mkdir(mode=0o700)
        shutil.copy(scans / "kvm-docker1.json", top / "locked" / "kvm-docker1.json")
        (top / "kvm-quiet1.json").chmod(0o644)
        proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
                               "-m", "vnetmigrate", "fleet", tmp, "-f", "json"], capture_output=True, text=True)
    doc = valid_fleet(proc.stdout)
    assert doc["data"]["host_count"] == 1 and proc.returncode == ExitCode.WARNINGS, proc.stderr
    assert doc["errors"] == [{"unit": f"{tmp}/locked",
                              "message": f"cannot list the directory {tmp}/locked: Permission denied"}]


def test_the_schema_rejects_what_it_should(scans):
    doc = valid_fleet(fleet(scans, "-f", "json").stdout)
    doc["data"]["by_verdict"]["ready"] = "kvm-quiet1"
    del doc["data"]["host_count"]
    problems = schema.validate(doc, published("fleet-v1"))
    assert "$.data: the key 'host_count' is missing" in problems
    assert "$.data.by_verdict.ready: expected array, found string \"kvm-quiet1\"" in problems
