"""Progress on standard error while a command reads the host or runs a transaction.

Only when standard error is a terminal and --quiet was not given: a pipe or a log file gets
nothing but the report. What is shown: the part of the host being read (n of m), and during
`migrate`/`rollback` the engine's step boundaries (vnetmigrate/txn/boundaries.py).
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Iterator


class Progress:
    """One command's progress line; a no-op when nothing may be shown."""

    def __init__(self, status=None):
        self._status = status
        self.started = time.monotonic()
        self._steps: int | None = None  # the running transaction's step count, once the engine says it

    def say(self, text: str) -> None:
        if self._status is not None:
            self._status.update(text)

    def pause(self) -> None:
        """Take the line off the terminal (while the command asks a question)."""
        if self._status is not None:
            self._status.stop()

    def resume(self) -> None:
        if self._status is not None:
            self._status.start()

    def reading(self, unit: str, n: int, total: int) -> None:
        self.say(f"reading {unit} (step {n} of {total})...")

    def _of(self, step: int) -> str:
        return f"{step + 1} of {self._steps}" if self._steps else str(step + 1)

    def boundary(self, where: str, step: int | None) -> None:
        """An observer of the transaction engine's step boundaries: it must be quick and never raise."""
        try:
            if where == "planned":
                self._steps = step
            elif where == "before" and step is not None:
                self.say(f"running step {self._of(step)}...")
            elif where == "undo" and step is not None:
                self.say(f"undoing step {self._of(step)}...")
            elif where == "commit":
                self.say("committing...")
        except Exception:  # noqa: BLE001 - a progress line must never fail a transaction step
            pass


def shown(verbosity: int) -> bool:
    return verbosity >= 0 and sys.stderr.isatty()


@contextlib.contextmanager
def progress(what: str, verbosity: int) -> Iterator[Progress]:
    """`with progress("reading the host", State.verbosity) as p:` - p.say(...) updates the line,
    and the engine's step boundaries are shown while the block runs."""
    from vnetmigrate.txn import boundaries

    if not shown(verbosity):
        yield Progress()
        return
    from rich.console import Console

    with Console(stderr=True).status(f"{what}...") as status:
        p = Progress(status)
        boundaries.observers.append(p.boundary)
        try:
            yield p
        finally:
            boundaries.observers.remove(p.boundary)
