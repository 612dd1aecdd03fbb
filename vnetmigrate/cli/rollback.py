"""`vnetmigrate rollback [ID]`: undo an interrupted or committed transaction, verified."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vnetmigrate.cli.common import OutputOpt, emit_result, guarded, notes_to_stderr, require_root
from vnetmigrate.cli.txnopts import StateDirOpt, TxnFormat, TxnFormatOpt, state_dir_for


@guarded("rollback")
def rollback(
    txn_id: Annotated[Optional[str], typer.Argument(
        metavar="[ID]", help="The transaction to undo (see `history`); default: the interrupted ones, "
                             "else the newest committed one.")] = None,
    restart_command: Annotated[Optional[str], typer.Option(
        "--restart-command", metavar="CMD",
        help="Restart libvirt's network daemon with CMD instead of the command the transaction recorded.")] = None,
    no_restart: Annotated[bool, typer.Option(
        "--no-restart", help="Do not restart libvirt's network daemon, even if the transaction restarted it.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Roll back ID although a committed transaction followed it (restores ID's snapshot "
                        "over that one's changes).")] = False,
    state_dir: StateDirOpt = None,
    netns: Annotated[Optional[str], typer.Option(
        "--netns", metavar="NAME", help="The network namespace the transaction ran in (as `ip netns` names it); "
                                        "it must be the one its journal records.")] = None,
    root: Annotated[Path, typer.Option(
        "--root", metavar="DIR", help="The host's root the transaction ran with (it must be the one its journal "
                                      "records); the default state dir is /var/lib/vnetmigrate under DIR.")] = Path("/"),
    format: TxnFormatOpt = TxnFormat.text,
    output: OutputOpt = None,
) -> int:
    """Undo a transaction: back to the state its snapshot recorded, verified against it."""
    from vnetmigrate.usecases.rollback import rollback as usecase

    require_root("rollback")
    result = usecase(state_dir_for(state_dir, root), txn_id, restart_command, no_restart, force, netns, root,
                     say=notes_to_stderr("rollback"))
    return emit_result(result, format.value, output)
