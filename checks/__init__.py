"""Checks: pure functions of the facts each declares -> [Finding], one module per concern.

Installed as `vnetmigrate.checks`. Add a module to MODULES and decorate its functions with
`@check(...)`: it declares what the check reads (it gets nothing else) and how the commands
treat its findings (see registry.py); the conformance test walks the registry.
"""

from __future__ import annotations

import importlib

from vnetmigrate.checks.registry import REGISTRY, Check, CheckResults, run
from vnetmigrate.firewall import Backend

MODULES = (
    "backend",
    "network_conf",
    "leftover_chains",
    "rules_presence",
    "docker_forward_drop",
    "tooling",
    "ufw",
    "firewalld",
    "nftables_service",
    "persist_managers",
    "containers",
    "port_forwards",
    "nwfilter",
    "forwarding",
    "legacy_tables",
    "interrupted_transaction",
    "nft_prerequisites",
    "input_forward_drop",
)


def all_checks() -> list[Check]:
    for name in MODULES:
        importlib.import_module(f"vnetmigrate.checks.{name}")
    return list(REGISTRY.values())


def run_all(facts) -> CheckResults:
    return run(facts, all_checks())


def moot_for_migration(target: Backend) -> frozenset[str]:
    """Checks whose blockers plan and migrate leave out for `migrate --to target`: those migrate
    handles itself, and those concerning only the backend libvirt leaves (each such finding's
    own first workaround is to keep libvirt on the other backend)."""
    return frozenset(c.id for c in all_checks()
                     if c.handled_by_migrate or (c.applies_to_backend not in (None, target)))


def tool_findings() -> dict[str, tuple[str, ...]]:
    """{firewall management tool: the checks whose warnings or blockers say it needs a workaround}."""
    out: dict[str, tuple[str, ...]] = {}
    for c in all_checks():
        for tool in c.concerns_tools:
            out[tool] = out.get(tool, ()) + (c.id,)
    return out
