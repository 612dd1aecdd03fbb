"""`vnetmigrate history`: the transactions in the state dir and how each ended."""

from __future__ import annotations

from pathlib import Path

from vnetmigrate.cli.common import OutputOpt, guarded, write_output
from vnetmigrate.cli.txnopts import StateDirOpt, StateRootOpt, TxnFormat, TxnFormatOpt, state_dir_for
from vnetmigrate.exitcodes import ExitCode


def summaries(state_dir: Path) -> list[dict]:
    """Every transaction, oldest first; a corrupt journal is listed as such, not fatal.

    A missing state dir has none; a path that is no directory is an error (StateDirError).
    """
    from vnetmigrate.txn import journal
    from vnetmigrate.txn.statedir import StateDir

    out = []
    for d in StateDir(state_dir).txn_dirs():
        try:
            out.append(journal.read(d).to_dict())
        except journal.JournalCorrupt as exc:
            out.append({"id": d.name, "status": "corrupt", "errors": [exc.message]})
    return out


@guarded("history")
def history(
    state_dir: StateDirOpt = None,
    root: StateRootOpt = Path("/"),
    format: TxnFormatOpt = TxnFormat.text,
    output: OutputOpt = None,
) -> int:
    """List migrations and rollbacks recorded in the state dir, newest first, with their outcome."""
    state_dir = state_dir_for(state_dir, root)
    rows = list(reversed(summaries(state_dir)))
    attention = any(r["status"] in ("incomplete", "needs-attention", "corrupt") for r in rows)
    code = ExitCode.NEEDS_ATTENTION if attention else ExitCode.OK
    if format.value == "json":
        from vnetmigrate.reports.envelope import dumps, envelope

        status = "needs-attention" if attention else "ok"
        write_output(dumps(envelope("history", status, code, {"state_dir": str(state_dir),
                                                               "transactions": rows})), output)
        return int(code)
    width = max([len("ID"), *(len(r["id"]) for r in rows)])
    lines = [f"{'ID':<{width}} {'STATUS':<16} {'STEPS':>5}  TITLE"] if rows else [f"no transactions in {state_dir}"]
    for r in rows:
        steps = f"{r.get('steps_done', 0)}/{r.get('steps', '?')}" if "steps" in r else "-"
        lines.append(f"{r['id']:<{width}} {r['status']:<16} {steps:>5}  {r.get('title') or ''}")
        for err in r.get("errors") or []:
            lines.append(f"{'':<{width}} {err}")
    write_output("\n".join(lines) + "\n", output)
    return int(code)
