"""libnftables JSON knowledge that both the collector and the parser need.

The collector follows jumps to decide which chains to list; the facts parser answers a rule's
jump targets from the same walk. Kept below both, so neither imports the other.
"""

from __future__ import annotations

from collections.abc import Iterator


def jump_targets(expr: object) -> Iterator[str]:
    """Every chain a rule's expressions jump or go to, verdict maps included."""
    if isinstance(expr, dict):
        for verdict in ("jump", "goto"):
            inner = expr.get(verdict)
            if isinstance(inner, dict) and isinstance(inner.get("target"), str):
                yield inner["target"]
        for value in expr.values():
            yield from jump_targets(value)
    elif isinstance(expr, list):
        for value in expr:
            yield from jump_targets(value)
