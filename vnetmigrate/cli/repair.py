"""`vnetmigrate repair`: fix what scan found, as one verified, journaled transaction."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from vnetmigrate.cli.common import (JsonOpt, NetnsOpt, OutputOpt, QuietOpt, State, VerboseOpt, emit_result, guarded,
                                    notes_to_stderr, require_root, to_stdout)
from vnetmigrate.cli.progress import progress
from vnetmigrate.cli.txnopts import NoRestartOpt, RestartOpt, StateDirOpt, state_dir_for


class RepairFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


IdsOpt = Optional[list[str]]


@guarded("repair")
def repair(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what repair would change; change "
                                                            "nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking (for scripts; needed without a "
                                                          "terminal).")] = False,
    only: Annotated[IdsOpt, typer.Option("--only", metavar="ID", help="Repair only this finding (repeat for "
                                                                      "each); needed for the repairs that are a "
                                                                      "choice.")] = None,
    skip: Annotated[IdsOpt, typer.Option("--skip", metavar="ID", help="Leave this finding as it is (repeat for "
                                                                      "each).")] = None,
    netns: NetnsOpt = None,
    root: Annotated[Path, typer.Option("--root", metavar="DIR", help="Read and write libvirt's files under DIR "
                                                                     "instead of /.")] = Path("/"),
    state_dir: StateDirOpt = None,
    restart_command: RestartOpt = None,
    no_restart: NoRestartOpt = False,
    format: Annotated[RepairFormat, typer.Option("--format", "-f", help="Output format: text, json or markdown.")]
    = RepairFormat.text,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
    quiet: QuietOpt = False,  # read by guarded(): State.verbosity
    verbose: VerboseOpt = False,
) -> int:
    """Repair what scan found (libvirt's missing or leftover rules, ...): shown, confirmed, verified, reversible."""
    from vnetmigrate.errors import InputError
    from vnetmigrate.reports.envelope import about_host
    from vnetmigrate.usecases import repair as usecase

    require_root("repair")
    opts = usecase.Options(netns, root, state_dir_for(state_dir, root), restart_command, no_restart,
                           tuple(only or ()), tuple(skip or ()))
    usecase.check_options(opts)
    interactive = not yes and not dry_run
    if interactive and not sys.stdin.isatty():
        raise InputError("repair changes the host and there is no terminal to confirm on: pass --yes to apply "
                         "without asking", hint="`vnetmigrate repair --dry-run` shows what it would change")
    shown: list[bool] = []
    with progress("reading the host and repairing", State.verbosity) as line:
        result = usecase.repair(opts, dry_run=dry_run, say=notes_to_stderr("repair"),
                                confirm=_ask(format.value, shown, line) if interactive else None)
    about_host(*result.host)
    if any(shown) and format is RepairFormat.text and to_stdout(output) and State.verbosity >= 0:
        from vnetmigrate.cli.common import write_output
        from vnetmigrate.reports.txn_terminal import repair_outcome_text

        write_output(repair_outcome_text(result), None)  # the plan is on the screen already
        return int(result.exit_code)
    return emit_result(result, format.value, output)


def _ask(fmt: str, shown: list[bool], line):
    """Show the plan on the terminal and ask; the answer is read from standard input. With
    --format json or markdown the plan and the question go to standard error (standard output is
    the report)."""
    def confirm(planned) -> bool:
        from vnetmigrate.reports.sanitize import printable
        from vnetmigrate.reports.txn_terminal import repair_plan_text

        line.pause()
        out = sys.stdout if fmt == "text" else sys.stderr
        out.write(printable(repair_plan_text(planned)))
        out.write(f"Apply these {len(planned.steps)} steps? [y/N] ")
        out.flush()
        shown.append(fmt == "text")
        answer = sys.stdin.readline().strip().lower()
        line.resume()
        return answer in ("y", "yes")
    return confirm
