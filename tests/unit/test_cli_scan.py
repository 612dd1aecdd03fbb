import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from vnetmigrate.cli import app
from vnetmigrate.exitcodes import ExitCode
from tests.unit.builders import DEFAULT_NET, LEFTOVER_IPT, ipt, libvirt_nft, make_evidence, status_xml
from tests.unit.schema_check import valid_envelope

runner = CliRunner()


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
    assert lines[0] == "Verdict: do not upgrade yet"
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
    assert len(res.stderr.strip().splitlines()) == 1


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


@pytest.mark.parametrize("value", ["nan", "inf", "0.5", "soon"])
def test_deadline_must_be_a_number_of_seconds(value):
    res = runner.invoke(app, ["scan", "--deadline", value])
    assert res.exit_code in (1, 2) and "deadline" in res.stderr and "Traceback" not in res.stderr
