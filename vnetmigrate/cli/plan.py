"""`vnetmigrate plan`: what `migrate` would change, and what would stop it. Changes nothing."""

from __future__ import annotations

from pathlib import Path

from vnetmigrate.cli.common import NetnsOpt, OutputOpt, RootOpt, emit_result, guarded, require_root
from vnetmigrate.cli.txnopts import (NoRestartOpt, RestartOpt, StateDirOpt, ToOpt, TxnFormat, TxnFormatOpt,
                                     state_dir_for)
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
    output: OutputOpt = None,
) -> int:
    """Show what `migrate` would change (rules added and removed, network.conf, restart) and its blockers."""
    from vnetmigrate.usecases import plan as usecase

    require_root("plan")
    opts = usecase.Options(to.value, netns, root, state_dir_for(state_dir, root), restart_command, no_restart)
    return emit_result(usecase.plan(opts), format.value, output)
