"""`vnetmigrate --version` and `--help` are answered without typer (vnetmigrate/cli/fast.py) and
say exactly what typer says. Each case runs the command's entry point in a fresh interpreter
(what the installed console script does), so "typer was never imported" is checked for real.

When a command's short help or an option of the group changes, this test fails; rewrite
fast.HELP from typer with:  .venv/bin/python -m tests.unit.test_cli_fast
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

FAST = Path(__file__).resolve().parents[2] / "vnetmigrate/cli/fast.py"

# The console script's main(); reports on stderr whether typer got imported.
ENTRY = ("import sys; from vnetmigrate.cli import main\n"
         "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\nelse:\n    code = 0\n"
         "sys.stderr.write(f'typer imported: {\"typer\" in sys.modules}\\n'); sys.exit(code)")
# The typer app itself, as every other command line reaches it.
TYPER = "from vnetmigrate.cli.typerapp import app; app(prog_name='vnetmigrate')"


def run(code: str, *args: str, columns: int | None = 100) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["-h"]])
def test_version_and_help_are_typers_words_without_typer(args):
    fast, slow = run(ENTRY, *args), run(TYPER, *args)
    assert (fast.returncode, fast.stdout) == (slow.returncode, slow.stdout) == (0, fast.stdout)
    assert fast.stdout.startswith("vnetmigrate " if args == ["--version"] else "Usage: vnetmigrate [OPTIONS]")
    assert "typer imported: False" in fast.stderr


def test_help_is_the_same_text_at_any_width_from_80_columns():
    assert run(TYPER, "--help", columns=80).stdout == run(TYPER, "--help", columns=200).stdout


def test_a_narrow_terminal_and_everything_else_go_to_typer():
    narrow = run(ENTRY, "--help", columns=60)
    assert narrow.stdout == run(TYPER, "--help", columns=60).stdout
    assert "typer imported: True" in narrow.stderr
    for args in (["--debug", "--version"], ["scan", "--help"], ["--version", "--help"]):
        proc = run(ENTRY, *args)
        assert "typer imported: True" in proc.stderr, args
        assert proc.returncode == 0 and proc.stdout == run(TYPER, *args).stdout, args


def rewrite() -> None:
    """Put typer's current top-level help into fast.HELP."""
    text = run(TYPER, "--help").stdout
    assert '"""' not in text and "\\" not in text, "fast.HELP cannot hold this text as is"
    source = FAST.read_text()
    new = re.sub(r'HELP = """\\\n.*?"""', lambda _: f'HELP = """\\\n{text}"""', source, count=1, flags=re.S)
    FAST.write_text(new)
    print("fast.HELP is typer's help" + (" again" if new == source else ": rewritten"))


if __name__ == "__main__":
    rewrite()


# --- scan's fast path: a plain scan command line is parsed without typer ---

def invoke(runner, entry, args, monkeypatch):
    """typer's CliRunner.invoke, which takes the console script's main (_Entry) as it is."""
    import typer.testing

    command = typer.testing._get_command
    with monkeypatch.context() as m:
        m.setattr(typer.testing, "_get_command", lambda app: app if isinstance(app, _Entry) else command(app))
        return runner.invoke(entry, args)


class _Entry:
    """The console script's main() where CliRunner expects a click command (it calls .main)."""
    name = "vnetmigrate"

    def main(self, args=(), prog_name=None, **_extra):
        from vnetmigrate.cli import main

        sys.argv = ["vnetmigrate", *args]
        main()


def _same_text(text: str, stderr: bool = False) -> str:
    """A run's output without what differs from run to run (when it started, how long it took) or
    from parser to parser (a --debug traceback's frames: its first and last lines stay)."""
    text = re.sub(r'"(started_at|duration)": [^,\n}]+', r'"\1": X', text)
    if stderr:
        text = re.sub(r"(?m)^  .*\n", "", text)
    return re.sub(r"done in [0-9.]+ s", "done in X s", text)


@pytest.fixture(scope="module")
def evidence(tmp_path_factory):
    from tests.unit.builders import DEFAULT_NET, LEFTOVER_IPT, ipt, libvirt_nft, make_evidence, status_xml

    where = tmp_path_factory.mktemp("fast") / "ev"
    make_evidence(files={"/etc/libvirt/network.conf": 'firewall_backend = "nftables"\n',
                         "/etc/libvirt/qemu/networks/default.xml": DEFAULT_NET,
                         "/run/libvirt/network/default.xml": status_xml(backend="nftables")},
                  ipv4_save=ipt(LEFTOVER_IPT, policy="DROP", docker=True), nft_objects=tuple(libvirt_nft())).save(where)
    return str(where)


def scan_lines(ev: str, out: str) -> list[list[str]]:
    """Command lines of every kind the fast path takes, with their errors."""
    return [["scan", "--from", ev], ["scan", "--from=" + ev, "--format=json"], ["scan", "--from", ev, "-f", "markdown"],
            ["scan", "--from", ev, "-q"], ["scan", "--from", ev, "--verbose", "-f", "text"],
            ["scan", "--from", ev, "-o", "-"], ["scan", "--from", ev, "-f", "json", "-o", out],
            ["scan", "--from", ev, "--target-version", "12.9", "--format", "html"],
            ["scan", "--from", ev, "--target-version", "1.2"], ["scan", "--from", ev, "-q", "-v", "-f", "json"],
            ["scan", "--from", ev, "--netns", "x"], ["scan", "--from", ev, "--deadline", "30"],
            ["scan", "--from", ev + "/missing", "-f", "json"], ["--debug", "scan", "--from", ev + "/missing"],
            ["scan", "--from", ev, "--root=/", "--state-dir", "/nowhere", "--save-evidence", out],
            ["scan", "--from", ev, "--json"], ["scan", "--json", "--from", ev, "-f", "json", "-o", out],
            ["scan", "--from", ev + "/missing", "--json"]]


def test_scan_lines_run_the_same_with_and_without_typer(evidence, tmp_path, monkeypatch):
    from tests.unit.cli_runner import cli_runner
    from vnetmigrate.cli import fast
    from vnetmigrate.cli.policy import State
    from vnetmigrate.cli.typerapp import app

    runner = cli_runner()
    for args in scan_lines(evidence, str(tmp_path / "out")):
        assert fast.scan_options(args) is not None, args
        runs = []
        for entry in (app, _Entry()):
            State.debug, State.verbosity = False, 0
            res = invoke(runner, entry, args, monkeypatch)
            written = (tmp_path / "out").read_text() if (tmp_path / "out").is_file() else None
            runs.append((res.exit_code, _same_text(res.stdout), _same_text(res.stderr, stderr=True), written and _same_text(written)))
            (tmp_path / "out").unlink(missing_ok=True)
        assert runs[0] == runs[1], args
        assert runs[0][0] in (1, 3, 4), (args, runs[0])  # each line ran the scan or its error policy


def test_scan_options_are_typers(evidence, monkeypatch):
    """What scan's body receives, option by option, from either parser."""
    import inspect

    from tests.unit.cli_runner import cli_runner
    from vnetmigrate.cli import fast, scanrun
    from vnetmigrate.cli.policy import State
    from vnetmigrate.cli.typerapp import app

    real = scanrun.scan
    got = []
    monkeypatch.setattr(scanrun, "scan", lambda *a, **kw: got.append(
        dict(inspect.signature(real).bind(*a, **kw).arguments, debug=State.debug, verbosity=State.verbosity)) or 0)
    for args in (["scan"], ["--debug", "scan", "--netns", "vnm-x", "--root", "/tmp/r/", "--deadline", "7.25"],
                 ["scan", "--state-dir=/s", "--save-evidence", "ev dir", "--target-version", "11.3", "-v"],
                 ["scan", "-o", "-", "-f", "html", "--quiet"], ["scan", "--output", "a=b", "--from", evidence],
                 ["scan", "--json"], ["scan", "--format=json", "--json", "-q"]):
        State.debug = False
        runner = cli_runner()
        assert runner.invoke(app, args).exit_code == 0, args
        State.debug = False
        with pytest.raises(SystemExit) as done:
            fast.scan(args)
        assert done.value.code == 0
        assert got[0] == got[1] and len(got) == 2, args
        got.clear()


@pytest.mark.parametrize("args", [
    ["scan", "--help"], ["scan", "-h"], ["scan", "-qv"], ["scan", "-fjson"], ["scan", "-f=json"], ["scan", "--format", "JSON"],
    ["scan", "--format", "yaml"], ["scan", "--deadline", "0.5"], ["scan", "--deadline", "nan"], ["scan", "--deadline", "1e3"],
    ["scan", "--deadline", "007"], ["scan", "--deadline", "1."], ["scan", "--deadline", "\u0662"],
    ["scan", "--deadline", "5.\u0662"], ["scan", "--netns"], ["scan", "--netns", "--root"], ["scan", "--root", ""],
    ["scan", "--from="], ["scan", "-q", "-q"], ["scan", "--quiet=1"], ["scan", "extra"], ["scan", "--"],
    ["--debug", "--debug", "scan"], ["scan", "--debug"], ["report", "x"], ["--version", "scan"], [],
    ["scan", "--json", "--json"], ["scan", "--json=1"], ["scan", "--json", "-f", "text"], ["scan", "--format=html", "--json"]])
def test_other_lines_go_to_typer(args):
    """Lines whose parsing (or error) is typer's: help, combined or repeated options, values
    that are empty, look like options, or that typer might read otherwise."""
    from vnetmigrate.cli import fast

    assert fast.scan_options(args) is None


def test_a_plain_scan_never_imports_typer(evidence):
    fast, slow = run(ENTRY, "scan", "--from", evidence, "-f", "json"), run(TYPER, "scan", "--from", evidence, "-f", "json")
    assert "typer imported: False" in fast.stderr
    assert (fast.returncode, _same_text(fast.stdout)) == (slow.returncode, _same_text(slow.stdout)) == (4, _same_text(fast.stdout))
    bad = run(ENTRY, "scan", "--from", evidence, "--deadline", "0.5")
    assert "typer imported: True" in bad.stderr and bad.returncode == 2


def test_the_console_script_answers_as_main_does(evidence, tmp_path):
    """`vnetmigrate` (cli.entry: main, then the collector left out of the process's exit) gives
    main's exit code, output and files, also for errors and a written report."""
    script = "from vnetmigrate.cli import entry; entry()"
    for args in (["--version"], *scan_lines(evidence, str(tmp_path / "report"))[:8:3], ["scan", "--deadline", "0"],
                 ["no-such-command"]):
        out = tmp_path / "report"
        mains, entries = [], []
        for code, runs in ((ENTRY, mains), (script, entries)):
            out.unlink(missing_ok=True)
            proc = run(code, *args)
            runs.append((proc.returncode, _same_text(proc.stdout),
                         _same_text(proc.stderr.replace("typer imported: True\n", "").replace(
                             "typer imported: False\n", ""), stderr=True),
                         _same_text(out.read_text()) if out.exists() else None))
        assert entries == mains, args
