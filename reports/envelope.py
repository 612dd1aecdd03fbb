"""The versioned JSON envelope every command prints with `--format json`.

    {"schema_version": 1, "tool_version": "...", "command": "scan", "status": "...",
     "exit_code": 0, "data": {...}, "errors": [{"unit": "...", "message": "..."}],
     "host": "...", "started_at": "...", "duration": 1.25, "os": "...", "libvirt_version": "..."}

The last five say where and when the command ran (also in an error envelope, so a failed run
in a fleet can be attributed): os and libvirt_version are null when the command did not learn
them (an error before reading the host, plan's and migrate's results).

`schema_version` changes only when a documented key changes meaning or disappears. The keys
are described by the JSON Schemas in schemas/ (see schema.py): scan-v1 (scan, report), plan-v1,
txn-v1 (migrate, rollback), history-v1 and rules-v1; any command's error envelope fits each.
"""

from __future__ import annotations

import json
import socket
import time
from datetime import datetime, timezone
from typing import Any

from vnetmigrate import __version__
from vnetmigrate.dataclass_code import dataclass

SCHEMA_VERSION = 1


@dataclass
class Run:
    """Where and when this command runs: set once at its start (`start`), told about the host
    when the command learns it (`about_host`)."""

    started: float | None = None
    started_at: str | None = None
    host: str | None = None
    os: str | None = None
    libvirt_version: str | None = None


RUN = Run()


def start() -> None:
    RUN.__init__(time.monotonic(), datetime.now(timezone.utc).isoformat(timespec="seconds"), socket.gethostname())


def about_host(host: str | None, os: str | None, libvirt_version: str | None) -> None:
    RUN.host, RUN.os, RUN.libvirt_version = host or RUN.host, os, libvirt_version


def envelope(command: str, status: str, exit_code: int, data: Any, errors: list[dict[str, str]] | tuple = ()) -> dict:
    started = RUN.started if RUN.started is not None else time.monotonic()
    return {"schema_version": SCHEMA_VERSION, "tool_version": __version__, "command": command,
            "status": status, "exit_code": int(exit_code), "data": data, "errors": list(errors),
            "host": RUN.host or socket.gethostname(),
            "started_at": RUN.started_at or datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "duration": round(time.monotonic() - started, 3), "os": RUN.os, "libvirt_version": RUN.libvirt_version}


def scan_envelope(result) -> dict:
    """The envelope of a vnetmigrate.scan.ScanResult: what every renderer takes.

    Passed through JSON once, so a live scan reaches the renderers exactly as a saved one does."""
    system, libvirt = result.facts.system, result.facts.libvirt
    about_host(result.meta.get("hostname"), system.os.pretty_name if system is not None else None,
               libvirt.version_text if libvirt is not None else None)
    return through_json(envelope("scan", result.status, result.exit_code, result.to_data(), result.errors))


def through_json(doc: dict) -> dict:
    """json.loads(dumps(doc)): what reading the printed document back gives. Written without
    indent, by json's C encoder (indent=2 takes the pure-Python one, ~3x slower on a scan of
    500 networks); the same values and types come back, only the whitespace differs."""
    return json.loads(json.dumps(doc, default=str))


def result_envelope(result) -> dict:
    """The envelope of a use case's result (vnetmigrate.usecases): plan, migrate, rollback, history."""
    return envelope(result.command, result.status, result.exit_code, result.to_data())


def dumps(doc: dict) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n"
