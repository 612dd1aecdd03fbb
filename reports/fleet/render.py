"""One entry point for every fleet format: the fleet envelope in, the report's text out."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def render(doc: dict[str, Any], fmt: str, page_dir: Path | None = None) -> str:
    """`page_dir`: where the page will be read from (links to hosts' reports are relative to it)."""
    if fmt == "json":
        from vnetmigrate.reports.envelope import dumps

        return dumps(doc)
    if fmt == "text":
        from vnetmigrate.reports.fleet.terminal import to_text

        return to_text(doc)
    if fmt == "markdown":
        from vnetmigrate.reports.fleet.markdown import render as markdown

        return markdown(doc, page_dir)
    if fmt == "html":
        from vnetmigrate.reports.fleet.html import render as html

        return html(doc, page_dir)
    raise ValueError(f"unknown format {fmt!r}")
