"""`vnetmigrate rollback [ID]`: undo an interrupted or committed transaction, verified."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vnetmigrate.cli.common import JsonOpt, OutputOpt, QuietOpt, VerboseOpt, guarded
from vnetmigrate.cli.txnopts import StateDirOpt, TxnFormat, TxnFormatOpt


@guarded("rollback")
def rollback(
    txn_id: Annotated[Optional[str], typer.Argument(
        metavar="ID", help="The transaction to undo (see `history`); default: the interrupted ones, "
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
    as_json: JsonOpt = False,
    output: OutputOpt = None,
    quiet: QuietOpt = False,  # read by guarded(): State.verbosity
    verbose: VerboseOpt = False,
) -> int:
    """Undo a transaction: back to the state its snapshot recorded, verified against it."""
    from vnetmigrate.cli.txnrun import rollback as run

    return run(txn_id, restart_command, no_restart, force, state_dir, netns, root, format, output)
