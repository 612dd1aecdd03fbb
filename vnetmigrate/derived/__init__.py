"""Derived facts: what is computed from HostFacts once per run, for the checks that read it.

A derived fact is declared with `@derivation(name, needs=..., optional=...)`, like a check;
its builder gets a FactsView with just those raw facts (view.py). A check that reads one
names it in `derived=` of its `@check(...)`, and only checks whose own `needs` cover the
derivation's may (checked at registration): the check is skipped when they are missing, so a
derived fact is never read without its inputs.

`Derived` holds one run's derived facts: each is built the first time a check reads it and
kept for the run, so the packet evaluation behind `packet_verdicts` runs once however many
checks read it. A builder that raises makes every reader fail with its exception (the run
reports it as an error of that check).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.derived.view import FactsView

# The modules that declare derivations, imported on first use.
MODULES = ("verdicts", "restart")


@dataclass(frozen=True)
class Derivation:
    """A derived fact: its name, the raw facts it needs and the ones it reads when present."""
    name: str
    needs: tuple[str, ...]  # raw facts it cannot do without
    optional: tuple[str, ...]  # raw facts it reads when present (None otherwise)
    build: Callable[[FactsView], Any]


DERIVATIONS: dict[str, Derivation] = {}


def derivation(name: str, needs: tuple[str, ...], optional: tuple[str, ...] = ()):
    def register(fn):
        if name in DERIVATIONS:
            raise RuntimeError(f"duplicate derived fact {name!r}")
        DERIVATIONS[name] = Derivation(name, tuple(needs), tuple(optional), fn)
        return fn
    return register


def all_derivations() -> dict[str, Derivation]:
    for module in MODULES:
        importlib.import_module(f"vnetmigrate.derived.{module}")
    return DERIVATIONS


class Derived:
    """One run's derived facts over `facts` (HostFacts), built on first read."""

    def __init__(self, facts):
        self._facts = facts
        self._built: dict[str, tuple[Any, BaseException | None]] = {}

    def get(self, name: str) -> Any:
        if name not in self._built:
            d = all_derivations()[name]
            view = FactsView(self._facts, d.needs + d.optional, reader=f"derived fact {name}")
            try:
                self._built[name] = (d.build(view), None)
            except Exception as exc:  # re-raised to each reader, whose check then reports it
                self._built[name] = (None, exc)
        value, exc = self._built[name]
        if exc is not None:
            raise exc
        return value

    def broken_now(self) -> bool:
        """A guest's packet is dropped or rejected by the live ruleset, if the packet verdicts
        were built in this run (they are not built for this question alone)."""
        value, _exc = self._built.get("packet_verdicts", (None, None))
        return value is not None and any(v.when == "now" and v.result.blocked for v in value.verdicts)
