"""What `plan`, `migrate` and `rollback` do once their options are parsed, without typer: both
the typer commands (cli/plan.py, cli/migrate.py, cli/rollback.py) and their fast path
(cli/fast.py) call the bodies here, under cli/policy.guarded."""

from __future__ import annotations

from pathlib import Path

from vnetmigrate.cli.policy import State, TxnFormat, emit_result, notes_to_stderr, require_root
from vnetmigrate.firewall import Backend


def state_dir_for(state_dir: Path | None, root: Path) -> Path:
    """--state-dir, or the default one of the host under --root (the same for every command)."""
    from vnetmigrate.txn.statedir import default_dir

    return state_dir if state_dir is not None else default_dir(root)


def plan(to: Backend = Backend.NFTABLES, restart_command: str | None = None, no_restart: bool = False,
         state_dir: Path | None = None, netns: str | None = None, root: Path = Path("/"),
         format: TxnFormat = TxnFormat.text, output: Path | None = None) -> int:
    from vnetmigrate.cli.progress import progress
    from vnetmigrate.usecases import plan as usecase

    require_root("plan")
    opts = usecase.Options(to.value, netns, root, state_dir_for(state_dir, root), restart_command, no_restart)
    with progress("reading the host and planning", State.verbosity):
        result = usecase.plan(opts)
    return emit_result(result, format.value, output)


def migrate(to: Backend = Backend.NFTABLES, force: list[str] | None = None, restart_command: str | None = None,
            no_restart: bool = False, state_dir: Path | None = None, netns: str | None = None,
            root: Path = Path("/"), dry_run: bool = False, format: TxnFormat = TxnFormat.text,
            output: Path | None = None) -> int:
    from vnetmigrate.cli.progress import progress
    from vnetmigrate.usecases import migrate as usecase
    from vnetmigrate.usecases.plan import Options

    require_root("migrate")
    opts = Options(to.value, netns, root, state_dir_for(state_dir, root), restart_command, no_restart)
    with progress("reading the host and migrating", State.verbosity):
        if dry_run:
            result = usecase.dry_run(opts, tuple(force or ()))
        else:
            result = usecase.migrate(opts, tuple(force or ()), say=notes_to_stderr("migrate"))
    return emit_result(result, format.value, output)


def rollback(txn_id: str | None = None, restart_command: str | None = None, no_restart: bool = False,
             force: bool = False, state_dir: Path | None = None, netns: str | None = None, root: Path = Path("/"),
             format: TxnFormat = TxnFormat.text, output: Path | None = None) -> int:
    from vnetmigrate.cli.progress import progress
    from vnetmigrate.usecases.rollback import rollback as usecase

    require_root("rollback")
    with progress("rolling back", State.verbosity):
        result = usecase(state_dir_for(state_dir, root), txn_id, restart_command, no_restart, force, netns, root,
                         say=notes_to_stderr("rollback"))
    return emit_result(result, format.value, output)
