"""Plain-English helpers shared by checks, the scan and the renderers."""

from __future__ import annotations

import re

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


# Lists that grow with the host (networks, bridges: 500 on some) are summarised in text, Markdown
# and HTML; `--format json` and saved bundles keep every name.
SHOWN = 5


def names(items, shown: int = SHOWN) -> str:
    """"a, b, c" up to `shown` names, else "a, b, c, d, e and 495 more"."""
    items = [str(i) for i in items]
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


# One word of a list as checks and steps join them (", "): brackets and quotes around a list
# stay outside it. Possessive, and starting only where a word does: a long name from the host
# costs one pass, not one per character.
_WORD = r"[^\s,()\[\]{}`'\"]"
_ITEM = rf"{_WORD}++"
LONG = 12  # more names than this are summarised; the tool's own fixed lists (packet kinds) are shorter
_LONG_LIST = re.compile(rf"(?<!{_WORD}){_ITEM}(?:, {_ITEM}){{{LONG},}}")


def shorten_lists(text: str) -> str:
    """`text` (a finding's title, a step's title, a note) with every run of more than `LONG`
    comma-separated one-word names summarised as `names` does: the renderers' view of titles
    whose JSON keeps the full list."""
    return _LONG_LIST.sub(lambda m: names(m.group(0).split(", ")), text)


_QUOTED = re.compile(r"`[^`\n]*`")  # a command as messages quote it: `vnetmigrate rollback ID --root /`
# What holds a phrase's words together: textwrap breaks only at ASCII white space. NUL is never
# in printed text (shown as \x00 by reports.sanitize); a no-break space where it is.
_GLUES = ("\x00", "\xa0")


def hanging(text: str, width: int, indent: str, used: int = 0, whole: tuple[str, ...] = ()) -> str:
    """`text` wrapped at `width` columns, its first line after `used` columns a heading already
    took, its further lines under `indent`. It breaks only at spaces and never inside a command
    quoted in backticks, nor inside any of `whole` (a command with its arguments, unquoted): a
    path, id, option or command is never split (one longer than the line stands alone on it),
    so a copied one is whole. Plan's text and the other results at 80 columns, and messages on
    standard error at the terminal's width, wrap through this one function."""
    import textwrap  # only text that is printed wraps; most commands' JSON never needs it

    glue = next((g for g in _GLUES if g not in text), None)
    if glue is not None:
        for phrase in whole:
            text = text.replace(phrase, phrase.replace(" ", glue))
        text = _QUOTED.sub(lambda m: m.group().replace(" ", glue), text)
    wrapped = textwrap.fill(text, width, initial_indent=" " * used, subsequent_indent=indent,
                            break_on_hyphens=False, break_long_words=False)[used:]
    return wrapped.replace(glue, " ") if glue is not None else wrapped
