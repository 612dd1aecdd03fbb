"""`vnetmigrate plan`: what `migrate` would change, and what would stop it. Changes nothing."""

from __future__ import annotations

from pathlib import Path

from vnetmigrate.cli.common import JsonOpt, NetnsOpt, OutputOpt, QuietOpt, RootOpt, VerboseOpt, guarded
from vnetmigrate.cli.txnopts import NoRestartOpt, RestartOpt, StateDirOpt, ToOpt, TxnFormat, TxnFormatOpt
from vnetmigrate.firewall import Backend


@guarded("plan")
def plan(
    to: ToOpt = Backend.NFTABLES,
    restart_command: RestartOpt = None,
    no_restart: NoRestartOpt = False,
    state_dir: StateDirOpt = None,
    netns: NetnsOpt = None,
    root: RootOpt = Path("/"),
    format: TxnFormatOpt = TxnFormat.text,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
    quiet: QuietOpt = False,  # read by guarded(): State.verbosity
    verbose: VerboseOpt = False,
) -> int:
    """Show what `migrate` would change (rules added and removed, network.conf, restart) and its blockers."""
    from vnetmigrate.cli.txnrun import plan as run

    return run(to, restart_command, no_restart, state_dir, netns, root, format, output)
