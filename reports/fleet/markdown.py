"""Render the fleet envelope as Markdown (CommonMark with GitHub tables), for tickets and wikis.

Every string from a host file is escaped (host names and finding titles come from the hosts);
each host links to its own report, relative to where the fleet page is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vnetmigrate.reports.fleet import view
from vnetmigrate.reports.fleet.view import sanitized
from vnetmigrate.reports.markdown import cell, code, text

HEADINGS = {"blocker": "Blockers", "warning": "Warnings", "info": "Information"}


def _table(header: tuple[str, ...], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return out + [""]


def _groups(heading: str, items: list[tuple[str, list[str]]]) -> list[str]:
    return [f"### {text(heading)}", ""] + _table(("", "hosts", "which"), [
        [text(label), str(len(hosts)), text(view.names(hosts))] for label, hosts in items])


def _link(host: dict[str, Any], page_dir: Path | None) -> str:
    target = view.link_target(host)
    return f"[{text(Path(target).name)}](<{view.href(target, page_dir)}>)"


def render(doc: dict[str, Any], page_dir: Path | None = None) -> str:
    doc = sanitized(doc)
    data = doc["data"]
    out = [f"# vnetmigrate fleet: {text(view.title(doc))}", "", f"**{text(view.counts_line(doc))}**", ""]
    out += ["## Verdicts", ""] + _table(("verdict", "hosts", "which"), [
        [text(v), str(len(h)), text(view.names(h))] for v, h in data["by_verdict"].items()])
    out += ["## Findings", ""]
    if not data["findings"]:
        out += ["No findings on any host.", ""]
    for severity, found in view.finding_groups(data):
        out += [f"### {HEADINGS[severity]}", ""] + _table(("id", "title", "hosts", "which"), [
            [code(f["id"]), text(view.finding_title(f)), str(f["hosts"]), text(view.names(f["names"]))] for f in found])
    out += ["## Spread", ""]
    for heading, items in view.distributions(data):
        out += _groups(heading, items)
    out += ["## Hosts", "", "Worst first; each host links to its own report (or its saved scan).", ""]
    out += _table(view.TABLE_COLUMNS, [
        [text(h["host"]), text(view.verdict_name(h)), text(", ".join(h["blockers"])) or "-",
         text(view.matrix_cell(h)), text(h["libvirt_version"]), text(h["backend"]), _link(h, page_dir)]
        for h in data["hosts"]])
    if doc["errors"]:
        out += ["## Host files not counted", ""]
        out += [f"- {text(view.error_line(e))}" for e in doc["errors"]] + [""]
    out.append(f"*vnetmigrate {text(doc['tool_version'])}, schema_version {doc['schema_version']}*")
    return "\n".join(out) + "\n"
