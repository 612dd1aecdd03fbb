"""One entry point for every output format: a scan envelope (or a use case's result) in, the text out."""

from __future__ import annotations

from typing import Any

FORMATS = ("text", "json", "markdown", "html")


def render(doc: dict[str, Any], fmt: str) -> str:
    """`doc` is a scan envelope (status ok, warnings or blockers); the formats import lazily.

    Every format but JSON (which escapes them itself) gets the document sanitized first: no
    control byte from the data reaches the output (vnetmigrate.reports.sanitize)."""
    if fmt == "json":
        from vnetmigrate.reports.envelope import dumps

        return dumps(doc)
    from vnetmigrate.reports.sanitize import sanitized

    doc = sanitized(doc)
    if fmt == "text":
        from vnetmigrate.reports.terminal import to_text

        return to_text(doc)
    if fmt == "markdown":
        from vnetmigrate.reports.markdown import render as markdown

        return markdown(doc)
    if fmt == "html":
        from vnetmigrate.reports.html import render as html

        return html(doc)
    raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")


RESULT_FORMATS = ("text", "json", "markdown")


def render_result(result: Any, fmt: str) -> str:
    """The result of plan, migrate, rollback or history (vnetmigrate.usecases) as text."""
    if fmt == "json":
        from vnetmigrate.reports.envelope import dumps, result_envelope

        return dumps(result_envelope(result))
    if fmt == "text":
        from vnetmigrate.reports.txn_terminal import to_text

        return to_text(result)
    if fmt == "markdown":
        from vnetmigrate.reports.txn_markdown import render as markdown

        return markdown(result)
    raise ValueError(f"unknown format {fmt!r} (one of {', '.join(RESULT_FORMATS)})")
