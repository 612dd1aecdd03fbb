"""The registry of remedies: finding id -> the function that turns that finding into steps.

A remedy module registers its builders with `@remedy("finding-id", ...)`; `load_all()` imports
every module of the `vnetmigrate.repair` package once, so adding a module is enough to add a
repair (no list to edit elsewhere).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from vnetmigrate.facts import HostFacts
    from vnetmigrate.findings import Finding
    from vnetmigrate.txn.steps import Step


@dataclass(frozen=True)
class RepairContext:
    """Where the repair runs: the host's files under `root`, its firewall in `netns`."""

    root: Path
    netns: str | None = None


@dataclass(frozen=True)
class Remedy:
    finding_id: str
    summary: str                 # what it changes, one line, for the plan
    why: str                     # why this way (and not another), shown in the plan
    steps: tuple["Step", ...]


@dataclass(frozen=True)
class NotRepairable:
    finding_id: str
    reason: str                  # why repair leaves it, shown in the plan and the result


Builder = Callable[["HostFacts", "Finding", RepairContext], "Remedy | NotRepairable"]

REGISTRY: dict[str, Builder] = {}


def remedy(*finding_ids: str) -> Callable[[Builder], Builder]:
    """Register `builder` as the remedy of each of `finding_ids` (each id once)."""
    def register(builder: Builder) -> Builder:
        for fid in finding_ids:
            if fid in REGISTRY:
                raise ValueError(f"two remedies for {fid!r}")
            REGISTRY[fid] = builder
        return builder
    return register


_loaded = False


def load_all() -> dict[str, Builder]:
    """Import every module of the package (each registers its builders) and return the registry."""
    global _loaded
    if not _loaded:
        import vnetmigrate.repair as package
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(info.name)
        _loaded = True
    return REGISTRY
