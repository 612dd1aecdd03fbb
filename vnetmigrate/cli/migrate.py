"""`vnetmigrate migrate`: switch libvirt's firewall backend as one verified, journaled transaction."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from vnetmigrate.cli.common import NetnsOpt, OutputOpt, RootOpt, guarded, require_root
from vnetmigrate.cli.migration import (TXN_BLOCKER, NoRestartOpt, RestartOpt, Target, ToOpt, blockers, prepare,
                                       render, show_plan, unforced)
from vnetmigrate.cli.txnopts import StateDirOpt, TxnFormat, TxnFormatOpt, state_dir_for
from vnetmigrate.exitcodes import ExitCode


@guarded("migrate")
def migrate(
    to: ToOpt = Target.nftables,
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
    from vnetmigrate.netns import entered
    from vnetmigrate.reports.sanitize import printable
    from vnetmigrate.txn import engine, recovery
    from vnetmigrate.txn.hostlock import HostLock
    from vnetmigrate.txn.statedir import StateDir

    require_root("migrate")
    state_dir = state_dir_for(state_dir, root)
    force = force or []
    if dry_run:
        return show_plan("migrate", to.value, netns, root, state_dir, restart_command, no_restart, force,
                         format.value, output)
    with HostLock(netns), StateDir(state_dir) as state:
        for note in recovery.tidy(state, root):
            sys.stderr.write(printable(f"vnetmigrate migrate: note: {note}") + "\n")
        recovered = recovery.recover(state, "interrupted transaction found by migrate",
                                     where=recovery.Where(netns, root))
        extra: dict = {"recovered": [o.to_dict() for o in recovered]} if recovered else {}
        mplan, result = prepare(to.value, netns, root, state_dir, restart_command, no_restart)
        found = blockers(mplan, result, force)
        if any(o.status != "rolled-back" for o in recovered):
            render("migrate", mplan, found, ExitCode.NEEDS_ATTENTION, format.value, output, extra)
            return int(ExitCode.NEEDS_ATTENTION)
        if any(b["id"] == TXN_BLOCKER for b in found):  # even with nothing to do: the host needs attention
            extra["refused"] = "a transaction in the state dir needs attention; nothing was changed"
            render("migrate", mplan, found, ExitCode.BLOCKERS, format.value, output, extra)
            return int(ExitCode.BLOCKERS)
        if mplan.nothing_to_do:
            render("migrate", mplan, found, ExitCode.OK, format.value, output, extra)
            return int(ExitCode.OK)
        if unforced(found, force):
            extra["refused"] = "blockers found; nothing was changed (use --force BLOCKER_ID for each forcible one)"
            render("migrate", mplan, found, ExitCode.BLOCKERS, format.value, output, extra)
            return int(ExitCode.BLOCKERS)
        with entered(netns):
            outcome = engine.run(mplan.plan, state, root, netns=netns, command="migrate")
    extra["transaction"] = outcome.to_dict()
    render("migrate", mplan, found, outcome.exit_code, format.value, output, extra)
    return int(outcome.exit_code)
