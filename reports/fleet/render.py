"""One entry point for every fleet format: the fleet envelope in, the report's text out."""

from __future__ import annotations

import json
from pathlib import Path
from collections.abc import Iterator
from typing import Any


def dumps(doc: dict[str, Any]) -> str:
    return "".join(json_chunks(doc))


def json_chunks(doc: dict[str, Any]) -> Iterator[str]:
    """The envelope indented like every command's, except that each host row, finding and error
    is one line, and each list of host names too: at 10,000 hosts an indented document would be
    hundreds of thousands of lines, and json's C encoder writes one line per item much faster.
    In pieces, so 10,000 hosts are written without holding the whole text (tens of MB) twice."""
    yield from _pretty(doc, 0)
    yield "\n"


def _pretty(value: Any, indent: int) -> Iterator[str]:
    inner = " " * (indent + 2)
    if isinstance(value, dict) and value:
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            yield f"{',' if i else ''}\n{inner}{json.dumps(key)}: "
            yield from _pretty(item, indent + 2)
        yield "\n" + " " * indent + "}"
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        yield "["
        for i, item in enumerate(value):
            yield f"{',' if i else ''}\n{inner}{json.dumps(item)}"
        yield "\n" + " " * indent + "]"
    else:
        yield json.dumps(value)


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
