"""`vnetmigrate rollback [ID]`: undo an interrupted or committed transaction, verified."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from vnetmigrate.cli.common import OutputOpt, guarded, require_root, write_output
from vnetmigrate.cli.txnopts import StateDirOpt, TxnFormat, TxnFormatOpt, state_dir_for
from vnetmigrate.exitcodes import ExitCode


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
    from vnetmigrate.errors import InputError
    from vnetmigrate.reports.sanitize import printable
    from vnetmigrate.txn import daemon, journal, recovery
    from vnetmigrate.txn.engine import Restart
    from vnetmigrate.txn.hostlock import HostLock
    from vnetmigrate.txn.statedir import StateDir, StateDirError

    require_root("rollback")
    if restart_command and no_restart:
        raise InputError("--restart-command and --no-restart exclude each other")
    if force and txn_id is None:
        raise InputError("--force needs the ID of the transaction to roll back")
    where = recovery.Where(netns, root)
    how = Restart(argv=daemon.command_argv(restart_command) if restart_command else None, skip=no_restart)
    reason = "rollback requested"
    state_dir = state_dir_for(state_dir, root)
    if not StateDir(state_dir).readable():  # nothing was ever recorded there: create nothing
        if txn_id is not None:
            raise StateDirError(f"no transaction {txn_id!r}: {state_dir} holds no transactions",
                                hint="`vnetmigrate history --state-dir DIR` lists them")
        emit([], ExitCode.OK, format.value, output, state_dir)
        return int(ExitCode.OK)
    with HostLock(netns), StateDir(state_dir) as state:
        for note in recovery.tidy(state, root):
            sys.stderr.write(printable(f"vnetmigrate rollback: note: {note}") + "\n")
        if txn_id is not None:
            summary = journal.read(state.txn_dir(txn_id))
            if summary.status == "committed":
                outcomes = [recovery.roll_back_committed(state, summary, how, where)]
            elif summary.status in ("incomplete", "needs-attention"):
                later = recovery.committed_after(state, summary)
                if later and not force:
                    raise recovery.superseded(summary, later)
                outcomes = [recovery.roll_back_one(summary, reason, how, where)]
            else:
                raise StateDirError(f"transaction {txn_id} was already rolled back")
        else:
            outcomes = recovery.recover(state, reason, retry=True, how=how, where=where)
            if not outcomes and (latest := recovery.latest_committed(state)) is not None:
                outcomes = [recovery.roll_back_committed(state, latest, how, where)]
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
        lines += outcome_lines(r)
    write_output("\n".join(lines) + "\n", output)


def outcome_lines(r: dict) -> list[str]:
    """A rollback's outcome as readable lines (rollback, and the recoveries migrate runs first)."""
    if r["status"] == "rolled-back":
        return [f"{r['id']}: rolled back; the old state is verified back", *detail_lines(r)]
    return [f"{r['id']}: ROLLBACK INCOMPLETE: the host needs attention", *detail_lines(r)]


def detail_lines(r: dict) -> list[str]:
    """What went wrong in a rollback, what differs, how to retry, and notes."""
    lines = [f"  - {e}" for e in r.get("rollback_errors") or []]
    lines += [f"  - differs from the snapshot: {d}" for d in r.get("differences") or []]
    if r["status"] == "needs-attention":
        lines.append(f"  retry with `vnetmigrate rollback {r['id']}` (with --restart-command CMD or --no-restart "
                     "if restarting the daemon is what failed)")
    return lines + [f"  note: {n}" for n in r.get("notes") or []]
