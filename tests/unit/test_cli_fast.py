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
