"""Render the fleet envelope as one self-contained HTML page: inline CSS, no scripts, no fetches.

The scan report's stylesheet and Content-Security-Policy, plus a few rules for the fleet's
bars. Every string from a host file is HTML-escaped; each host links to its own report (or
its saved scan), relative to where the page is written, so a directory of pages can be
published or mailed as a whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vnetmigrate.reports.fleet import view
from vnetmigrate.reports.fleet.view import sanitized
from vnetmigrate.reports.html import CSP, e, stylesheet

STATUS_CLASS = {"ok": "status-ok", "warnings": "status-warnings", "blockers": "status-blockers"}
STATUS_CELL = ' class="verdict-{}"'
HEADINGS = {"blocker": "Blockers", "warning": "Warnings", "info": "Information"}
FLEET_CSS = """
.bar { display: inline-block; height: .8em; min-width: 1px; background: var(--muted); vertical-align: baseline; }
.bar-blockers { background: var(--blocker); } .bar-warnings { background: var(--warning); }
.bar-ok { background: var(--ok); } .bar-blocker { background: var(--blocker); }
.bar-warning { background: var(--warning); } .bar-info { background: var(--info); }
th.n, td.n { text-align: right; white-space: nowrap; overflow-wrap: normal; width: 1%; }
.spread { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 26rem), 1fr)); gap: 0 1.5rem; }
.spread > div { min-width: 0; }
@media (max-width: 40rem) {  /* a phone: numbers without bars, and one card per host instead of 7 columns */
  .barcell { display: none; }
  table.hosts thead { display: none; }
  table.hosts tr { display: block; border: 1px solid var(--rule); border-radius: 6px; margin: 0 0 .6rem; }
  table.hosts td { display: block; border: none; padding: .1rem .55rem; }
  table.hosts td::before { content: attr(data-label) ": "; color: var(--muted); font-weight: 400; }
}
td.barcell { width: 22%; }
table.groups td:first-child { min-width: 7rem; overflow-wrap: normal; }  /* "11.3.0", "nftables" stay whole */
.names { color: var(--muted); font-size: .9em; }
table.hosts td.verdict-blockers { color: var(--blocker); font-weight: 700; }
table.hosts td.verdict-warnings { color: var(--warning); font-weight: 700; }
table.hosts td.verdict-ok { color: var(--ok); font-weight: 700; }
.badge.sev-blocker { background: var(--blocker); } .badge.sev-warning { background: var(--warning); }
.badge.sev-info { background: var(--info); }
"""


def _bar(count: int, total: int, cls: str = "") -> str:
    width = 100 * count / total if total else 0
    return f'<span class="bar {cls}" style="width: {width:.1f}%"></span>'


def _groups(title: str, items: list[tuple[str, list[str]]], total: int, classes: dict[str, str] | None = None) -> str:
    """One count: a heading, then a row per value with its number of hosts, a bar and the first names."""
    rows = "".join(
        f"<tr><td>{e(label)}</td><td class=\"n\">{len(hosts)}</td>"
        f"<td class=\"barcell\">{_bar(len(hosts), total, (classes or {}).get(label, ''))}</td>"
        f"<td class=\"names\">{e(view.names(hosts))}</td></tr>" for label, hosts in items)
    return (f"<div><h3>{e(title)}</h3><table class=\"groups\"><thead><tr><th scope=\"col\"></th>"
            f"<th scope=\"col\" class=\"n\">hosts</th><th scope=\"col\" class=\"barcell\"></th><th scope=\"col\">which</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>")


def _findings(data: dict[str, Any]) -> str:
    if not data["findings"]:
        return '<section id="findings"><h2>Findings</h2><p>No findings on any host.</p></section>'
    out = ['<section id="findings"><h2>Findings</h2>']
    for severity, found in view.finding_groups(data):
        rows = "".join(
            f'<tr id="finding-{e(f["id"])}"><td><span class="badge sev-{e(severity)}">{e(severity.upper())}</span>'
            f'<code>{e(f["id"])}</code><br>{e(view.finding_title(f))}</td><td class="n">{f["hosts"]}</td>'
            f'<td class="barcell">{_bar(f["hosts"], data["host_count"], "bar-" + severity)}</td>'
            f'<td class="names">{e(view.names(f["names"]))}</td></tr>' for f in found)
        out.append(f'<h3>{HEADINGS[severity]} ({len(found)} kind(s))</h3><table class="findings"><thead><tr>'
                   f'<th scope="col">finding</th><th scope="col" class="n">hosts</th><th scope="col" class="barcell"></th>'
                   f'<th scope="col">which</th></tr></thead><tbody>{rows}</tbody></table>')
    return "".join(out) + "</section>"


def _hosts(data: dict[str, Any], page_dir: Path | None) -> str:
    head = "".join(f'<th scope="col">{e(c)}</th>' for c in view.TABLE_COLUMNS)
    rows = []
    for h in data["hosts"]:
        target = view.link_target(h)
        cells = (e(h["host"]), e(view.verdict_name(h)), e(", ".join(h["blockers"]) or "-"), e(view.matrix_cell(h)),
                 e(h["libvirt_version"]), f'{e(h["backend"])} -&gt; {e(h["backend_after"])}',
                 f'<a href="{e(view.href(target, page_dir))}">{e(Path(target).name)}</a>')
        tds = "".join(f'<td data-label="{e(col)}"{STATUS_CELL.format(e(h["status"])) if col == "verdict" else ""}>'
                      f"{cell}</td>" for col, cell in zip(view.TABLE_COLUMNS, cells))
        rows.append(f"<tr>{tds}</tr>")
    return (f'<section id="hosts"><h2>Hosts</h2><p class="muted">Worst first; each host links to its own report '
            f'(or its saved scan).</p><table class="hosts"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></section>')


def render(doc: dict[str, Any], page_dir: Path | None = None) -> str:
    doc = sanitized(doc)
    data = doc["data"]
    total = data["host_count"]
    verdict_classes = {v: "bar-" + s for v, s in view.VERDICT_STATUS.items()}
    errors = ""
    if doc["errors"]:
        items = "".join(f"<li>{e(view.error_line(x))}</li>" for x in doc["errors"])
        errors = f'<section id="errors"><h2>Host files not counted ({len(doc["errors"])})</h2><ul>{items}</ul></section>'
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>vnetmigrate fleet: {e(view.title(doc))}</title>",
        f"<style>\n{stylesheet()}{FLEET_CSS}</style></head><body>",
        '<header><h1>vnetmigrate fleet</h1></header>',
        f'<section class="verdict {STATUS_CLASS[doc["status"]]}" id="verdict">'
        f'<p class="line">{e(view.title(doc))}</p><p>{e(view.counts_line(doc))}</p></section>',
        '<section id="verdicts"><h2>Verdicts</h2>'
        + _groups("Hosts by verdict", list(data["by_verdict"].items()), total, verdict_classes) + "</section>",
        _findings(data),
        '<section id="spread"><h2>Spread</h2><div class="spread">'
        + "".join(_groups(t, items, total) for t, items in view.distributions(data)) + "</div></section>",
        _hosts(data, page_dir),
        errors,
        f'<footer>vnetmigrate {e(doc["tool_version"])}, schema_version {e(doc["schema_version"])}</footer>',
        "</body></html>",
    ]) + "\n"
