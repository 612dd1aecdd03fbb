"""Render a scan envelope as one self-contained HTML file: inline CSS, no scripts, no fetches.

It is read on screen, printed, and mailed around, so everything it needs is inside it, and a
Content-Security-Policy forbids loading anything at all. Every string from the scan (rule
text, paths, network names) is HTML-escaped.
"""

from __future__ import annotations

from html import escape
from importlib import resources
from typing import Any

from vnetmigrate.reports import view

# default-src 'none': even a string that slipped through escaping could not load or run anything.
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
VERDICT_CLASS = {"ok": "status-ok", "warnings": "status-warnings", "blockers": "status-blockers"}


def e(s: Any) -> str:
    return escape(str(s), quote=True)


def stylesheet() -> str:
    return resources.files("vnetmigrate.reports").joinpath("report.css").read_text("utf-8")


def inline(text: str) -> str:
    """Escaped text with its backticked names as code."""
    return "".join(f"<code>{e(part)}</code>" if is_code else e(part) for is_code, part in view.inline_parts(text))


def where(ev: view.EvidenceLine) -> str:
    """A rule, chain, table, file or command as code; anything else (a fact, a summary) as text."""
    if ev.count == 1 and ev.kind in view.CODE_KINDS:
        return f"<code>{e(ev.where)}</code>"
    return f"<strong>{e(ev.where)}</strong>"


def anchor(f: dict[str, Any]) -> str:
    return f"finding-{f['id']}"


def verdict_panel(doc: dict[str, Any]) -> str:
    """The answer first: the verdict, the counts, a link to each blocker, the next step."""
    data = doc["data"]
    items = "".join(f'<li><a href="#{e(anchor(f))}">{inline(view.title(f))}</a> <code class="muted">{e(f["id"])}'
                    "</code>" + (f'<br><span class="muted">{inline(view.more_findings(f, hidden))}</span>' if hidden
                                 else "") + "</li>" for f, hidden in view.collapsed(view.blockers(data)))
    listing = f'<ol class="blockers">{items}</ol>' if items else ""
    return (f'<section class="verdict {VERDICT_CLASS[doc["status"]]}" id="verdict">'
            f'<p class="line">Verdict: {e(data["verdict"])}</p>'
            f'<p class="counts">{e(view.counts_line(doc))}</p>{listing}'
            f'<p class="next">{inline(view.next_step(doc))}</p></section>')


def matrix_section(data: dict[str, Any]) -> str:
    head = "".join(f'<th scope="col">{e(c)}</th>' for c in view.MATRIX_COLUMNS)
    rows = []
    for row in view.matrix_rows(data):
        # data-label: the column's name, shown beside each cell when a narrow screen stacks the rows
        cells = "".join(f'<td data-label="{e(label)}">{e(c)}</td>'
                        for label, c in zip(view.MATRIX_COLUMNS, (row.number, *row.cells)))
        mark = e(" + ".join(row.marks))
        cls = ' class="host-row"' if row.highlighted else ""
        rows.append(f'<tr{cls}>{cells}<td class="mark" data-label="{e(view.MATRIX_COLUMNS[-1])}">'
                    f'{"&#9654; " + mark if mark else ""}</td></tr>')
    placements = []
    for label, p in view.placements(data):
        note = f' <span class="muted">({e(p["note"])})</span>' if p["note"] else ""
        coords = "".join(f'<dt>{e(n)}</dt><dd><strong>{e(p[n]["value"] or "unknown")}</strong>: '
                         f'{inline(p[n]["reason"])}</dd>' for n in view.COORDINATES)
        placements.append(f'<h3>{e(label)}: {e(view.row_label(p))}{note}</h3><dl class="coords">{coords}</dl>')
    return (f'<section id="matrix"><h2>{e(view.MATRIX_TITLE)}</h2>'
            f'<table class="matrix"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
            f'{"".join(placements)}</section>')


def finding_article(f: dict[str, Any]) -> str:
    sev = f["severity"]
    out = [f'<article class="finding sev-{e(sev)}" id="{e(anchor(f))}">',
           f'<h4><span class="badge">{e(sev.upper())}</span>{inline(view.title(f))} '
           f'<code class="muted">{e(f["id"])}</code></h4>']
    if f["summary"]:
        out.append(f'<p>{inline(view.summary(f))}</p>')
    lines = view.evidence_lines(f)
    if lines:
        items = "".join(f"<li>{where(ev)}" + (f": {inline(ev.detail)}" if ev.detail else "") + "</li>"
                        for ev in lines)
        out.append(f'<p><strong>Evidence</strong></p><ul class="evidence">{items}</ul>')
    for i, w in enumerate(f["workarounds"], 1):
        repair = (f' <span class="repairable">{e(view.REPAIRABLE)}</span>'
                  if view.can_repair(f, w) else "")
        out.append(f'<p><strong>Workaround {i}:</strong> {inline(w["hint"])}{repair}</p>')
        cmds, hidden = view.shown_commands(w)
        if cmds:
            out.append(f'<pre><code>{e(chr(10).join(cmds))}</code></pre>')
        if hidden:
            out.append(f'<p class="muted">{inline(view.more_commands(hidden))}</p>')
    if f["links"]:
        links = "".join(f'<li><a href="{e(link)}">{e(link)}</a></li>' if view.is_web_link(link)
                        else f"<li>{e(link)}</li>" for link in f["links"])
        out.append(f'<p class="muted">See also:</p><ul class="links">{links}</ul>')
    return "".join(out) + "</article>"


def findings_section(data: dict[str, Any]) -> str:
    out = ['<section id="findings"><h2>Findings</h2>']
    if not data["findings"]:
        out.append("<p>No findings.</p>")
    for severity, found in view.findings_by_severity(data):
        out.append(f"<h3>{e(view.SEVERITY_HEADINGS[severity])} ({len(found)})</h3>")
        for f, hidden in view.collapsed(found):
            out.append(finding_article(f))
            if hidden:
                out.append(f'<p class="muted">{inline(view.more_findings(f, hidden))}</p>')
    return "".join(out) + "</section>"


def listing(title: str, section_id: str, items: list[tuple[str, str]], intro: str = "") -> str:
    if not items:
        return ""
    lis = "".join(f"<li><code>{e(k)}</code>: {inline(v)}</li>" for k, v in items)
    return f'<section id="{section_id}"><h2>{e(title)}</h2>{intro}<ul class="{section_id}">{lis}</ul></section>'


def render(doc: dict[str, Any]) -> str:
    data = doc["data"]
    host = view.host_line(data)
    collected = view.human_time(data["host"].get("collected_at"))
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>vnetmigrate scan of {e(data['host'].get('hostname'))}: {e(data['verdict'])}</title>",
        f"<style>\n{stylesheet()}</style></head><body>",
        f'<header><h1>vnetmigrate scan</h1><p class="muted">{e(host)}'
        + (f", collected {e(collected)}" if collected else "") + "</p></header>",
        verdict_panel(doc),
        matrix_section(data),
        findings_section(data),
        listing("Errors", "errors", [(x["unit"], x["message"]) for x in doc["errors"]],
                "<p>Parts that could not be read or checked:</p>"),
        listing("Skipped checks", "skipped", [(s["check"], s["reason"]) for s in data["skipped_checks"]]),
        f'<footer>vnetmigrate {e(doc["tool_version"])}, schema_version {e(doc["schema_version"])}</footer>',
        "</body></html>",
    ]) + "\n"
