"""`vnetmigrate migrate`: switch libvirt's firewall backend as one verified, journaled transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vnetmigrate.cli.common import NetnsOpt, OutputOpt, RootOpt, emit_result, guarded, notes_to_stderr, require_root
from vnetmigrate.cli.txnopts import (NoRestartOpt, RestartOpt, StateDirOpt, ToOpt, TxnFormat, TxnFormatOpt,
                                     state_dir_for)
from vnetmigrate.firewall import Backend


@guarded("migrate")
def migrate(
    to: ToOpt = Backend.NFTABLES,
    force: Annotated[Optional[list[str]], typer.Option(
        "--force", metavar="BLOCKER_ID", help="Go ahead despite this blocker (repeat for each).")] = None,
    restart_command: RestartOpt = None,
    no_restart: NoRestartOpt = False,
    state_dir: StateDirOpt = None,
    netns: NetnsOpt = None,
    root: RootOpt = Path("/"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show the plan (as `plan` does).")] = False,
    format: TxnFormatOpt = TxnFormat.text,
    output: OutputOpt = None,
) -> int:
    """Move libvirt's rules to the other backend: make before break, verified, rolled back on failure."""
    from vnetmigrate.usecases import migrate as usecase
    from vnetmigrate.usecases.plan import Options

    require_root("migrate")
    opts = Options(to.value, netns, root, state_dir_for(state_dir, root), restart_command, no_restart)
    if dry_run:
        return emit_result(usecase.dry_run(opts, tuple(force or ())), format.value, output)
    return emit_result(usecase.migrate(opts, tuple(force or ()), say=notes_to_stderr("migrate")), format.value, output)
