"""The man page describes exactly the commands, options and exit codes the CLI has."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import typer

from vnetmigrate.cli import app
from vnetmigrate.exitcodes import ExitCode

MAN = Path(__file__).resolve().parents[2] / "man" / "vnetmigrate.8"


def sections(text: str) -> dict[str, list[str]]:
    """Map each .SH/.SS heading to its lines."""
    out: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        m = re.match(r'^\.S[HS] "?([^"]*)"?$', line)
        if m:
            current = m.group(1)
            out[current] = []
        else:
            out.setdefault(current, []).append(line)
    return out


def tagged_options(lines: list[str]) -> set[str]:
    """Long options named in .TP item headers (the line after each .TP)."""
    found = set()
    for i, line in enumerate(lines[:-1]):
        if line == ".TP":
            found.update(re.findall(r"--([a-z][a-z0-9-]*)", lines[i + 1].replace("\\-", "-")))
    return found


def cli_options(command) -> set[str]:
    return {opt[2:] for p in command.params for opt in p.opts if opt.startswith("--")} - {"help"}


def test_every_command_and_option_is_documented_and_nothing_else():
    group = typer.main.get_command(app)
    secs = sections(MAN.read_text())
    documented = {name.split()[1] for name in secs if name.startswith("vnetmigrate ")}
    assert documented == set(group.commands)
    for name, command in group.commands.items():
        assert tagged_options(secs[f"vnetmigrate {name}"]) == cli_options(command), name
    assert tagged_options(secs["OPTIONS"]) == cli_options(group) | {"help"}


def test_every_exit_code_is_documented():
    lines = sections(MAN.read_text())["EXIT STATUS"]
    for code in ExitCode:
        i = lines.index(f".B {int(code)}")
        assert lines[i + 1].startswith(f"{code.name}:"), code


def test_version_in_title_matches_package():
    from vnetmigrate import __version__

    assert f'"vnetmigrate {__version__}"' in MAN.read_text().splitlines()[0]


@pytest.mark.parametrize("argv", [["groff", "-man", "-ww", "-z"], ["mandoc", "-T", "lint"]])
def test_lint_clean(argv):
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed (the set-up script installs it)")
    proc = subprocess.run([*argv, str(MAN)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == "", proc.stdout + proc.stderr
