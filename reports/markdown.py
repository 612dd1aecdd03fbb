"""Render a scan envelope as Markdown (CommonMark with GitHub tables), for tickets and wikis.

Every string from the scan is escaped: findings carry rule text, paths and network names,
and Markdown renderers pass raw HTML through, so `<script>` must arrive as text.
"""

from __future__ import annotations

import re
from typing import Any

from vnetmigrate.reports import view

_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~#!])")


def text(s: str) -> str:
    """Inline text: Markdown and HTML specials backslash-escaped, on one line."""
    return _SPECIAL.sub(r"\\\1", " ".join(s.split()))


def code(s: str) -> str:
    """An inline code span that holds any string (longer backtick fence than the content's)."""
    s = " ".join(s.split())
    ticks = "`" * (max((len(run) for run in re.findall(r"`+", s)), default=0) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{ticks}{pad}{s}{pad}{ticks}"


def inline(s: str) -> str:
    """Escaped text with its backticked names as code spans."""
    return "".join(code(part) if is_code else _spaced(part) for is_code, part in view.inline_parts(s))


def _spaced(s: str) -> str:
    # text() trims; between code spans the spaces are part of the sentence
    return (" " if s[:1].isspace() else "") + text(s) + (" " if s[-1:].isspace() and s.strip() else "")


def cell(s: str) -> str:
    # Inside a table even a code span needs its pipes escaped.
    return s.replace("|", "\\|")


def fenced(lines: list[str], info: str = "sh") -> str:
    body = "\n".join(lines)
    fence = "`" * max(3, max((len(run) + 1 for run in re.findall(r"`{3,}", body)), default=3))
    return f"{fence}{info}\n{body}\n{fence}"


def matrix(data: dict[str, Any]) -> list[str]:
    out = [f"## {view.MATRIX_TITLE}", "",
           "The host's rows are in bold and marked in the last column.", "",
           "| " + " | ".join(view.MATRIX_COLUMNS) + " |", "|" + "---|" * len(view.MATRIX_COLUMNS)]
    for row in view.matrix_rows(data):
        cells = [str(row.number), *row.cells]
        if row.highlighted:
            cells = [f"**{c}**" for c in cells] + ["**→ " + " + ".join(row.marks) + "**"]
        else:
            cells.append("")
        out.append("| " + " | ".join(cell(c) for c in cells) + " |")
    out.append("")
    for label, p in view.placements(data):
        note = f" ({text(p['note'])})" if p["note"] else ""
        out.append(f"- **{label}: {view.row_label(p)}**{note}")
        for name in view.COORDINATES:
            c = p[name]
            out.append(f"  - {name}: **{text(c['value'] or 'unknown')}** — {inline(c['reason'])}")
    return out + [""]


def where(e: view.EvidenceLine) -> str:
    return code(e.where) if e.count == 1 and e.kind in view.CODE_KINDS else f"**{text(e.where)}**"


def finding(f: dict[str, Any]) -> list[str]:
    out = [f"#### {f['severity'].upper()}: {inline(view.title(f))}", "", f"Id: {code(f['id'])}", ""]
    if f["summary"]:
        out += [inline(view.summary(f)), ""]
    lines = view.evidence_lines(f)
    if lines:
        out += ["**Evidence**", ""]
        out += [f"- {where(e)}" + (f": {inline(e.detail)}" if e.detail else "") for e in lines]
        out.append("")
    for i, w in enumerate(f["workarounds"], 1):
        repair = f" *({view.REPAIRABLE})*" if view.can_repair(f, w) else ""
        out += [f"**Workaround {i}:** {inline(w['hint'])}{repair}", ""]
        cmds, hidden = view.shown_commands(w)
        if cmds:
            out += [fenced(cmds), ""]
        if hidden:
            out += [inline(view.more_commands(hidden)), ""]
    if f["links"]:
        out += ["See also:", ""]
        out += [f"- <{link}>" if view.is_web_link(link) else f"- {text(link)}" for link in f["links"]]
        out.append("")
    return out


def render(doc: dict[str, Any]) -> str:
    data = doc["data"]
    out = [f"# vnetmigrate scan: {text(data['verdict'])}", "",
           f"**Verdict: {text(data['verdict'])}** ({text(view.counts_line(doc))})", "",
           text(view.host_line(data)) + (f", collected {text(view.human_time(data['host']['collected_at']))}"
                                         if data["host"].get("collected_at") else ""), ""]
    if view.blockers(data):
        out += ["Blockers:", ""]
        for i, (f, hidden) in enumerate(view.collapsed(view.blockers(data)), 1):
            out.append(f"{i}. {inline(view.title(f))} ({code(f['id'])})")
            if hidden:
                out.append(f"   {inline(view.more_findings(f, hidden))}")  # continues the item
        out.append("")
    out += [inline(view.next_step(doc)), ""]
    out += matrix(data)
    out += ["## Findings", ""]
    if not data["findings"]:
        out += ["No findings.", ""]
    for severity, found in view.findings_by_severity(data):
        out += [f"### {view.SEVERITY_HEADINGS[severity]} ({len(found)})", ""]
        for f, hidden in view.collapsed(found):
            out += finding(f)
            if hidden:
                out += [f"*{inline(view.more_findings(f, hidden))}*", ""]
    if doc["errors"]:
        out += ["## Errors", "", "Parts that could not be read or checked:", ""]
        out += [f"- {code(e['unit'])}: {text(e['message'])}" for e in doc["errors"]] + [""]
    if data["skipped_checks"]:
        out += ["## Skipped checks", ""]
        out += [f"- {code(s['check'])}: {text(s['reason'])}" for s in data["skipped_checks"]] + [""]
    out.append(f"*vnetmigrate {text(doc['tool_version'])}, schema_version {doc['schema_version']}*")
    return "\n".join(out) + "\n"
