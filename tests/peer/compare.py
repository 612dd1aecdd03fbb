"""Compare a fresh recording with the committed one, file by file, with readable diffs.

Everything is compared exactly, except the snapshots taken after a daemon restart with
several active networks (the switch scenarios' after/): libvirt re-applies the networks'
rules in the order of its hash tables, which are seeded randomly per process (seen here:
two runs of the same scenario interleave the networks differently). There the comparison
is order-free: rule lines are compared as sorted sets per chain/table block, log lines as
sorted lists, and the nft handles in status files (which follow that order) are masked.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

_HANDLE_ITEM = re.compile(r"(<item>handle</item>\s*<item>)\d+(</item>)")


def order_free(rel: str) -> bool:
    parts = Path(rel).parts
    return len(parts) >= 2 and "-switch" in parts[0] and parts[1] == "after"


def _sort_runs(lines: list[str], is_rule) -> list[str]:
    out, run = [], []
    for line in lines:
        if is_rule(line):
            run.append(line)
            continue
        out += sorted(run) + [line]
        run = []
    return out + sorted(run)


def canonical(rel: str, text: str) -> str:
    """The form in which file `rel` (relative to the recordings root) is compared."""
    if not order_free(rel):
        return text
    name = Path(rel).name
    if name.endswith(".json") and name.startswith("nft-ruleset"):
        doc = json.loads(text)
        items = sorted(json.dumps(i, sort_keys=True) for i in doc["nftables"])
        return "\n".join(items) + "\n"
    if name.endswith(".json"):
        return json.dumps(sorted(json.loads(text), key=lambda n: json.dumps(n, sort_keys=True)), indent=1)
    lines = text.splitlines()
    if name.endswith(".nft"):
        lines = _sort_runs(lines, lambda l: l.startswith("\t\t") and not l.startswith("\t\ttype "))
    elif name.endswith("tables-save.txt"):
        lines = _sort_runs(lines, lambda l: l.startswith("-A "))
    elif name.endswith(".xml"):
        return _HANDLE_ITEM.sub(r"\1N\2", text)
    else:  # logs: same lines, any order
        lines = sorted(lines)
    return "\n".join(lines) + "\n"


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def diff_dirs(expected: Path, actual: Path, prefix: str) -> str:
    """An empty string if the trees match, else a report with unified diffs. `prefix` is
    where both trees sit under the recordings root (e.g. "11.3-nftables/default")."""
    report = []
    exp, act = files(expected), files(actual)
    for rel in sorted(exp - act):
        report.append(f"missing in the new recording: {rel}")
    for rel in sorted(act - exp):
        report.append(f"new in the new recording (not committed): {rel}")
    for rel in sorted(exp & act):
        full = str(Path(prefix) / rel)
        a = canonical(full, (expected / rel).read_text())
        b = canonical(full, (actual / rel).read_text())
        if a != b:
            report.append("".join(difflib.unified_diff(
                a.splitlines(True), b.splitlines(True),
                fromfile=f"committed/{full}", tofile=f"recorded/{full}")))
    return "\n".join(report)
