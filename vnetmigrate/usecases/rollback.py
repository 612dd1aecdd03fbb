"""`rollback [ID]`: undo an interrupted or committed transaction, verified against its snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, ClassVar

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.exitcodes import ExitCode
from vnetmigrate.usecases.outcome import TxnOutcome, quiet


@dataclass(frozen=True)
class RollbackResult:
    """The transactions rolled back and their outcomes."""
    command: ClassVar[str] = "rollback"
    state_dir: Path
    transactions: tuple[TxnOutcome, ...]   # empty: nothing to roll back

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.NEEDS_ATTENTION if any(not o.rolled_back for o in self.transactions) else ExitCode.OK

    @property
    def status(self) -> str:
        return "ok" if self.exit_code == ExitCode.OK else "needs-attention"

    def to_data(self) -> dict[str, Any]:
        return {"state_dir": str(self.state_dir), "transactions": [o.to_dict() for o in self.transactions]}


def rollback(state_dir: Path, txn_id: str | None = None, restart_command: str | None = None,
             no_restart: bool = False, force: bool = False, netns: str | None = None,
             root: Path = Path("/"), say: Callable[[str], None] = quiet) -> RollbackResult:
    """Roll back `txn_id`; without it, every interrupted transaction, else the newest committed one.

    `netns` and `root` say where the command runs: each transaction's journal must name the
    same (recovery.Where), and only that namespace is locked (txn.hostlock). `say` hears what
    recovery tidied first (recovery.tidy): housekeeping, not part of the result."""
    from vnetmigrate.errors import InputError
    from vnetmigrate.gcpause import paused
    from vnetmigrate.txn import daemon, journal, recovery
    from vnetmigrate.txn.engine import Restart
    from vnetmigrate.txn.hostlock import HostLock
    from vnetmigrate.txn.statedir import StateDir, StateDirError

    if restart_command and no_restart:
        raise InputError("--restart-command and --no-restart exclude each other")
    if force and txn_id is None:
        raise InputError("--force needs the ID of the transaction to roll back")
    where = recovery.Where(netns, root)
    how = Restart(argv=daemon.command_argv(restart_command) if restart_command else None, skip=no_restart)
    reason = "rollback requested"
    if not StateDir(state_dir).readable():  # nothing was ever recorded there: create nothing
        if txn_id is not None:
            raise StateDirError(f"no transaction {txn_id!r}: {state_dir} holds no transactions",
                                hint="`vnetmigrate history --state-dir DIR` lists them")
        return RollbackResult(state_dir, ())
    with paused(), HostLock(netns), StateDir(state_dir) as state:  # gc: see usecases/migrate.py
        for note in recovery.tidy(state, root, netns):
            say(note)
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
    return RollbackResult(state_dir, tuple(TxnOutcome.of(o) for o in outcomes))
