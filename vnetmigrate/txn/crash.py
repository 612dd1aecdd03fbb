"""TEST ONLY: make the process SIGKILL itself at a step boundary, to prove crash recovery.

    VNETMIGRATE_TEST_CRASH_AT=<step>:before   after step <step>'s intent is on disk, before it runs
    VNETMIGRATE_TEST_CRASH_AT=<step>:after    after step <step> ran, before its completion is recorded
    VNETMIGRATE_TEST_CRASH_AT=commit          after every step, before the commit record
    VNETMIGRATE_TEST_CRASH_AT=<step>:undo     during a rollback, before step <step> is undone

SIGKILL, not an exception: no `finally`, no atexit, no flush — what a power cut or the OOM
killer leaves. Never set it outside tests.
"""

from __future__ import annotations

import os
import signal

ENV = "VNETMIGRATE_TEST_CRASH_AT"


def point(where: str, step: int | None = None) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    here = where if step is None else f"{step}:{where}"
    if spec == here:
        os.kill(os.getpid(), signal.SIGKILL)
