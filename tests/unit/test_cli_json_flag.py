"""`--json` is `--format json` on every command whose --format offers json (cli/usage.py folds
it into --format; cli/fast.py does the same for plain scan, plan, migrate and rollback lines):
the same bytes on standard output, the same messages and exit code; with another --format, one
usage error (exit status 2) and the command does not run. Through the typer app, as every
command line that is not plain reaches it (the fast path's own comparisons:
tests/unit/test_cli_fast.py, tests/unit/test_cli_fast_txn.py)."""

from __future__ import annotations

import re

import pytest
import typer

from tests.unit.cli_runner import cli_runner
from tests.unit.command_outputs import journals
from tests.unit.fleet_scans import save_fleet
from tests.unit.libvirt.samples import SAMPLES
from tests.unit.schema_check import valid_envelope
from tests.unit.test_cli_fast import _same_text, evidence  # noqa: F401  (evidence: a pytest fixture)
from tests.unit.wrapping import unwrapped
from vnetmigrate.cli.policy import State
from vnetmigrate.cli.typerapp import app


def json_commands() -> set[str]:
    """The commands whose --format offers json, as their help lists its choices."""
    found = set()
    for name in typer.main.get_command(app).commands:
        choices = re.search(r"--format ([\w|-]+)", run([name, "--help"])[1])
        if choices and "json" in choices.group(1).split("|"):
            found.add(name)
    return found


@pytest.fixture(scope="module")
def lines(evidence, tmp_path_factory) -> dict[str, list[str]]:  # noqa: F811
    """A command line per command that runs without root and changes nothing outside a
    temporary directory: a report or, where a report needs root or a host, the error envelope."""
    tmp = tmp_path_factory.mktemp("jsonflag")
    xml = tmp / "net.xml"
    xml.write_text(SAMPLES["nat-dev-snat"])
    save_fleet(tmp / "fleet")
    (tmp / "empty").mkdir()
    (tmp / "gate-root/etc/apt").mkdir(parents=True)
    missing = str(tmp / "missing")
    return {"scan": ["scan", "--from", evidence], "report": ["report", evidence], "rules": ["rules", str(xml)],
            "fleet": ["fleet", str(tmp / "fleet")], "history": ["history", "--state-dir", str(journals(tmp / "state"))],
            "rollback": ["rollback", "--state-dir", str(tmp / "empty"), "--root", str(tmp)],
            "plan": ["plan", "--root", missing], "migrate": ["migrate", "--root", missing],
            "repair": ["repair", "--dry-run", "--root", missing], "bundle": ["bundle", "--root", missing],
            "gate": ["gate", "remove", "--apt", "--root", str(tmp / "gate-root")]}


def run(args: list[str]):
    State.debug, State.verbosity = False, 0
    res = cli_runner().invoke(app, args)
    return res.exit_code, res.stdout, res.stderr


def same(ran):
    """A run without what differs from run to run (when it started, how long it took)."""
    code, stdout, stderr = ran
    return code, _same_text(stdout), _same_text(stderr, stderr=True)


def test_every_command_with_json_output_takes_json_and_says_so():
    commands = json_commands()
    assert set(commands) == {"scan", "report", "rules", "fleet", "history", "rollback", "plan", "migrate", "repair",
                             "bundle", "gate"}
    for name in commands:
        help_text = run([name, "--help"])[1]
        assert "--json" in help_text and "Short for --format json." in help_text, name


def test_json_prints_what_format_json_prints(lines):
    assert set(lines) == set(json_commands())
    for name, args in lines.items():
        shorthand, spelled = run([*args, "--json"]), run([*args, "--format", "json"])
        assert same(shorthand) == same(spelled), name
        doc = valid_envelope(shorthand[1])
        assert doc["command"] == {"report": "scan"}.get(name, name) and doc["exit_code"] == shorthand[0], name


def test_json_with_another_format_is_one_usage_error_and_nothing_runs(lines, tmp_path):
    out = tmp_path / "report"
    for name, args in lines.items():
        other = "nft" if name == "rules" else "text"
        for order in (["--json", "--format", other], ["-f", other, "--json"]):
            code, stdout, stderr = run([*args, *order, "--output", str(out)] if name not in ("bundle", "gate")
                                       else [*args, *order])
            assert code == 2, (name, order)
            assert unwrapped(stderr) == (f"vnetmigrate {name}: usage error: --json and --format {other} contradict each other: "
                              f"--json is short for --format json; give one of them\n"
                              f"hint: see `vnetmigrate {name} --help`\n"), (name, order)
            assert valid_envelope(stdout)["exit_code"] == 2, name  # as for every usage error with --json
            assert not out.exists(), name
    assert same(run([*lines["scan"], "--json", "-f", "json"])) == same(run([*lines["scan"], "--json"]))
