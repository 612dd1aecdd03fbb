"""The shipped shell completions match the CLI, and the shells complete with them."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from vnetmigrate.cli import app

COMPLETIONS = Path(__file__).resolve().parents[2] / "completions"
BASH, ZSH, FISH = COMPLETIONS / "vnetmigrate.bash", COMPLETIONS / "_vnetmigrate", COMPLETIONS / "vnetmigrate.fish"


def _generator():
    spec = importlib.util.spec_from_file_location("completions_generate", COMPLETIONS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module     # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _cli() -> dict[str, set[str]]:
    """Every command with its options (long and short), as the CLI has them; "" is the root."""
    group = typer.main.get_command(app)
    out = {"": {o for p in group.params for o in p.opts}}
    for name, command in group.commands.items():
        out[name] = {o for p in command.params for o in p.opts if o.startswith("-")}
    return out


def test_the_shipped_files_are_what_the_generator_makes_of_the_cli():
    for name, text in _generator().render_all().items():
        assert (COMPLETIONS / name).read_text() == text, \
            f"completions/{name} is out of date: run .venv/bin/python completions/generate.py"


def test_every_command_and_option_appears_in_every_file():
    # Independent of the generator: a generator that dropped an option would fail here.
    for path in (BASH, ZSH, FISH):
        text = path.read_text()
        for command, options in _cli().items():
            if command:
                assert re.search(rf"\b{command}\b", text), (path.name, command)
            for opt in options:
                token = opt if path != FISH else (f"-l {opt[2:]}" if opt.startswith("--") else f"-s {opt[1:]}")
                assert token in text, (path.name, command, opt)


def _bash_complete(line: str) -> list[str]:
    """What bash offers at the end of `line`, using the shipped file."""
    script = (f"source {BASH}\n"
              f"COMP_WORDS=({line}); [[ '{line}' == *' ' ]] && COMP_WORDS+=('')\n"
              "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
              "_vnetmigrate\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0, proc.stderr
    return [w for w in proc.stdout.splitlines() if w]


def test_bash_completes_commands_options_and_choices():
    assert _bash_complete("vnetmigrate ") == [*_cli().keys()][1:] + ["--version", "--debug", "-h", "--help"]
    assert _bash_complete("vnetmigrate pl") == ["plan"]
    assert set(_bash_complete("vnetmigrate rules -")) == _cli()["rules"] | {"-h", "--help"}
    assert _bash_complete("vnetmigrate scan --format ") == ["text", "json", "markdown", "html"]
    assert _bash_complete("vnetmigrate --debug migrate --to n") == ["nftables"]


def test_bash_completes_directories_for_dir_options(tmp_path):
    (tmp_path / "evidence-dir").mkdir()
    (tmp_path / "evidence-file").write_text("")
    (tmp_path / "state-dir").mkdir()
    (tmp_path / "state-file").write_text("")
    assert _bash_complete(f"vnetmigrate scan --state-dir {tmp_path}/st") == [f"{tmp_path}/state-dir"]
    # --from takes saved evidence (a directory) or a support bundle (a file)
    assert sorted(_bash_complete(f"vnetmigrate scan --from {tmp_path}/ev")) == \
        [f"{tmp_path}/evidence-dir", f"{tmp_path}/evidence-file"]
    assert sorted(_bash_complete(f"vnetmigrate report {tmp_path}/ev")) == \
        [f"{tmp_path}/evidence-dir", f"{tmp_path}/evidence-file"]


def test_fish_completes_with_the_shipped_file():
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed (./bootstrap test installs it)")

    def complete(line: str) -> list[str]:
        proc = subprocess.run(["fish", "--no-config", "-c", f"source {FISH}; complete -C '{line}'"],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        return [w.split("\t")[0] for w in proc.stdout.splitlines()]

    assert set(complete("vnetmigrate ")) == set([*_cli()][1:])
    assert complete("vnetmigrate rules --family ") == ["ipv4", "ipv6"]
    assert {"--dry-run", "--force", "--to"} <= set(complete("vnetmigrate migrate --"))


def test_zsh_reads_the_file():
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed (./bootstrap test installs it)")
    proc = subprocess.run(["zsh", "-n", str(ZSH)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
