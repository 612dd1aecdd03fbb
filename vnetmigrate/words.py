"""Plain-English helpers shared by checks, the scan and the renderers."""

from __future__ import annotations

_IRREGULAR = {"info": "info", "is": "are", "was": "were", "this": "these", "its": "their"}


def plural(count: int, noun: str, many: str | None = None) -> str:
    """"1 rule", "4 rules", "1 info", "0 networks": the count and the noun in the right number."""
    return f"{count} {noun if count == 1 else (many or _plural(noun))}"


def _plural(noun: str) -> str:
    if noun in _IRREGULAR:
        return _IRREGULAR[noun]
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"
