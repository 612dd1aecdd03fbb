"""What every command shares: typer's declarations of the common options, and (from
cli/policy.py, which needs no typer) the error policy and the one place that prints."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vnetmigrate.cli.policy import (Format, State, _reader_gone, _to_terminal, emit, emit_result,
                                    fail, guarded, notes_to_stderr, require_root, to_stdout, write_output)
from vnetmigrate.exitcodes import ExitCode

NetnsOpt = Annotated[Optional[str], typer.Option(
    "--netns", metavar="NAME", help="Work inside the named network namespace (as `ip netns` names it).")]
RootOpt = Annotated[Path, typer.Option(
    "--root", metavar="DIR", help="Read configuration files under DIR instead of /.")]
FormatOpt = Annotated[Format, typer.Option(
    "--format", "-f", help="Output format: text (for a terminal), json, markdown or html.")]
# --json is --format json (usage.Command folds it into format before the command runs, and
# refuses it with another --format); guarded() drops the keyword, so a body never sees it.
JsonOpt = Annotated[bool, typer.Option("--json", help="Short for --format json.")]
OutputOpt = Annotated[Optional[Path], typer.Option(
    "--output", "-o", metavar="FILE", help="Write the report to FILE instead of standard output (- is standard "
                                           "output).")]
QuietOpt = Annotated[bool, typer.Option(
    "--quiet", "-q", help="Print only the verdict or outcome line; no progress.")]
VerboseOpt = Annotated[bool, typer.Option(
    "--verbose", "-v", help="More detail: scan's full compatibility matrix and every reason, and how long the "
                                      "command took.")]


__all__ = ["ExitCode", "Format", "FormatOpt", "JsonOpt", "NetnsOpt", "OutputOpt", "QuietOpt", "VerboseOpt",
           "to_stdout", "RootOpt", "State", "emit", "emit_result", "fail", "guarded", "notes_to_stderr", "require_root", "write_output",
           "_reader_gone", "_to_terminal"]
