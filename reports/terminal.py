"""Render a scan envelope for a terminal with rich: the answer first (verdict, counts, one line
per blocker, the host's matrix rows as two lines), then the findings, then the next step."""

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


def hang(prefix: str | Text, text: Text | str) -> Table:
    """`prefix` then `text`, whose wrapped lines start under its first character: a long line
    stays readable at 80 columns."""
    grid = Table.grid(padding=0)
    grid.add_column(no_wrap=True)
    grid.add_column()
    grid.add_row(prefix, text)
    return grid


def placement_lines(data: dict[str, Any], verbose: bool = False) -> list[Table]:
    """The host's place in the matrix as two lines, now and after, each with the reasons that
    matter (what changes); with `verbose` every coordinate's reason."""
    out = []
    for (key, _), (label, p) in zip(view.PLACEMENTS, view.placements(data)):
        line = printable(view.placement_line(label, p))
        head, rest = label + ":", line[len(label) + 2:]  # wrapped lines continue under the row
        out.append(hang(Text(head + " ", style="bold"), Text(rest, style="bold")))
        for name, reason in view.placement_reasons(data, key, everything=verbose):
            out.append(hang(Text(f"  {name}: ", style="dim"), Text(printable(reason), style="dim")))
    return out


def blocker_lines(data: dict[str, Any]) -> Table:
    grid = Table.grid(padding=(0, 1, 0, 0))
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column()
    for i, (f, hidden) in enumerate(view.collapsed(view.blockers(data)), 1):
        grid.add_row(f"  {i}.", Text.assemble(printable(view.title(f)), (f"  [{printable(f['id'])}]", "dim")))
        if hidden:
            grid.add_row("", Text(printable(view.more_findings(f, hidden)), style="dim"))
    return grid


def print_finding(f: dict[str, Any], console: Console, hidden: int = 0) -> None:
    """One finding: a heading line, then indented text. Commands are printed unwrapped (the
    terminal folds them visually) so a copied command is exactly one line."""
    sev = f["severity"]
    console.print(hang(Text.assemble((f" {sev.upper()} ", f"reverse {STYLE[sev]}"), " "),
                       Text.assemble((printable(view.title(f)), "bold"), (f"  [{printable(f['id'])}]", "dim"))))
    if f["summary"]:
        console.print(Padding(Text(printable(view.summary(f))), (0, 0, 0, 2)))
    lines = view.evidence_lines(f)
    if lines:
        console.print(Text("  Evidence", style="bold"))
        for e in lines:
            console.print(hang("    - ", Text.assemble((printable(e.where), "bold"),
                                                     (": " + printable(e.detail)) if e.detail else "")))
    for i, w in enumerate(f["workarounds"], 1):
        hint = printable(w["hint"]) + (f"  [{view.REPAIRABLE}]" if view.can_repair(f, w) else "")
        console.print(Padding(Text.assemble((f"Workaround {i}: ", "bold"), hint), (0, 0, 0, 2)))
        cmds, cut = view.shown_commands(w)
        for cmd in cmds:
            console.print(Text(f"    $ {printable(cmd)}", style="green"), soft_wrap=True)
        if cut:
            console.print(Text(f"    {view.more_commands(cut)}", style="dim"))
    for link in f["links"]:
        console.print(Text(f"  see {printable(link)}", style="dim"), soft_wrap=True)
    if hidden:
        console.print(Padding(Text(printable(view.more_findings(f, hidden)), style="bold"), (0, 0, 0, 2)))
    console.print()


def render(doc: dict[str, Any], console: Console, verbosity: int = 0) -> None:
    """Print a scan envelope (status ok, warnings or blockers) on `console`: the answer first
    (verdict, counts, one line per blocker, the matrix in two lines), then the findings, then
    the next step. `verbosity` -1 prints only the verdict line; 1 adds the full matrix."""
    data = doc["data"]
    style = VERDICT_STYLE[doc["status"]]
    # One line, never wrapped: scripts and `head -1` read it.
    console.print(Text(f"Verdict: {printable(data['verdict'])}", style=style), soft_wrap=True)
    if verbosity < 0:
        return
    console.print(Text(view.counts(doc), style=style))
    console.print(Text(printable(view.host_line(data)), style="dim"))
    if view.blockers(data):
        console.print(Text("Blockers:", style="bold"))
        console.print(blocker_lines(data))
    console.print()
    for line in placement_lines(data, verbose=verbosity > 0):
        console.print(line)
    console.print()
    if verbosity > 0:
        console.print(matrix_table(data))
        console.print()
    if not data["findings"]:
        console.print(Text("No findings.", style="green"))
        console.print()
    for f, hidden in view.collapsed(data["findings"]):
        print_finding(f, console, hidden)
    if doc["errors"]:
        console.print(Text("Errors (parts that could not be read or checked):", style="bold red"))
        for e in doc["errors"]:  # wrapped lines continue under the message, not at column 0
            console.print(hang(f"  {printable(e['unit'])}: ", Text(printable(e["message"]))))
    if data["skipped_checks"]:
        console.print(Text("Skipped checks:", style="dim"))
        for s in data["skipped_checks"]:
            console.print(hang(Text(f"  {printable(s['check'])}: ", style="dim"), Text(printable(s["reason"]), style="dim")))
    console.print(Text(view.counts_line(doc), style="dim"))
    console.print(Text(view.next_step(doc), style="bold"))


def to_text(doc: dict[str, Any], width: int = 80, verbosity: int = 0) -> str:
    """The same report as plain text (no colours), for a pipe or a file: one width, no
    trailing spaces, so piped text and `-o FILE` are the same."""
    buf = io.StringIO()
    render(doc, Console(file=buf, highlight=False, width=width, force_terminal=False, color_system=None),
           verbosity)
    return "\n".join(line.rstrip() for line in buf.getvalue().split("\n"))
