"""What every renderer shows, read from the scan envelope (the JSON `scan --format json` prints).

Renderers take the envelope dict, never Python objects, so a live scan and a saved one render
alike. The wording shared by the formats lives here so they cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Any

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.matrix import ROWS
from vnetmigrate.reports.sanitize import printable  # noqa: F401  (re-exported: renderers import it from here)
from vnetmigrate.words import names, plural, shorten_lists

MATRIX_TITLE = "Compatibility matrix (Fedora 41 change)"
MATRIX_COLUMNS = ("#", "kernel module", "firewall mgmt userspace", "libvirt backend", "result", "this host")
SEVERITIES = ("blocker", "warning", "info")  # most severe first
SEVERITY_HEADINGS = {"blocker": "Blockers", "warning": "Warnings", "info": "Information"}
PLACEMENTS = (("now", "now"), ("after", "after the switch"))
COORDINATES = ("kernel", "userspace", "backend")
COORDINATE_LABELS = {"kernel": "kernel", "userspace": "userspace", "backend": "libvirt backend"}
REPAIRABLE = "repair can apply this"  # shown only where this vnetmigrate's `repair` has the remedy


def can_repair(finding: dict, workaround: dict) -> bool:
    """Whether `vnetmigrate repair` (of this version) applies this workaround: the check marks
    it repairable and the repair command has a remedy for the finding (a saved scan of a newer
    version may mark more than this one can do)."""
    if not workaround.get("repairable"):
        return False
    from vnetmigrate.usecases.repair import repairable_ids

    return finding.get("id") in repairable_ids()


@dataclass(frozen=True)
class MatrixRow:
    """One row of the compatibility matrix as the reports show it, and where this host is."""

    number: int
    cells: tuple[str, str, str, str]  # kernel module, userspace, libvirt backend, result
    marks: tuple[str, ...]  # "now" and/or the after label: where this host is

    @property
    def highlighted(self) -> bool:
        return bool(self.marks)


def matrix_rows(data: dict[str, Any], after_label: str = "after the switch") -> list[MatrixRow]:
    now, after = data["matrix"]["now"], data["matrix"]["after"]
    return [MatrixRow(number, cells, tuple(m for m, r in (("now", now), (after_label, after)) if r == number))
            for number, cells in ROWS.items()]


def placements(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, placement) for now and after the switch; a placement has row, note and coordinates."""
    return [(label, data["matrix"]["detail"][key]) for key, label in PLACEMENTS]


def row_label(placement: dict[str, Any]) -> str:
    return f"row {placement['row']}" if placement["row"] else "no row"


def host_line(data: dict[str, Any]) -> str:
    host = data["host"]
    parts = [f"host: {host.get('hostname')}"]
    if host.get("netns"):
        parts.append(f"namespace {host['netns']}")
    if host.get("root") not in (None, "/"):
        parts.append(f"root {host['root']}")
    if host.get("source") == "saved":
        parts.append("from saved evidence")
    return ", ".join(parts)


def counts(doc: dict[str, Any]) -> str:
    """"4 blockers, 2 warnings, 1 info" (or "no findings")."""
    summary = doc["data"]["summary"]
    return ", ".join(plural(summary[s], s) for s in SEVERITIES if summary.get(s)) or "no findings"


def counts_line(doc: dict[str, Any]) -> str:
    return f"{counts(doc)}; exit code {doc['exit_code']}"


def next_step(doc: dict[str, Any]) -> str:
    """What to do after reading the report, for its status."""
    if doc["status"] == "blockers":
        return ("Next: apply the first workaround of each blocker, then rerun `vnetmigrate scan`; "
                "`vnetmigrate plan` previews a migration.")
    if doc["status"] == "warnings":
        return ("Next: read the warnings (their workarounds are optional but advised), then rerun "
                "`vnetmigrate scan`; `vnetmigrate plan` previews a migration.")
    return "Next: `vnetmigrate plan` previews a migration; nothing needs fixing first."


def placement_line(label: str, p: dict[str, Any]) -> str:
    """"now: row 2 — nftables kernel, iptables userspace, iptables libvirt backend: works for ..."."""
    coords = ", ".join(f"{p[n]['value'] or 'unknown'} {COORDINATE_LABELS[n]}" for n in COORDINATES)
    result = f": {p['result']}" if p.get("result") else ""
    note = f" ({p['note']})" if p["note"] else ""
    return f"{label}: {row_label(p)} — {coords}{result}{note}"


def placement_reasons(data: dict[str, Any], key: str, everything: bool = False) -> list[tuple[str, str]]:
    """(coordinate, reason) worth showing under a placement line: what changes between now and
    after (the switch itself), or the backend's reason when nothing does; all with `everything`."""
    detail = data["matrix"]["detail"]
    if everything:
        return [(n, detail[key][n]["reason"]) for n in COORDINATES]
    changed = [n for n in COORDINATES if detail["now"][n]["value"] != detail["after"][n]["value"]]
    return [(n, detail[key][n]["reason"]) for n in (changed or ["backend"])]


_NUMBERED = re.compile(r"^(?P<place>.+?) (?:rule|handle) \d+$")  # iptables' rule N, nft's handle N
CODE_KINDS = ("rule", "chain", "table", "file", "command")  # evidence whose place is a name to copy
REPEAT_AT = 4  # this many alike evidence lines or more become one line with a count


@dataclass(frozen=True)
class EvidenceLine:
    """One line of a finding's evidence as the reports show it."""

    where: str
    detail: str
    kind: str = ""
    count: int = 1  # > 1: a summary of `count` alike lines (the JSON keeps them all)


_PER_NETWORK = re.compile(r"^(?P<place>.+?): network (?P<name>\S+) \([^()]*\)$")  # a probe's "now: network N (BR)"


def _alike(ev: dict[str, Any]) -> tuple[str, str, str | None]:
    """What makes evidence lines alike: rules of one chain, or networks whose probes found the same."""
    if m := _NUMBERED.match(ev["where"]):
        return ev["kind"], m.group("place"), None
    if m := _PER_NETWORK.match(ev["where"]):
        return ev["kind"], m.group("place"), ev["detail"]
    return ev["kind"], ev["where"], None


def evidence_lines(f: dict[str, Any]) -> list[EvidenceLine]:
    """A finding's evidence for reading: many rules of one chain, or many networks with the same
    result (or other alike lines), become one line with a count, shown where the first of them
    was; JSON keeps the full list."""
    groups: dict[tuple[str, str, str | None], list[dict[str, Any]]] = {}
    for ev in f["evidence"]:
        groups.setdefault(_alike(ev), []).append(ev)
    out, done = [], set()
    for ev in f["evidence"]:
        key = _alike(ev)
        alike = groups[key]
        if len(alike) < REPEAT_AT:
            out.append(EvidenceLine(ev["where"], ev["detail"], ev["kind"]))
        elif key not in done:
            done.add(key)
            if key[2] is not None:  # networks alike: their names, summarised
                nets = names(_PER_NETWORK.match(x["where"]).group("name") for x in alike)
                out.append(EvidenceLine(f"{key[1]}: {plural(len(alike), 'network')} ({nets})", ev["detail"],
                                        ev["kind"], len(alike)))
                continue
            noun = plural(len(alike), ev["kind"] or "line")
            out.append(EvidenceLine(f"{noun} in {key[1]}", f"first: {ev['detail']}" if ev["detail"] else "",
                                    ev["kind"], len(alike)))
    return out


COMMANDS_LONG = 50  # more commands than this are cut (libvirt's leftovers need up to ~40, all shown)
COMMANDS_SHOWN = 10  # then this many are shown before "... more"


def shown_commands(w: dict[str, Any]) -> tuple[list[str], int]:
    """(the commands to print, how many are left out): a workaround with one command per
    network can hold a thousand; the text shows the first ones and says where the rest are."""
    cmds = w["commands"]
    if len(cmds) <= COMMANDS_LONG:
        return list(cmds), 0
    return list(cmds[:COMMANDS_SHOWN]), len(cmds) - COMMANDS_SHOWN


def more_commands(hidden: int) -> str:
    return f"... and {plural(hidden, 'more command')} (--format json lists them all)"


def findings_by_severity(data: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(severity, findings) for each severity that has findings, most severe first."""
    groups = [(s, [f for f in data["findings"] if f["severity"] == s]) for s in SEVERITIES]
    return [(s, found) for s, found in groups if found]


def is_web_link(link: str) -> bool:
    # Only these become clickable: a saved scan could carry javascript: or file: "links".
    return link.startswith(("https://", "http://")) and not any(c.isspace() or c in '<>"' for c in link)


_TICKED = re.compile(r"`([^`]+)`")


def inline_parts(text: str) -> list[tuple[bool, str]]:
    """`text` split into (is_code, part): the names written in backticks in checks' wording
    become code in HTML and Markdown instead of showing their backticks."""
    out, at = [], 0
    for m in _TICKED.finditer(text):
        if m.start() > at:
            out.append((False, text[at:m.start()]))
        out.append((True, m.group(1)))
        at = m.end()
    if at < len(text):
        out.append((False, text[at:]))
    return out


def human_time(iso: str | None) -> str | None:
    """"2026-12-06T10:52:08+00:00" -> "6 Dec 2026, 10:52 UTC"; unparsable text as it is."""
    from datetime import datetime, timezone

    if not iso:
        return None
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if t.tzinfo is not None:
        t = t.astimezone(timezone.utc)
    return f"{t.day} {t:%b %Y, %H:%M} UTC"


def title(f: dict[str, Any]) -> str:
    """A finding's title as read: a list of 500 networks is "net0, ..., net4 and 495 more" (the
    JSON keeps every name)."""
    return shorten_lists(f["title"])


def summary(f: dict[str, Any]) -> str:
    return shorten_lists(f["summary"])


ALIKE_FINDINGS = 5  # more findings of one id than this (one per network): the first, then a count


def collapsed(findings: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """(finding, how many more of its id are not shown) for reading: a check that finds the same
    thing on 500 networks gives 500 findings; the first stands for them (JSON keeps them all)."""
    counts: dict[str, int] = {}
    for f in findings:
        counts[f["id"]] = counts.get(f["id"], 0) + 1
    out, seen = [], set()
    for f in findings:
        n = counts[f["id"]]
        if n <= ALIKE_FINDINGS:
            out.append((f, 0))
        elif f["id"] not in seen:
            seen.add(f["id"])
            out.append((f, n - 1))
    return out


def more_findings(f: dict[str, Any], hidden: int) -> str:
    return f"... and {hidden} more {f['id']} findings like this one (--format json lists them all)"


def blockers(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in data["findings"] if f["severity"] == "blocker"]


def kept_lines(kept: tuple[str, ...] | list[str]) -> list[str]:
    """The rules a migration keeps in libvirt's containers (not libvirt's): each on a line, or
    one line with the count when there are many (the JSON lists them all)."""
    if len(kept) < REPEAT_AT:
        return [f"kept (not libvirt's rule in its container): {where}" for where in kept]
    places = sorted({m.group("place") if (m := _NUMBERED.match(w)) else w for w in kept})
    return [f"kept {plural(len(kept), 'rule')} that are not libvirt's, in {', '.join(places)} (--format json lists them)"]
