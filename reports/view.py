"""What every renderer shows, read from the scan envelope (the JSON `scan --format json` prints).

Renderers take the envelope dict, never Python objects, so a live scan and a saved one render
alike. The wording shared by the formats lives here so they cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vnetmigrate.matrix import ROWS
from vnetmigrate.reports.sanitize import printable  # noqa: F401  (re-exported: renderers import it from here)

MATRIX_TITLE = "Compatibility matrix (Fedora 41 change)"
MATRIX_COLUMNS = ("#", "kernel module", "firewall mgmt userspace", "libvirt backend", "result", "this host")
SEVERITIES = ("blocker", "warning", "info")  # most severe first
SEVERITY_HEADINGS = {"blocker": "Blockers", "warning": "Warnings", "info": "Information"}
PLACEMENTS = (("now", "now"), ("after", "after the switch"))
COORDINATES = ("kernel", "userspace", "backend")
REPAIRABLE = "repair can apply this"


@dataclass(frozen=True)
class MatrixRow:
    number: int
    cells: tuple[str, str, str, str]  # kernel module, userspace, libvirt backend, result
    marks: tuple[str, ...]  # "now" and/or the after label: where this host is

    @property
    def highlighted(self) -> bool:
        return bool(self.marks)


def matrix_rows(data: dict[str, Any], after_label: str = "after the switch") -> list[MatrixRow]:
    now, after = data["matrix"]["now"], data["matrix"]["after"]
    return [MatrixRow(number, cells, tuple(m for m, r in (("now", now), (after_label, after)) if r == number))
            for number, cells in ROWS.items()]


def placements(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, placement) for now and after the switch; a placement has row, note and coordinates."""
    return [(label, data["matrix"]["detail"][key]) for key, label in PLACEMENTS]


def row_label(placement: dict[str, Any]) -> str:
    return f"row {placement['row']}" if placement["row"] else "no row"


def host_line(data: dict[str, Any]) -> str:
    host = data["host"]
    parts = [f"host {host.get('hostname')}"]
    if host.get("netns"):
        parts.append(f"namespace {host['netns']}")
    if host.get("root") not in (None, "/"):
        parts.append(f"root {host['root']}")
    if host.get("source") == "saved":
        parts.append("from saved evidence")
    return ", ".join(parts)


def counts_line(doc: dict[str, Any]) -> str:
    summary = doc["data"]["summary"]
    counts = ", ".join(f"{summary[s]} {s}" for s in SEVERITIES if summary.get(s))
    return f"{counts or 'no findings'}; exit code {doc['exit_code']}"


def findings_by_severity(data: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(severity, findings) for each severity that has findings, most severe first."""
    groups = [(s, [f for f in data["findings"] if f["severity"] == s]) for s in SEVERITIES]
    return [(s, found) for s, found in groups if found]


def is_web_link(link: str) -> bool:
    # Only these become clickable: a saved scan could carry javascript: or file: "links".
    return link.startswith(("https://", "http://")) and not any(c.isspace() or c in '<>"' for c in link)
