"""`migrate`: roll back what an interrupted migration left, plan, gate on the blockers, and run
the plan as one journaled, verified transaction."""

from __future__ import annotations

from typing import Any, Callable, ClassVar

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.exitcodes import ExitCode
from vnetmigrate.usecases.outcome import TxnOutcome, quiet
from vnetmigrate.usecases.plan import TXN_BLOCKER, Options, PlanResult, check_options, prepare

REFUSED_TXN = "a transaction in the state dir needs attention; nothing was changed"
REFUSED_BLOCKERS = "blockers found; nothing was changed (use --force BLOCKER_ID for each forcible one)"


@dataclass(frozen=True)
class MigrateResult:
    """What migrate did, or why it changed nothing."""
    command: ClassVar[str] = "migrate"
    plan: PlanResult
    exit_code: ExitCode
    dry_run: bool = False
    recovered: tuple[TxnOutcome, ...] = ()   # interrupted transactions rolled back first
    refused: str | None = None               # why nothing was changed
    transaction: TxnOutcome | None = None    # the migration's own transaction, when it ran

    @property
    def status(self) -> str:
        return {ExitCode.OK: "ok", ExitCode.BLOCKERS: "blockers", ExitCode.ROLLED_BACK: "rolled-back"}.get(
            self.exit_code, "needs-attention")

    def to_data(self) -> dict[str, Any]:
        return {**self.plan.to_data(), "dry_run": self.dry_run, "recovered": [o.to_dict() for o in self.recovered],
                "refused": self.refused, "transaction": self.transaction.to_dict() if self.transaction else None}


def dry_run(opts: Options, force: tuple[str, ...] = ()) -> MigrateResult:
    """What migrate would do (as `plan` shows it, with --force applied); changes nothing."""
    from vnetmigrate.gcpause import paused

    with paused():
        plan = prepare(opts, force).result
    return MigrateResult(plan, plan.exit_code, dry_run=True)


def migrate(opts: Options, force: tuple[str, ...] = (), say: Callable[[str], None] = quiet) -> MigrateResult:
    """Roll back interrupted transactions, plan, and migrate unless blocked. `say` hears what
    recovery tidied first (recovery.tidy): housekeeping, not part of the result."""
    from vnetmigrate.gcpause import paused
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import engine, recovery
    from vnetmigrate.txn.hostlock import HostLock
    from vnetmigrate.txn.statedir import StateDir

    check_options(opts)
    # Like scan, migrate builds a big long-lived model (the host's facts, the plan, the
    # snapshot): the cyclic collector walking it again and again took a third of its time at
    # 500 networks (vnetmigrate/gcpause.py).
    with paused(), HostLock(opts.netns), StateDir(opts.state_dir) as state:
        for note in recovery.tidy(state, opts.root, opts.netns):
            say(note)
        recovered = tuple(TxnOutcome.of(o) for o in recovery.recover(
            state, "interrupted transaction found by migrate", where=recovery.Where(opts.netns, opts.root)))
        prepared = prepare(opts, force)
        plan = prepared.result
        if any(not o.rolled_back for o in recovered):
            return MigrateResult(plan, ExitCode.NEEDS_ATTENTION, recovered=recovered)
        if any(b.id == TXN_BLOCKER for b in plan.blockers):  # even with nothing to do: the host needs attention
            return MigrateResult(plan, ExitCode.BLOCKERS, recovered=recovered, refused=REFUSED_TXN)
        if plan.nothing_to_do:
            return MigrateResult(plan, ExitCode.OK, recovered=recovered)
        if plan.unforced:
            return MigrateResult(plan, ExitCode.BLOCKERS, recovered=recovered, refused=REFUSED_BLOCKERS)
        with entered(opts.netns):
            outcome = engine.run(prepared.migration.plan, state, opts.root, netns=opts.netns, command="migrate")
    return MigrateResult(plan, outcome.exit_code, recovered=recovered, transaction=TxnOutcome.of(outcome))
