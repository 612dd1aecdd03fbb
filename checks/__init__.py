"""Checks: pure functions HostFacts -> [Finding], one module per concern.

Installed as `vnetmigrate.checks`. Add a module to MODULES and decorate its functions with
`@check(...)` (see registry.py); the conformance test walks the registry.
"""

from __future__ import annotations

import importlib

from vnetmigrate.checks.registry import REGISTRY, Check, CheckResults, run

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
