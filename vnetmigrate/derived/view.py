"""FactsView: HostFacts as one check (or derivation) declared it.

A check gets only what its `@check(...)` declares: the raw facts of `needs` and `optional`,
the derived facts of `derived`, and the findings of the checks it `defers_to`. Reading
anything else raises UndeclaredFact: a programming error, which the test tier turns into a
failing test (registry.STRICT_ENV), so a check's declaration is proven by its unit tests.

The view reads like HostFacts (checks annotate their argument as HostFacts); it holds no copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class UndeclaredFact(Exception):
    """A check or derivation read a fact it does not declare."""


class FactsView:
    __slots__ = ("_facts", "_names", "_derived", "_findings", "_reader")

    def __init__(self, facts, names: Iterable[str], reader: str, derived: Iterable[str] = (),
                 derive: Callable[[str], Any] | None = None,
                 findings: dict[str, tuple] | None = None):
        self._facts = facts
        self._names = frozenset(names)
        self._derived = (frozenset(derived), derive)
        self._findings = findings or {}
        self._reader = reader

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle and friends probe for these
            raise AttributeError(name)
        if name in self._names:
            return getattr(self._facts, name)
        declared, derive = self._derived
        if name in declared and derive is not None:
            return derive(name)
        raise UndeclaredFact(f"{self._reader} reads facts.{name} but does not declare it "
                             "(add it to needs, optional or derived)")

    def findings_of(self, check_id: str) -> tuple:
        """The findings this run's check `check_id` produced (it must be in `defers_to`)."""
        if check_id not in self._findings:
            raise UndeclaredFact(f"{self._reader} reads the findings of {check_id} but does not declare it "
                                 "in defers_to")
        return self._findings[check_id]

    def __repr__(self) -> str:
        return f"<FactsView of {self._reader}: {', '.join(sorted(self._names))}>"
