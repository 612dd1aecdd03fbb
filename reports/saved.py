"""Read a saved scan (the envelope `scan --format json` wrote) back, refusing anything else.

A saved scan travels: from a customer's host to a support engineer, through tickets and mail.
So it is checked against the published schema before any renderer sees it, and every way it
can be wrong ends in one readable InputError.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vnetmigrate import bounded
from vnetmigrate.errors import InputError
from vnetmigrate.exitcodes import ExitCode
from vnetmigrate.reports import schema
from vnetmigrate.reports.envelope import SCHEMA_VERSION
from vnetmigrate.reports.view import printable

HINT = "save one with `vnetmigrate scan --format json -o FILE`"
STATUS_EXIT = {"ok": ExitCode.OK, "warnings": ExitCode.WARNINGS, "blockers": ExitCode.BLOCKERS}
SHOWN_PROBLEMS = 3


def load_scan(path: Path) -> dict[str, Any]:
    try:
        raw = bounded.read_bytes(path, bounded.DOCUMENT_LIMIT)
    except FileNotFoundError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}")
    except bounded.Unreadable as exc:
        raise InputError(f"cannot read {exc.message}")
    try:
        doc = bounded.load_json(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{path} is not a saved scan: it is not UTF-8 text")
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not a saved scan: malformed JSON at line {exc.lineno}, "
                         f"column {exc.colno}: {exc.msg}", hint=HINT)
    except bounded.TooDeep as exc:
        raise InputError(f"{path} is not a saved scan: its JSON is {exc}", hint=HINT)
    return check_scan(doc, str(path))


def check_scan(doc: Any, origin: str) -> dict[str, Any]:
    if not isinstance(doc, dict) or "schema_version" not in doc or "command" not in doc:
        raise InputError(f"{origin} is not a saved scan: not a vnetmigrate JSON envelope", hint=HINT)
    if doc["schema_version"] != SCHEMA_VERSION:
        raise InputError(f"{origin} has schema_version {json.dumps(doc['schema_version'])}; this vnetmigrate "
                         f"reads schema_version {SCHEMA_VERSION}",
                         hint="render it with the vnetmigrate version that wrote it (see its tool_version)")
    if doc["command"] != "scan":
        raise InputError(f"{origin} is not a saved scan: it is the output of the command "
                         f"{json.dumps(doc['command'])}")  # dumps shows control characters escaped
    problems = schema.validate(doc, schema.load("scan-v1"))
    if problems:
        more = f" (and {len(problems) - SHOWN_PROBLEMS} more)" if len(problems) > SHOWN_PROBLEMS else ""
        raise InputError(f"{origin} does not match the scan schema: " + "; ".join(problems[:SHOWN_PROBLEMS]) + more)
    if doc["status"] == "error":
        why = printable("; ".join(err["message"] for err in doc["errors"])) or "no reason recorded"
        raise InputError(f"{origin} records a scan that failed: {why}")
    if doc["data"] is None or doc["exit_code"] != STATUS_EXIT[doc["status"]]:
        raise InputError(f"{origin} is inconsistent: status {doc['status']} with exit_code {doc['exit_code']} "
                         f"and {'no' if doc['data'] is None else 'its'} data")
    return doc
