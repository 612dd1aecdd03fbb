"""Render a ScanResult for a terminal with rich: verdict first, then the matrix, then findings."""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from vnetmigrate.matrix import ROWS
from vnetmigrate.scan import ScanResult

STYLE = {"blocker": "bold red", "warning": "yellow", "info": "cyan"}
VERDICT_STYLE = {"ok": "bold green", "warnings": "bold yellow", "blockers": "bold red"}


def matrix_table(result: ScanResult) -> Table:
    t = Table(title="Compatibility matrix (Fedora 41 change)", title_justify="left", expand=False)
    for col in ("#", "kernel module", "firewall mgmt userspace", "libvirt backend", "result", "this host"):
        t.add_column(col)
    now, after = result.matrix.now.row, result.matrix.after.row
    for number, (kernel, userspace, backend, outcome) in ROWS.items():
        marks = [m for m, r in (("now", now), ("after switch", after)) if r == number]
        style = "reverse bold" if marks else None
        t.add_row(str(number), kernel, userspace, backend, outcome, " + ".join(marks), style=style)
    return t


def placement_lines(result: ScanResult) -> Text:
    out = Text()
    for label, p in (("now", result.matrix.now), ("after the switch", result.matrix.after)):
        row = f"row {p.row}" if p.row else "no row"
        out.append(f"{label}: {row}", style="bold")
        if p.note:
            out.append(f" ({p.note})")
        out.append("\n")
        for name in ("kernel", "userspace", "backend"):
            c = getattr(p, name)
            out.append(f"  {name}: {c.value or 'unknown'} - {c.reason}\n", style="dim")
    return out


def finding_panel(f) -> Panel:
    body = Text()
    if f.summary:
        body.append(f.summary + "\n")
    if f.evidence:
        body.append("\nEvidence\n", style="bold")
        for e in f.evidence:
            body.append(f"  {e.where}", style="bold")
            body.append(f"  {e.detail}\n" if e.detail else "\n")
    for i, w in enumerate(f.workarounds, 1):
        body.append(f"\nWorkaround {i}: ", style="bold")
        body.append(w.hint + ("  [repair can apply this]" if w.repairable else "") + "\n")
        for cmd in w.commands:
            body.append(f"  $ {cmd}\n", style="green")
    for link in f.links:
        body.append(f"\n  see {link}", style="dim")
    title = Text.assemble((f.severity.value.upper(), STYLE[f.severity.value]), "  ", f.title, f"  [{f.id}]")
    return Panel(body, title=title, title_align="left", border_style=STYLE[f.severity.value])


def render(result: ScanResult, console: Console) -> None:
    console.print(Text(f"Verdict: {result.verdict}", style=VERDICT_STYLE[result.status]))
    host = result.meta
    where = f"host {host.get('hostname')}" + (f", namespace {host['netns']}" if host.get("netns") else "") + \
        (f", root {host['root']}" if host.get("root") not in (None, "/") else "") + \
        (", from saved evidence" if host.get("source") == "saved" else "")
    console.print(Text(where, style="dim"))
    console.print()
    console.print(matrix_table(result))
    console.print(placement_lines(result))
    if not result.findings:
        console.print(Text("No findings.", style="green"))
    for f in result.findings:
        console.print(finding_panel(f))
    if result.errors:
        console.print(Text("Errors (parts that could not be read or checked):", style="bold red"))
        for e in result.errors:
            console.print(f"  {e['unit']}: {e['message']}", markup=False, highlight=False)
    if result.skipped:
        console.print(Text("Skipped checks:", style="dim"))
        for s in result.skipped:
            console.print(f"  {s['check']}: {s['reason']}", style="dim", markup=False, highlight=False)
    counts = ", ".join(f"{result.count(s)} {s.value}" for s in sorted({f.severity for f in result.findings},
                                                                       key=lambda s: -s.rank))
    console.print(Text(f"\n{counts or 'no findings'}; exit code {int(result.exit_code)}", style="dim"))
