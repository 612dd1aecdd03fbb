"""Render a scan envelope for a terminal with rich: verdict first, then the matrix, then findings."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from vnetmigrate.reports import view
from vnetmigrate.reports.view import printable  # every string from the scan goes through it

STYLE = {"blocker": "bold red", "warning": "yellow", "info": "cyan"}
VERDICT_STYLE = {"ok": "bold green", "warnings": "bold yellow", "blockers": "bold red"}


def matrix_table(data: dict[str, Any]) -> Table:
    t = Table(title=view.MATRIX_TITLE, title_justify="left", expand=False)
    for col in view.MATRIX_COLUMNS:
        t.add_column(col)
    for row in view.matrix_rows(data, after_label="after switch"):
        t.add_row(str(row.number), *row.cells, " + ".join(row.marks),
                  style="reverse bold" if row.highlighted else None)
    return t


def placement_lines(data: dict[str, Any]) -> Text:
    out = Text()
    for label, p in view.placements(data):
        out.append(f"{label}: {view.row_label(p)}", style="bold")
        if p["note"]:
            out.append(f" ({printable(p['note'])})")
        out.append("\n")
        for name in view.COORDINATES:
            c = p[name]
            out.append(f"  {name}: {c['value'] or 'unknown'} - {printable(c['reason'])}\n", style="dim")
    return out


def print_finding(f: dict[str, Any], console: Console) -> None:
    """One finding: a heading line, then indented text. Commands are printed unwrapped (the
    terminal folds them visually) so a copied command is exactly one line."""
    sev = f["severity"]
    console.print(Text.assemble((f" {sev.upper()} ", f"reverse {STYLE[sev]}"), " ", (printable(f["title"]), "bold"),
                                (f"  [{printable(f['id'])}]", "dim")))
    if f["summary"]:
        console.print(Padding(Text(printable(f["summary"])), (0, 0, 0, 2)))
    if f["evidence"]:
        console.print(Text("  Evidence", style="bold"))
        for e in f["evidence"]:
            line = Text.assemble(("    " + printable(e["where"]), "bold"),
                                 ("  " + printable(e["detail"])) if e["detail"] else "")
            console.print(line)
    for i, w in enumerate(f["workarounds"], 1):
        hint = printable(w["hint"]) + (f"  [{view.REPAIRABLE}]" if w["repairable"] else "")
        console.print(Padding(Text.assemble((f"Workaround {i}: ", "bold"), hint), (0, 0, 0, 2)))
        for cmd in w["commands"]:
            console.print(Text(f"    $ {printable(cmd)}", style="green"), soft_wrap=True)
    for link in f["links"]:
        console.print(Text(f"  see {printable(link)}", style="dim"), soft_wrap=True)
    console.print()


def render(doc: dict[str, Any], console: Console) -> None:
    """Print a scan envelope (status ok, warnings or blockers) on `console`."""
    data = doc["data"]
    console.print(Text(f"Verdict: {printable(data['verdict'])}", style=VERDICT_STYLE[doc["status"]]))
    console.print(Text(printable(view.host_line(data)), style="dim"))
    console.print()
    console.print(matrix_table(data))
    console.print(placement_lines(data))
    if not data["findings"]:
        console.print(Text("No findings.", style="green"))
    for f in data["findings"]:
        print_finding(f, console)
    if doc["errors"]:
        console.print(Text("Errors (parts that could not be read or checked):", style="bold red"))
        for e in doc["errors"]:
            console.print(Text(f"  {printable(e['unit'])}: {printable(e['message'])}"))
    if data["skipped_checks"]:
        console.print(Text("Skipped checks:", style="dim"))
        for s in data["skipped_checks"]:
            console.print(Text(f"  {printable(s['check'])}: {printable(s['reason'])}", style="dim"))
    console.print(Text(f"\n{view.counts_line(doc)}", style="dim"))


def to_text(doc: dict[str, Any], width: int = 120) -> str:
    """The same report as plain text (no colours), for a file."""
    buf = io.StringIO()
    render(doc, Console(file=buf, highlight=False, width=width, force_terminal=False, color_system=None))
    return buf.getvalue()
