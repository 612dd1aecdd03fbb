"""`vnetmigrate history`: the transactions in the state dir and how each ended."""

from __future__ import annotations

from pathlib import Path

from vnetmigrate.cli.common import JsonOpt, OutputOpt, QuietOpt, VerboseOpt, emit_result, guarded
from vnetmigrate.cli.txnopts import StateDirOpt, StateRootOpt, TxnFormat, TxnFormatOpt, state_dir_for


@guarded("history")
def history(
    state_dir: StateDirOpt = None,
    root: StateRootOpt = Path("/"),
    format: TxnFormatOpt = TxnFormat.text,
    as_json: JsonOpt = False,
    output: OutputOpt = None,
    quiet: QuietOpt = False,  # read by guarded(): State.verbosity
    verbose: VerboseOpt = False,
) -> int:
    """List migrations and rollbacks recorded in the state dir, newest first, with their outcome."""
    from vnetmigrate.usecases.history import history as usecase

    return emit_result(usecase(state_dir_for(state_dir, root)), format.value, output)
