"""One entry point for every fleet format: the fleet envelope in, the report's text out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def dumps(doc: dict[str, Any]) -> str:
    """The envelope indented like every command's, except that each host row, finding and error
    is one line, and each list of host names too: at 10,000 hosts an indented document would be
    hundreds of thousands of lines, and json's C encoder writes one line per item much faster."""
    return _pretty(doc, 0) + "\n"


def _pretty(value: Any, indent: int) -> str:
    inner = " " * (indent + 2)
    if isinstance(value, dict) and value:
        items = (f"{inner}{json.dumps(k)}: {_pretty(v, indent + 2)}" for k, v in value.items())
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return "[\n" + ",\n".join(inner + json.dumps(v) for v in value) + "\n" + " " * indent + "]"
    return json.dumps(value)


def render(doc: dict[str, Any], fmt: str, page_dir: Path | None = None) -> str:
    """`page_dir`: where the page will be read from (links to hosts' reports are relative to it)."""
    if fmt == "json":
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
