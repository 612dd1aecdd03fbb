"""The migration planner's whole path (txn/planner.py) as a remedy's steps: a repair that
moves libvirt to a backend, or restarts it into the one network.conf names, runs exactly the
steps `vnetmigrate migrate --to BACKEND` would (make before break, verified, the daemon
restarted with the guard, the copies it re-creates removed), never forcing a blocker."""

from __future__ import annotations

from vnetmigrate.errors import VnmError
from vnetmigrate.firewall import Backend
from vnetmigrate.repair.remedies import RepairContext
from vnetmigrate.txn import planner


def migration(facts, target: Backend, ctx: RepairContext) -> tuple[planner.MigrationPlan | None, str]:
    """The plan of `migrate --to target` on this host, or None and why it cannot be used."""
    try:
        mplan = planner.build(facts, target, list(ctx.restart) if ctx.restart is not None else None,
                              ctx.restart_why)
    except VnmError as exc:
        return None, exc.message
    if mplan.blockers:  # a repair forces nothing: `migrate --force` is the admin's call
        return None, "; ".join(f"{b.title} ({b.id})" for b in mplan.blockers)
    return mplan, ""
