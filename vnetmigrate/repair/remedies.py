"""The registry of remedies: finding id -> the function that turns that finding into steps.

A remedy module registers its builders with `@remedy("finding-id", ...)`; `load_all()` imports
every module of the `vnetmigrate.repair` package once, so adding a module is enough to add a
repair (no list to edit elsewhere).

The repair planner calls a builder once per finding id the scan reported (with the first
finding of that id: a builder reads the whole picture from the facts, e.g. every network
without its rules), in the order of `ORDER`, then every other id. A remedy that also repairs
other findings names them in `covers`: they get no remedy of their own (their steps, computed
from the same state, would act on what this one already changed). A builder registered with
`named_only=True` runs only when `--only` names its finding (`RepairContext.named`): its
repair is a choice the admin makes, not a default.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from vnetmigrate.dataclass_code import dataclass

if TYPE_CHECKING:
    from vnetmigrate.facts import HostFacts
    from vnetmigrate.findings import Finding
    from vnetmigrate.txn.steps import Step


@dataclass(frozen=True)
class RepairContext:
    """Where the repair runs: the host's files under `root`, its firewall in `netns`."""

    root: Path
    netns: str | None = None
    # How a step restarts libvirt's network daemon (None: not at all, --no-restart), and why so.
    restart: tuple[str, ...] | None = None
    restart_why: str = ""
    named: frozenset[str] = frozenset()   # the finding ids --only names (empty: none named)
    found: frozenset[str] = frozenset()   # the id of every finding the scan reported
    blocking: frozenset[str] = frozenset()  # those of them reported as blockers


@dataclass(frozen=True)
class Remedy:
    """The steps that repair a finding, and why this way."""
    finding_id: str
    summary: str                 # what it changes, one line, for the plan
    why: str                     # why this way (and not another), shown in the plan
    steps: tuple["Step", ...]
    covers: tuple[str, ...] = ()  # other finding ids these steps repair too (see the module's doc)


@dataclass(frozen=True)
class NotRepairable:
    """A finding repair leaves alone, and why."""
    finding_id: str
    reason: str                  # why repair leaves it, shown in the plan and the result


Builder = Callable[["HostFacts", "Finding", RepairContext], "Remedy | NotRepairable"]

REGISTRY: dict[str, Builder] = {}
NAMED_ONLY: set[str] = set()   # finding ids repaired only when --only names them

# The order remedies run in (make before break: rules first, then removals, configuration last);
# ids not listed run after these, in the scan's order.
ORDER = ("interrupted-transaction", "libvirt-rules-missing", "nftables-prerequisites", "libvirt-rules-both-backends",
         "libvirt-leftover-rules", "libvirt-leftover-chains", "libvirt-rules-duplicated", "libvirt-restart-pending")


def remedy(*finding_ids: str, named_only: bool = False) -> Callable[[Builder], Builder]:
    """Register `builder` as the remedy of each of `finding_ids` (each id once)."""
    def register(builder: Builder) -> Builder:
        for fid in finding_ids:
            if fid in REGISTRY:
                raise ValueError(f"two remedies for {fid!r}")
            REGISTRY[fid] = builder
            if named_only:
                NAMED_ONLY.add(fid)
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
