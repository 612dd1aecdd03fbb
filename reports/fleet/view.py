"""What every fleet renderer shows, read from the fleet envelope; the wording shared by the formats."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from vnetmigrate.matrix import ROWS
from vnetmigrate.reports.fleet.summary import verdict_key
from vnetmigrate.reports.sanitize import printable
from vnetmigrate.reports.view import title as finding_title  # noqa: F401  (a finding's title as read, as scan's)
from vnetmigrate.words import names  # noqa: F401  (hosts named inline in a group before "and N more")

VERDICT_STATUS = {"guests are broken now": "blockers", "do not upgrade yet": "blockers", "cannot tell yet": "warnings",
                  "ready after these steps": "warnings", "no switch pending": "ok", "ready": "ok"}
TABLE_COLUMNS = ("host", "verdict", "blockers", "matrix now -> after", "libvirt", "backend", "report")


def sanitized(value: Any) -> Any:
    """reports.sanitize.sanitized, and stricter: a copy of the envelope with every string (keys
    too) `printable`, so no control byte from a host file reaches a terminal, a wiki or a
    browser. Every value the fleet shows is one line (a hostname, an id, a path), so newline and
    tab are shown as \\xNN too: a hostname must not add a line of its own to the report."""
    if isinstance(value, str):
        return printable(value).replace("\n", "\\x0a").replace("\t", "\\x09")
    if isinstance(value, dict):
        return {sanitized(k): sanitized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sanitized(v) for v in value]
    return value


def verdict_name(host: dict[str, Any]) -> str:
    return verdict_key(host["verdict"])


def title(doc: dict[str, Any]) -> str:
    data = doc["data"]
    worst = next(iter(data["by_verdict"]))
    return f"{data['host_count']} host(s); worst: {worst}"


def counts_line(doc: dict[str, Any]) -> str:
    data = doc["data"]
    parts = [f"{len(hosts)} {verdict}" for verdict, hosts in data["by_verdict"].items()]
    if data["error_count"]:
        parts.append(f"{data['error_count']} unreadable or duplicate file(s)")
    return f"{data['host_count']} host(s): {', '.join(parts)}; exit code {doc['exit_code']}"


def error_line(error: dict[str, str]) -> str:
    """"FILE: why", without saying FILE twice when the message already starts with it."""
    unit, message = error["unit"], error["message"]
    return message if message.startswith(unit) else f"{unit}: {message}"


def row_name(key: str) -> str:
    return "no row" if key == "none" else f"row {key}: {ROWS[int(key)][3]}"


def distributions(data: dict[str, Any]) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """(heading, [(label, hosts)]) for each count the fleet report shows besides findings."""
    return [
        ("Matrix row now", [(row_name(k), v) for k, v in data["by_matrix_row"]["now"].items()]),
        ("Matrix row after the switch", [(row_name(k), v) for k, v in data["by_matrix_row"]["after"].items()]),
        ("Matrix moves (now -> after)", [(k, v) for k, v in data["by_matrix_row"]["moves"].items()]),
        ("libvirt version", list(data["by_libvirt_version"].items())),
        ("libvirt backend now", list(data["by_backend"]["now"].items())),
        ("libvirt backend after the upgrade", list(data["by_backend"]["after"].items())),
    ]


def finding_groups(data: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(severity, findings with their hosts) for each severity seen, most severe first."""
    out: dict[str, list[dict[str, Any]]] = {}
    for f in data["findings"]:
        out.setdefault(f["severity"], []).append({**f, "names": data["by_finding"][f["id"]]})
    return list(out.items())


def matrix_cell(host: dict[str, Any]) -> str:
    now, after = (host["matrix"][k] for k in ("now", "after"))
    return f"{now or '-'} -> {after or '-'}"


def link_target(host: dict[str, Any]) -> str:
    """What the host's row links to: its own HTML report when one was written, else its scan file."""
    return host["report"] or host["source"]


def href(target: str, page_dir: Path | None) -> str:
    """A relative URL from the directory the fleet page is written to (None: the current one)."""
    rel = os.path.relpath(os.path.abspath(target), os.path.abspath(page_dir or "."))
    return quote(rel.replace(os.sep, "/"))
