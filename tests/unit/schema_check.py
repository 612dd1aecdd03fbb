"""Check JSON output against the published schemas: use it on every JSON a test produces.

    from tests.unit.schema_check import valid_envelope

    doc = valid_envelope(result.stdout)   # parses, validates, returns the dict (or fails the test)

The schema is the one published for the envelope's command (SCHEMAS); name it to insist,
e.g. `valid_envelope(proc.stdout, "txn-v1")`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from vnetmigrate.reports import schema

# Which published schema describes each command's --format json.
SCHEMAS = {"scan": "scan-v1", "report": "scan-v1", "plan": "plan-v1", "migrate": "txn-v1", "rollback": "txn-v1",
           "history": "history-v1", "rules": "rules-v1", "fleet": "fleet-v1",
           "bundle": "bundle-v1", "repair": "repair-v1", "gate": "gate-v1"}


@lru_cache(maxsize=None)
def published(name: str) -> dict[str, Any]:
    return schema.load(name)


def scan_schema() -> dict[str, Any]:
    return published("scan-v1")


def schema_problems(doc: Any, name: str = "scan-v1") -> list[str]:
    return schema.validate(doc, published(name))


def valid_envelope(output: str | bytes | dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """`output` (JSON text or an already parsed envelope), checked against its command's schema."""
    doc = output if isinstance(output, dict) else json.loads(output)
    if name is None:  # no command (or an unknown one): scan-v1, whose command is any string, says what is wrong
        name = SCHEMAS.get(doc.get("command") if isinstance(doc, dict) else None, "scan-v1")
    problems = schema_problems(doc, name)
    assert not problems, f"JSON output does not match {name}.schema.json:\n  " + "\n  ".join(problems)
    return doc
