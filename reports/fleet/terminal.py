"""Render the fleet envelope for a terminal with rich: the verdicts first, then what to fix on how
many hosts, the fleet's spread over the matrix and libvirt versions, then one line per host."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from vnetmigrate.reports.fleet import view
from vnetmigrate.reports.fleet.view import sanitized

STATUS_STYLE = {"blockers": "bold red", "warnings": "bold yellow", "ok": "bold green"}
SEVERITY_STYLE = {"blocker": "bold red", "warning": "yellow", "info": "cyan"}
HEADINGS = {"blocker": "Blockers", "warning": "Warnings", "info": "Information"}
HOST_WIDTH = 28  # longer names push their line on rather than widening every line
FILE_WIDTH = 80  # a report written to a file reads in any terminal, mail or ticket


def _groups(heading: str, items: list[tuple[str, list[str]]], console: Console) -> None:
    console.print(Text(heading, style="bold"))
    t = Table(show_header=False, box=None, padding=(0, 1), expand=False)
    t.add_column("what", overflow="fold")
    t.add_column("hosts", justify="right")
    t.add_column("which", style="dim", overflow="fold")
    for label, hosts in items:
        t.add_row(label, str(len(hosts)), view.names(hosts))
    console.print(t)
    console.print()


def _findings(severity: str, found: list[dict[str, Any]], console: Console) -> None:
    console.print(Text(f"{HEADINGS[severity]} ({len(found)} kind(s))", style="bold"))
    t = Table(show_header=False, box=None, padding=(0, 1))
    t.add_column("hosts", justify="right", style=SEVERITY_STYLE[severity])
    t.add_column("finding", overflow="fold")
    for f in found:
        t.add_row(str(f["hosts"]), Text.assemble((f["id"], SEVERITY_STYLE[severity]), f"  {view.finding_title(f)}\n",
                                                 (view.names(f["names"]), "dim")))
    console.print(t)
    console.print()


def _hosts(data: dict[str, Any], console: Console) -> None:
    """Two lines per host: what it is, then its libvirt and the file with its own report, unwrapped
    so that a copied path is whole. Plain lines, not a table: they stay readable at 80 columns and
    fast at 10,000 hosts."""
    width = min(HOST_WIDTH, max(len(h["host"]) for h in data["hosts"]))
    verdicts = max(len(view.verdict_name(h)) for h in data["hosts"])
    for h in data["hosts"]:
        s = h["summary"]
        console.print(Text.assemble(
            (f"  {h['host']:<{width}}", "bold"), "  ",
            (f"{view.verdict_name(h):<{verdicts}}", STATUS_STYLE[h["status"]]),
            f"  B{s['blocker']} W{s['warning']} I{s['info']}  row {view.matrix_cell(h)}"))
        console.print(Text(f"      libvirt {h['libvirt_version']} {h['backend']}  {view.link_target(h)}", style="dim"),
                      soft_wrap=True)


def render(doc: dict[str, Any], console: Console) -> None:
    """Print a fleet envelope on `console`."""
    doc = sanitized(doc)
    data = doc["data"]
    console.print(Text(f"Fleet: {view.title(doc)}", style=STATUS_STYLE[doc["status"]]))
    console.print(Text(view.counts_line(doc), style="dim"))
    console.print()
    _groups("Verdicts", list(data["by_verdict"].items()), console)
    if not data["findings"]:
        console.print(Text("No findings on any host.\n", style="green"))
    for severity, found in view.finding_groups(data):
        _findings(severity, found, console)
    for heading, items in view.distributions(data):
        _groups(heading, items, console)
    console.print(Text("Hosts, worst first: verdict, numbers of blockers/warnings/infos, matrix row now -> after; "
                       "then libvirt's version and backend, and the host's file", style="bold"))
    _hosts(data, console)
    if doc["errors"]:
        console.print()
        console.print(Text(f"Host files not counted ({len(doc['errors'])}):", style="bold red"))
        for e in doc["errors"]:
            console.print(Text(f"  {view.error_line(e)}"))
    console.print(Text(f"\n{view.counts_line(doc)}", style="dim"))


def to_text(doc: dict[str, Any], width: int = FILE_WIDTH) -> str:
    """The same report as plain text (no colours), for a file."""
    buf = io.StringIO()
    render(doc, Console(file=buf, highlight=False, width=width, force_terminal=False, color_system=None))
    return "".join(line.rstrip() + "\n" for line in buf.getvalue().splitlines())  # rich pads table rows
