"""TEST ONLY: SIGKILL a vnetmigrate process at a transaction step boundary, to prove crash recovery.

    VNETMIGRATE_TEST_CRASH_AT=2:before python -m tests.crashpoint migrate ...   (from the repository)

runs `vnetmigrate migrate ...` with an observer on the engine's step boundaries
(vnetmigrate/txn/boundaries.py) that kills the process where the variable says:

    created         after the journal is created, before its begin record
    <step>:before   after step <step>'s intent is on disk, before it runs
    <step>:checked  after step <step>'s fingerprint check, right before it acts
    <step>:after    after step <step> ran, before its completion is recorded
    commit          after every step, before the commit record
    <step>:undo     during a rollback, before step <step> is undone
    <step>:undone   during a rollback, after step <step> was undone, before that is recorded
    rolled-back     a rollback verified, before its final record

`VNETMIGRATE_TEST_RUN_AT=<boundary>` with `VNETMIGRATE_TEST_RUN=<shell command>` instead runs
that command at the boundary and goes on: another program changing the firewall at the worst
moment (`<step>:checked`: after a step's fingerprint check, before the step acts).

SIGKILL, not an exception: no `finally`, no atexit, no flush — what a power cut or the OOM
killer leaves. The installed package knows nothing of the variable: only processes started
through this module, or that call `arm()` themselves (tests/lab/txn_scenario.py), obey it.
"""

from __future__ import annotations

import os
import signal
import sys

from vnetmigrate.txn import boundaries

ENV = "VNETMIGRATE_TEST_CRASH_AT"
RUN_AT, RUN = "VNETMIGRATE_TEST_RUN_AT", "VNETMIGRATE_TEST_RUN"
VNM = [sys.executable, "-m", "tests.crashpoint"]    # run with cwd = the repository


def arm(spec: str | None = None) -> None:
    """Kill this process at the boundary `spec` names (default: the variable's value, if set)."""
    spec = os.environ.get(ENV) if spec is None else spec
    if not spec:
        return

    def kill_here(where: str, step: int | None) -> None:
        if (where if step is None else f"{step}:{where}") == spec:
            os.kill(os.getpid(), signal.SIGKILL)

    boundaries.observers.append(kill_here)


def arm_meddler() -> None:
    """Run the shell command $VNETMIGRATE_TEST_RUN once at the boundary $VNETMIGRATE_TEST_RUN_AT
    names (the engine's thread is inside the transaction's namespace: so is the command)."""
    spec, command = os.environ.get(RUN_AT), os.environ.get(RUN)
    if not spec or not command:
        return

    def run_here(where: str, step: int | None) -> None:
        if (where if step is None else f"{step}:{where}") == spec:
            import subprocess

            subprocess.run(["/bin/sh", "-c", command], check=True)

    boundaries.observers.append(run_here)


def main() -> None:
    arm()
    arm_meddler()
    from vnetmigrate.cli import main as vnetmigrate_main

    vnetmigrate_main()


if __name__ == "__main__":
    main()
