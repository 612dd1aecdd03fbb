"""The one sanitiser of everything vnetmigrate prints from data: no control byte reaches a reader.

A scan, a journal, a network name: the strings a report shows come from hosts, files and
saved scans that travel by mail. ESC starts terminal sequences (clear the screen, set the
title, rewrite what is shown), BEL rings, U+0080-U+009F are C1 controls (U+009B is CSI on its
own). Every renderer — text, Markdown, HTML, and the text output of every command — takes its
data through `sanitized` (a whole document) or `printable` (one string), which show each
control as \\xNN: visible, and harmless. Newline and tab are kept (they are layout, not
commands). JSON output needs none of this: json.dumps escapes every control.
"""

from __future__ import annotations

import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with every C0 control but newline and tab, DEL and every C1 control shown as \\xNN."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def sanitized(value: Any) -> Any:
    """A copy of a JSON-like document (dicts, lists, strings, scalars) with every string,
    keys included, made `printable`."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {sanitized(k): sanitized(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [sanitized(v) for v in value]
    return value


__all__ = ["printable", "sanitized"]
