import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.cli_runner import cli_runner
from vnetmigrate.cli import app
from vnetmigrate.exitcodes import ExitCode
from tests.unit.builders import DEFAULT_NET, LEFTOVER_IPT, ipt, libvirt_nft, make_evidence, status_xml
from tests.unit.schema_check import valid_envelope
from tests.unit.wrapping import unwrapped

runner = cli_runner()


def saved(tmp_path, **kw):
    ev = make_evidence(**kw)
    ev.save(tmp_path / "ev")
    return str(tmp_path / "ev")


def docker_host(tmp_path):
    return saved(tmp_path, files={"/etc/libvirt/network.conf": 'firewall_backend = "nftables"\n',
                                  "/etc/libvirt/qemu/networks/default.xml": DEFAULT_NET,
                                  "/run/libvirt/network/default.xml": status_xml(backend="nftables"),
                                  "/etc/docker/daemon.json": '{"iptables": true}'},
                 ipv4_save=ipt(LEFTOVER_IPT, policy="DROP", docker=True), nft_objects=tuple(libvirt_nft()))


def test_json_envelope_and_documented_keys(tmp_path):
    res = runner.invoke(app, ["scan", "--from", docker_host(tmp_path), "--format", "json"])
    assert res.exit_code == ExitCode.BLOCKERS, res.output
    doc = valid_envelope(res.stdout)
    assert {k: doc[k] for k in ("schema_version", "command", "status", "exit_code")} == {
        "schema_version": 1, "command": "scan", "status": "blockers", "exit_code": 4}
    data = doc["data"]
    assert data["matrix"] == {**data["matrix"], "now": 3, "after": 3}
    assert data["facts"]["libvirt"]["configured_backend"] == "nftables"
    assert data["facts"]["libvirt"]["effective_backend"] == "nftables"
    blocker = next(f for f in data["findings"] if f["id"] == "docker-forward-drop")
    assert blocker["severity"] == "blocker" and blocker["workarounds"][0]["commands"]
    assert {"id", "severity", "title", "evidence", "workarounds"} <= set(blocker)
    assert data["findings"][0]["severity"] == "blocker"  # most severe first


def test_text_report_leads_with_the_verdict(tmp_path):
    res = runner.invoke(app, ["scan", "--from", docker_host(tmp_path)])
    assert res.exit_code == ExitCode.BLOCKERS
    lines = res.stdout.splitlines()
    assert lines[0] == "Verdict: guests are broken now (no switch pending: network.conf pins libvirt to nftables)"
    assert "iptables-nft -I DOCKER-USER -i virbr0 -j ACCEPT" in res.stdout


def test_exit_code_ok_and_warnings(tmp_path):
    quiet = saved(tmp_path, files={"/etc/libvirt/network.conf": 'firewall_backend = "iptables"\n'})
    assert runner.invoke(app, ["scan", "--from", quiet]).exit_code == ExitCode.OK
    unpinned = saved(tmp_path / "b", libvirt_version="9.0.0")
    assert runner.invoke(app, ["scan", "--from", unpinned]).exit_code == ExitCode.WARNINGS


def test_output_file(tmp_path):
    out = tmp_path / "scan.json"
    res = runner.invoke(app, ["scan", "--from", docker_host(tmp_path), "-f", "json", "-o", str(out)])
    assert res.exit_code == ExitCode.BLOCKERS and res.stdout == ""
    assert valid_envelope(out.read_text())["status"] == "blockers"


def test_corrupt_evidence_is_one_clear_error(tmp_path):
    (tmp_path / "manifest.json").write_text("[]")
    res = runner.invoke(app, ["scan", "--from", str(tmp_path)])
    assert res.exit_code == ExitCode.ERROR
    assert "error: evidence" in res.stderr and "Traceback" not in res.stderr
    assert len(unwrapped(res.stderr).strip().splitlines()) == 1


def test_error_in_json_mode_is_still_an_envelope(tmp_path):
    res = runner.invoke(app, ["scan", "--from", str(tmp_path), "-f", "json"])
    doc = valid_envelope(res.stdout)
    assert doc["status"] == "error" and doc["exit_code"] == 1 and "no manifest.json" in doc["errors"][0]["message"]


def test_from_cannot_be_combined_with_live_options(tmp_path):
    res = runner.invoke(app, ["scan", "--from", str(tmp_path), "--netns", "x"])
    assert res.exit_code == ExitCode.ERROR and "cannot be combined" in res.stderr


def test_usage_error_is_click_code(tmp_path):
    res = runner.invoke(app, ["scan", "--format", "yaml"])
    assert res.exit_code == ExitCode.USAGE


def test_debug_shows_traceback(tmp_path):
    res = runner.invoke(app, ["--debug", "scan", "--from", str(tmp_path)])
    assert "Traceback" in res.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_live_scan_refuses_without_root():
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           sys.executable, "-m", "vnetmigrate", "scan"], capture_output=True, text=True)
    assert proc.returncode == ExitCode.ERROR
    assert "scan needs root" in proc.stderr and "Traceback" not in proc.stderr


def test_version():
    from vnetmigrate import __version__

    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout.strip() == f"vnetmigrate {__version__}"


def test_an_incomplete_scan_never_says_ready(tmp_path):
    """nft unreadable: the checks that evaluate drops cannot run, so exit 3 and say why."""
    from vnetmigrate.evidence import CommandRecord

    ev = make_evidence(files={"/etc/libvirt/network.conf": 'firewall_backend = "iptables"\n'})
    ev.commands["nft.chains"] = CommandRecord("nft.chains", ("nft", "-j", "list", "chains"), 1,
                                              stderr="Operation not permitted")
    ev.save(tmp_path / "ev")
    res = runner.invoke(app, ["scan", "--from", str(tmp_path / "ev"), "-f", "json"])
    doc = valid_envelope(res.stdout)
    assert res.exit_code == ExitCode.WARNINGS and doc["status"] == "warnings"
    assert doc["data"]["verdict"].startswith("cannot tell yet")
    assert any("Operation not permitted" in e["message"] for e in doc["errors"])


def test_json_error_goes_where_the_report_would_have_gone(tmp_path):
    out = tmp_path / "scan.json"
    out.write_text('{"status": "ok", "exit_code": 0}')  # a previous run's report
    res = runner.invoke(app, ["scan", "--from", str(tmp_path / "missing"), "-f", "json", "-o", str(out)])
    assert res.exit_code == ExitCode.ERROR and res.stdout == ""
    doc = valid_envelope(out.read_text())
    assert doc["status"] == "error" and doc["exit_code"] == 1


def test_piped_text_equals_file_text_and_dash_is_stdout(tmp_path):
    ev = docker_host(tmp_path)
    piped = runner.invoke(app, ["scan", "--from", ev])
    out = tmp_path / "report.txt"
    to_file = runner.invoke(app, ["scan", "--from", ev, "-o", str(out)])
    assert to_file.stdout == "" and out.read_text() == piped.stdout
    dash = runner.invoke(app, ["scan", "--from", ev, "-o", "-"])
    assert dash.stdout == piped.stdout and not (Path.cwd() / "-").exists()


def test_quiet_prints_the_verdict_only_and_contradicts_verbose(tmp_path):
    ev = docker_host(tmp_path)
    quiet = runner.invoke(app, ["scan", "--from", ev, "-q"])
    assert quiet.exit_code == ExitCode.BLOCKERS and len(quiet.stdout.splitlines()) == 1
    assert quiet.stdout.startswith("Verdict: ")
    verbose = runner.invoke(app, ["scan", "--from", ev, "-v"])
    assert "Compatibility matrix" in verbose.stdout and "done in" in verbose.stderr
    both = runner.invoke(app, ["scan", "--from", ev, "-q", "-v"])
    assert both.exit_code != 0 and "contradict" in both.stderr and both.stdout == ""


def test_usage_errors_are_one_line_and_a_hint_and_an_envelope_with_json(tmp_path):
    bad = runner.invoke(app, ["scan", "--format", "xml"])
    assert bad.exit_code == 2 and bad.stdout == ""
    assert unwrapped(bad.stderr).splitlines() == [
        "vnetmigrate scan: usage error: invalid value for --format / -f: 'xml' is not one of 'text', 'json', "
        "'markdown', 'html'", "hint: see `vnetmigrate scan --help`"]
    with_json = runner.invoke(app, ["scan", "-f", "json", "--no-such-option"])
    doc = valid_envelope(with_json.stdout)
    assert with_json.exit_code == 2 and doc["status"] == "error" and doc["exit_code"] == 2
    assert "--no-such-option" in doc["errors"][0]["message"] and doc["host"] and doc["started_at"]


def test_every_envelope_says_where_when_and_how_long(tmp_path):
    doc = valid_envelope(runner.invoke(app, ["scan", "--from", docker_host(tmp_path), "-f", "json"]).stdout)
    assert doc["duration"] >= 0 and doc["started_at"].endswith("+00:00")
    assert doc["host"] == doc["data"]["host"]["hostname"] and doc["os"] and doc["libvirt_version"]
    failed = valid_envelope(runner.invoke(app, ["scan", "--from", str(tmp_path / "nothing"), "-f", "json"]).stdout)
    assert failed["status"] == "error" and failed["host"] and failed["started_at"] and failed["duration"] >= 0


def test_help_has_no_internal_metavars_and_fits_80_columns():
    for command in ("scan", "report", "rules", "plan", "migrate", "rollback", "history", "repair", "bundle", "gate",
                    "fleet"):
        text = runner.invoke(app, [command, "--help"], env={"COLUMNS": "80"}).stdout
        assert not any(bad in text for bad in ("<bool>", "<list", "[[", "{NETWORK", "<path>", "╭")), text
        assert all(len(line) <= 80 for line in text.splitlines()), text


def test_verdicts_say_the_real_state(tmp_path):
    pinned = saved(tmp_path, files={"/etc/libvirt/network.conf": 'firewall_backend = "iptables"\n'})
    doc = valid_envelope(runner.invoke(app, ["scan", "--from", pinned, "-f", "json"]).stdout)
    assert doc["data"]["verdict"] == "no switch pending: network.conf pins libvirt to iptables"
    broken = valid_envelope(runner.invoke(app, ["scan", "--from", docker_host(tmp_path / "d"), "-f", "json"]).stdout)
    assert broken["data"]["verdict"].startswith("guests are broken now (")
    no_nft = saved(tmp_path / "n", files={"/etc/libvirt/network.conf": 'firewall_backend = "nftables"\n'},
                   tools=("iptables", "iptables-nft-save"))  # pinned to nftables, and nft is not installed
    doc = valid_envelope(runner.invoke(app, ["scan", "--from", no_nft, "-f", "json"]).stdout)
    assert "network.conf pins libvirt to nftables" in doc["data"]["verdict"] and "None" not in doc["data"]["verdict"]
    no_tools = saved(tmp_path / "t", files={"/etc/libvirt/network.conf": "\n"}, tools=())
    doc = valid_envelope(runner.invoke(app, ["scan", "--from", no_tools, "-f", "json"]).stdout)
    assert doc["data"]["verdict"] == "no switch pending: libvirt has no firewall backend it can use; blockers below"
    switching = saved(tmp_path / "s", libvirt_version="9.0.0")
    doc = valid_envelope(runner.invoke(app, ["scan", "--from", switching, "-f", "json"]).stdout)
    assert doc["data"]["verdict"] == "ready after these steps"


@pytest.mark.parametrize("value", ["nan", "inf", "0.5", "soon"])
def test_deadline_must_be_a_number_of_seconds(value):
    res = runner.invoke(app, ["scan", "--deadline", value])
    assert res.exit_code in (1, 2) and "deadline" in res.stderr and "Traceback" not in res.stderr
