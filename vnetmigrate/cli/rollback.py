"""`vnetmigrate rollback [ID]`: undo an interrupted or committed transaction, verified."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from vnetmigrate.cli.common import OutputOpt, guarded, require_root, write_output
from vnetmigrate.cli.txnopts import StateDirOpt, StateRootOpt, TxnFormat, TxnFormatOpt, state_dir_for
from vnetmigrate.exitcodes import ExitCode


@guarded("rollback")
def rollback(
    txn_id: Annotated[Optional[str], typer.Argument(
        metavar="[ID]", help="The transaction to undo (see `history`); default: the interrupted ones, "
                             "else the newest committed one.")] = None,
    state_dir: StateDirOpt = None,
    root: StateRootOpt = Path("/"),
    format: TxnFormatOpt = TxnFormat.text,
    output: OutputOpt = None,
) -> int:
    """Undo a transaction: back to the state its snapshot recorded, verified against it."""
    from vnetmigrate.txn import journal, recovery
    from vnetmigrate.txn.statedir import StateDir, StateDirError

    require_root("rollback")
    reason = "rollback requested"
    state_dir = state_dir_for(state_dir, root)
    if not StateDir(state_dir).readable():  # nothing was ever recorded there: create nothing
        if txn_id is not None:
            raise StateDirError(f"no transaction {txn_id!r}: {state_dir} holds no transactions",
                                hint="`vnetmigrate history --state-dir DIR` lists them")
        emit([], ExitCode.OK, format.value, output, state_dir)
        return int(ExitCode.OK)
    with StateDir(state_dir) as state:
        if txn_id is not None:
            summary = journal.read(state.txn_dir(txn_id))
            if summary.status == "committed":
                outcomes = [recovery.roll_back_committed(state, summary)]
            elif summary.status in ("incomplete", "needs-attention"):
                outcomes = [recovery.roll_back_one(summary, reason)]
            else:
                raise StateDirError(f"transaction {txn_id} was already rolled back")
        else:
            outcomes = recovery.recover(state, reason, retry=True)
            if not outcomes and (latest := recovery.latest_committed(state)) is not None:
                outcomes = [recovery.roll_back_committed(state, latest)]
    failed = [o for o in outcomes if o.status != "rolled-back"]
    code = ExitCode.NEEDS_ATTENTION if failed else ExitCode.OK
    emit([o.to_dict() for o in outcomes], code, format.value, output, state_dir)
    return int(code)


def emit(rows: list[dict], code: ExitCode, fmt: str, output: Path | None, state_dir: Path) -> None:
    if fmt == "json":
        from vnetmigrate.reports.envelope import dumps, envelope

        status = "ok" if code == ExitCode.OK else "needs-attention"
        write_output(dumps(envelope("rollback", status, code, {"transactions": rows})), output)
        return
    if not rows:
        write_output(f"nothing to roll back in {state_dir}\n", output)
        return
    lines = []
    for r in rows:
        if r["status"] == "rolled-back":
            lines.append(f"{r['id']}: rolled back; the old state is verified back")
        else:
            lines.append(f"{r['id']}: ROLLBACK INCOMPLETE: the host needs attention")
            lines += [f"  - {e}" for e in r["rollback_errors"]]
            lines += [f"  - differs from the snapshot: {d}" for d in r["differences"]]
    write_output("\n".join(lines) + "\n", output)
