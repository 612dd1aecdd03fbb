"""Check JSON output against the published scan schema: use it on every JSON a test produces.

    from tests.unit.schema_check import valid_envelope

    doc = valid_envelope(result.stdout)   # parses, validates, returns the dict (or fails the test)
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from vnetmigrate.reports import schema


@lru_cache(maxsize=None)
def scan_schema() -> dict[str, Any]:
    return schema.load("scan-v1")


def schema_problems(doc: Any) -> list[str]:
    return schema.validate(doc, scan_schema())


def valid_envelope(output: str | bytes | dict[str, Any]) -> dict[str, Any]:
    """`output` (JSON text or an already parsed envelope), checked against scan-v1.schema.json."""
    doc = output if isinstance(output, dict) else json.loads(output)
    problems = schema_problems(doc)
    assert not problems, "JSON output does not match scan-v1.schema.json:\n  " + "\n  ".join(problems)
    return doc
