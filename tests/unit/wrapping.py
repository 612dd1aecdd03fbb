"""What tests read of text vnetmigrate wraps for 80 columns (vnetmigrate.words.hanging): errors,
hints and notes on standard error (cli/policy.say_on_stderr) and the results of migrate,
rollback, repair and history (reports/txn_terminal.py).

`unwrapped` puts each wrapped message back on one line, so a test that asserts "one error and
its hint" or a message's exact words keeps asserting them; `fits` is what the wrapping is for.
"""

from __future__ import annotations

import re

# A wrapped message's further lines start with its indent and a word; wrapping breaks only at a
# single space between words, so one space puts the line back.
_CONTINUED = re.compile(r"\n {2,}(?=\S)")


def unwrapped(text: str) -> str:
    """`text` with every line that starts with two or more spaces joined to the line before it.
    Only for messages that have no indented lines of their own (errors, hints, notes)."""
    return _CONTINUED.sub(" ", text)


def too_wide(text: str, width: int = 80) -> list[str]:
    """The lines of `text` wider than `width`, but for a line that is one word after its indent
    (a path or id longer than the line has nowhere to break, and stays whole to copy)."""
    return [line for line in text.splitlines() if len(line) > width and len(line.split()) > 1]


def words(text: str) -> list[str]:
    """The words of `text` in order: what wrapping must keep (it only changes the spaces)."""
    return text.split()
