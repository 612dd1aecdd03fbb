"""Plain `plan`, `migrate` and `rollback` command lines are parsed without typer
(vnetmigrate/cli/fast.py, bodies in cli/txnrun.py), as scan's are (tests/unit/test_cli_fast.py):
the same keywords reach the same body, the same runs print the same and exit the same, and
anything typer might read differently goes to typer. Whole migrations through both parsers on a
real namespace: tests/lab/test_migrate.py."""

from __future__ import annotations

import inspect

import pytest

from tests.unit.cli_runner import cli_runner
from tests.unit.test_cli_fast import ENTRY, TYPER, _Entry, _same_text, invoke, run
from tests.unit.wrapping import unwrapped

PARSED = [
    ["plan"], ["--debug", "plan", "--to", "iptables", "-f", "json"],
    ["plan", "--to=nftables", "--restart-command", "systemctl restart x", "--state-dir", "/s", "--root=/r/"],
    ["plan", "--no-restart", "--netns", "vnm-a", "-o", "-", "--format", "markdown", "-v"],
    ["migrate"], ["migrate", "--force", "a", "--force=b", "--force", "nftables-prerequisites", "-q"],
    ["migrate", "--dry-run", "--to", "iptables", "--output", "out file", "-f", "text", "--no-restart"],
    ["--debug", "migrate", "--netns=vnm-b", "--root", "/tmp/r", "--state-dir", "s", "--restart-command", "-"],
    ["migrate", "--quiet", "--format=json", "--force", "x"],
    ["rollback"], ["rollback", "20260101T000000.000001Z-ab12"], ["rollback", "--force", "X", "--no-restart"],
    ["--debug", "rollback", "--netns", "vnm-c", "--root", "/r", "--state-dir", "/s", "-f", "json", "-o", "o"],
    ["rollback", "--restart-command=a b", "-q", "x=y"],
    ["plan", "--json"], ["migrate", "--json", "--format", "json", "--dry-run"], ["rollback", "X", "--json"],
]


def test_txn_options_are_typers(monkeypatch):
    """What each body receives, option by option, from either parser."""
    from vnetmigrate.cli import fast, txnrun
    from vnetmigrate.cli.policy import State
    from vnetmigrate.cli.typerapp import app

    got = []
    for name in ("plan", "migrate", "rollback"):
        real = getattr(txnrun, name)

        def record(*a, _real=real, _name=name, **kw):
            bound = inspect.signature(_real).bind(*a, **kw)
            bound.apply_defaults()
            got.append((_name, dict(bound.arguments), State.debug, State.verbosity))
            return 0
        monkeypatch.setattr(txnrun, name, record)
    for args in PARSED:
        assert fast.txn_options(args) is not None, args
        State.debug = False
        assert cli_runner().invoke(app, args).exit_code == 0, args
        State.debug = False
        with pytest.raises(SystemExit) as done:
            fast.txn(args)
        assert done.value.code == 0, args
        assert len(got) == 2 and got[0] == got[1], (args, got)
        got.clear()


@pytest.mark.parametrize("args", [
    ["plan", "--help"], ["migrate", "-h"], ["rollback", "--help"], ["migrate", "-qv"], ["migrate", "-fjson"],
    ["migrate", "-f=json"], ["migrate", "--format", "html"], ["plan", "--format", "JSON"], ["migrate", "--to", "NFTABLES"],
    ["migrate", "--to", "ebtables"], ["migrate", "--to"], ["migrate", "--force"], ["migrate", "--force", ""],
    ["migrate", "--force", "--dry-run"], ["migrate", "--force=-x"], ["migrate", "--dry-run=yes"], ["migrate", "-q", "-q"],
    ["migrate", "--to", "nftables", "--to", "iptables"], ["migrate", "x"], ["plan", "--dry-run"], ["plan", "--force", "a"],
    ["rollback", "a", "b"], ["rollback", "-"], ["rollback", ""], ["rollback", "--force", "--force"],
    ["rollback", "--to", "iptables"], ["rollback", "--dry-run"], ["rollback", "--", "x"], ["migrate", "--root", ""],
    ["migrate", "--no-restart=1"], ["--debug", "--debug", "migrate"], ["migrate", "--debug"], ["history"],
    ["repair"], ["--version", "migrate"], ["plan", "--json", "-f", "markdown"], ["rollback", "--json", "--json"],
    ["migrate", "--json=yes"]])
def test_other_txn_lines_go_to_typer(args):
    """Lines whose parsing (or error) is typer's: help, combined or repeated options, values that
    are empty or look like options, arguments where none or one is taken, other commands."""
    from vnetmigrate.cli import fast

    assert fast.txn_options(args) is None


def error_lines(tmp) -> list[list[str]]:
    """Command lines that run the bodies to their end or their error policy, touching nothing
    but `tmp`: an empty state dir, a missing root, contradicting options, a missing namespace."""
    state, out, missing = str(tmp / "state"), str(tmp / "out"), str(tmp / "missing")
    where = ["--state-dir", state, "--root", str(tmp)]
    return [["rollback", *where], ["rollback", *where, "-f", "json", "-o", out], ["rollback", "20990101T000000Z-x", *where],
            ["rollback", "20990101T000000Z-x", *where, "-f", "json"], ["rollback", *where, "-q", "-v", "-f", "json"],
            ["migrate", "--root", missing, "-f", "json"], ["migrate", "--root", missing, "-f", "json", "-o", out],
            ["--debug", "plan", "--root", missing], ["plan", "--no-restart", "--restart-command", "x", "--root", str(tmp)],
            ["migrate", "--dry-run", *where, "--netns", "vnm-no-such-ns", "-f", "markdown"],
            ["--debug", "migrate", *where, "--netns", "vnm-no-such-ns", "--force", "x"],
            ["rollback", "20990101T000000Z-x", *where, "--json", "-o", out], ["migrate", "--root", missing, "--json"]]


def test_txn_lines_run_the_same_with_and_without_typer(tmp_path, monkeypatch):
    from vnetmigrate.cli import fast
    from vnetmigrate.cli.policy import State
    from vnetmigrate.cli.typerapp import app

    (tmp_path / "state").mkdir()
    runner = cli_runner()
    for args in error_lines(tmp_path):
        assert fast.txn_options(args) is not None, args
        runs = []
        for entry in (app, _Entry()):
            State.debug, State.verbosity = False, 0
            res = invoke(runner, entry, args, monkeypatch)
            out = tmp_path / "out"
            written = out.read_text() if out.is_file() else None
            runs.append((res.exit_code, _same_text(res.stdout), _same_text(res.stderr, stderr=True), written and _same_text(written)))
            out.unlink(missing_ok=True)
        assert runs[0] == runs[1], args
        assert runs[0][1] or runs[0][2] or runs[0][3], args  # each line printed its outcome or its error


def test_a_plain_rollback_never_imports_typer(tmp_path):
    args = ["rollback", "--state-dir", str(tmp_path), "--root", str(tmp_path), "-f", "json"]
    fast, slow = run(ENTRY, *args), run(TYPER, *args)
    assert "typer imported: False" in fast.stderr
    assert (fast.returncode, _same_text(fast.stdout)) == (slow.returncode, _same_text(slow.stdout)) == (0, _same_text(fast.stdout))
    bad = run(ENTRY, *args[:-1], "html")
    assert "typer imported: True" in bad.stderr and bad.returncode == 2


def test_a_shell_completion_request_goes_to_typer(tmp_path, monkeypatch):
    """With click's completion variable set, typer answers the completion request (or says the
    shell is not supported) and runs nothing: a migration must never start from a <TAB>."""
    from vnetmigrate.cli import fast

    args = ["migrate", "--state-dir", str(tmp_path), "--root", str(tmp_path / "missing")]
    monkeypatch.setenv(fast.COMPLETE_VAR, "complete_bash")
    monkeypatch.setenv("COMP_WORDS", "vnetmigrate mig")
    monkeypatch.setenv("COMP_CWORD", "1")
    assert fast.txn_options(args) is None and fast.scan_options(["scan"]) is None and not fast.answer(["--version"])
    proc = run(ENTRY, *args)
    assert "typer imported: True" in proc.stderr
    assert "not a directory" not in proc.stdout + proc.stderr  # the command line did not run
    monkeypatch.delenv(fast.COMPLETE_VAR)
    assert "not a directory" in unwrapped(run(ENTRY, *args).stderr)  # as it does without the variable
