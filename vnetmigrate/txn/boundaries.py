"""The engine's step boundaries, for whoever wants to watch a transaction as it runs.

`txn.engine` calls every callable in `observers` as `observer(where, step)` at each boundary:

    ("created", None) the journal exists (empty), its begin record is not written yet
    ("planned", n)  the transaction has n steps (for progress output: "step i of n"): while
                    it runs, once its begin record is on disk and before any step; when a
                    recorded transaction is rolled back later, before its rollback starts
    ("before", i)   step i's intent is on disk, the step has not run yet
    ("checked", i)  a step i that changes the kernel found the firewall unchanged since the
                    plan (its fingerprint) and acts next: what changes now, only the step's own
                    kernel transaction can refuse
    ("after", i)    step i ran, its completion is not recorded yet
    ("commit", None) every step is done, the commit record is not written yet
    ("undo", i)     during a rollback, step i is about to be undone (steps go in reverse); its
                    "undoing" record is on disk
    ("undone", i)   step i was undone, its "undone" record is not written yet
    ("rolled-back", None)  every undo is done and verified, the final record is not written yet

An observer runs in the engine's thread, inside the transaction, so it must be quick and must
not raise: an exception at "created" removes the transaction before it began, one at
"before", "checked" or "after" fails that step (the transaction rolls back);
anywhere else it escapes the engine and leaves an interrupted transaction, which the next
`rollback` or `migrate` rolls back. Progress reporting can hang on this seam; the test tier
uses it to SIGKILL a migration at an exact boundary (tests/crashpoint.py). The package itself
registers no observer.
"""

from __future__ import annotations

from typing import Callable

Observer = Callable[[str, int | None], None]

observers: list[Observer] = []


def reached(where: str, step: int | None = None) -> None:
    """Tell every observer that the engine is at boundary `where` of step `step`."""
    for observer in tuple(observers):
        observer(where, step)
