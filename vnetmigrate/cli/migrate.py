"""`vnetmigrate migrate`: switch libvirt's firewall backend as one verified, journaled transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vnetmigrate.cli.common import JsonOpt, NetnsOpt, OutputOpt, QuietOpt, RootOpt, VerboseOpt, guarded
from vnetmigrate.cli.txnopts import NoRestartOpt, RestartOpt, StateDirOpt, ToOpt, TxnFormat, TxnFormatOpt
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
    as_json: JsonOpt = False,
    output: OutputOpt = None,
    quiet: QuietOpt = False,  # read by guarded(): State.verbosity
    verbose: VerboseOpt = False,
) -> int:
    """Move libvirt's rules to the other backend: make before break, verified, rolled back on failure."""
    from vnetmigrate.cli.txnrun import migrate as run

    return run(to, force, restart_command, no_restart, state_dir, netns, root, dry_run, format, output)
