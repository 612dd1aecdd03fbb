"""The versioned JSON envelope every command prints with `--format json`.

    {"schema_version": 1, "tool_version": "...", "command": "scan", "status": "...",
     "exit_code": 0, "data": {...}, "errors": [{"unit": "...", "message": "..."}]}

`schema_version` changes only when a documented key changes meaning or disappears. The keys
are described by the JSON Schemas in schemas/ (see schema.py): scan-v1 (scan, report), plan-v1,
txn-v1 (migrate, rollback), history-v1 and rules-v1; any command's error envelope fits each.
"""

from __future__ import annotations

import json
from typing import Any

from vnetmigrate import __version__

SCHEMA_VERSION = 1


def envelope(command: str, status: str, exit_code: int, data: Any, errors: list[dict[str, str]] | tuple = ()) -> dict:
    return {"schema_version": SCHEMA_VERSION, "tool_version": __version__, "command": command,
            "status": status, "exit_code": int(exit_code), "data": data, "errors": list(errors)}


def scan_envelope(result) -> dict:
    """The envelope of a vnetmigrate.scan.ScanResult: what every renderer takes.

    Passed through JSON once, so a live scan reaches the renderers exactly as a saved one does."""
    return json.loads(dumps(envelope("scan", result.status, result.exit_code, result.to_data(), result.errors)))


def result_envelope(result) -> dict:
    """The envelope of a use case's result (vnetmigrate.usecases): plan, migrate, rollback, history."""
    return envelope(result.command, result.status, result.exit_code, result.to_data())


def dumps(doc: dict) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n"
