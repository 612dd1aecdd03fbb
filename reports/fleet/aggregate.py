"""Host summaries and per-file errors -> the fleet envelope (reports/schemas/fleet-v1.schema.json).

Duplicates: one host scanned twice (same hostname, netns and root) counts once, with its
newest scan (by collected_at; the first given on a tie); the other file is listed as an error
naming the one kept, so nobody wonders where a host's second file went.

Exit code: the worst host's, as its own scan exits (0 ready, 3 warnings, 4 blockers). A host
file that could not be read counts as "cannot tell yet" (3), as a part scan could not read
does: a fleet with an unread host is never reported ready.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from vnetmigrate.errors import InputError
from vnetmigrate.exitcodes import ExitCode
from vnetmigrate.reports.envelope import envelope
from vnetmigrate.reports.fleet.summary import HostSummary
from vnetmigrate.reports.fleet.view import error_line

SEVERITIES = ("blocker", "warning", "info")
STATUS_RANK = {"ok": 0, "warnings": 1, "blockers": 2}
STATUS_EXIT = {"ok": ExitCode.OK, "warnings": ExitCode.WARNINGS, "blockers": ExitCode.BLOCKERS}
# The verdicts scan gives, worst first; the fleet lists them in this order.
VERDICT_ORDER = ("guests are broken now", "do not upgrade yet", "cannot tell yet", "ready after these steps",
                 "no switch pending", "ready")
NO_ROW = "none"  # the host fits no row of the matrix


class Fleet:
    """Collects hosts one at a time; `envelope()` makes the report once all are in."""

    def __init__(self) -> None:
        self._hosts: dict[tuple, HostSummary] = {}
        self.errors: list[dict[str, str]] = []
        self.files = 0

    def add(self, host: HostSummary) -> HostSummary | None:
        """Keep `host` unless it duplicates a newer one; returns the summary it displaced or refused, if any."""
        self.files += 1
        kept = self._hosts.get(host.identity)
        if kept is None:
            self._hosts[host.identity] = host
            return None
        if (host.collected_at or "") > (kept.collected_at or ""):
            self._hosts[host.identity] = host
            self._duplicate(kept, host)
            return kept
        self._duplicate(host, kept)
        return host

    def _duplicate(self, dropped: HostSummary, kept: HostSummary) -> None:
        why = "a newer scan" if (kept.collected_at or "") > (dropped.collected_at or "") else "given first"
        self.errors.append({"unit": dropped.source,
                            "message": f"a second scan of host {dropped.label}: {kept.source} is kept ({why})"})

    def add_error(self, source: str, message: str) -> None:
        self.files += 1
        self.errors.append({"unit": source, "message": message})

    def is_kept(self, host: HostSummary) -> bool:
        return self._hosts.get(host.identity) is host

    @property
    def hosts(self) -> list[HostSummary]:
        """Worst first (blockers, then warnings, then ready), then by name."""
        return sorted(self._hosts.values(), key=lambda h: (-STATUS_RANK[h.status], h.label))

    def status(self) -> str:
        worst = max((STATUS_RANK[h.status] for h in self._hosts.values()), default=0)
        if self.errors:
            worst = max(worst, STATUS_RANK["warnings"])
        return {2: "blockers", 1: "warnings", 0: "ok"}[worst]

    def envelope(self) -> dict[str, Any]:
        if not self._hosts:
            first = f": {error_line(self.errors[0])}" if self.errors else ""
            raise InputError(f"no host scan could be read among {self.files} file(s){first}",
                             hint="give files written by `vnetmigrate scan --format json`, directories of them, "
                                  "or evidence saved by `scan --save-evidence`")
        status = self.status()
        return envelope("fleet", status, STATUS_EXIT[status], self.data(), self.errors)

    def data(self) -> dict[str, Any]:
        hosts = self.hosts
        findings = _findings(hosts)
        finding_order = [f["id"] for f in findings]
        return {
            "host_count": len(hosts),
            "file_count": self.files,
            "error_count": len(self.errors),
            "by_status": _group(hosts, lambda h: [h.status], order=("blockers", "warnings", "ok")),
            "by_verdict": _group(hosts, lambda h: [h.verdict_key], order=VERDICT_ORDER),
            "by_finding": _group(hosts, lambda h: sorted({f[0] for f in h.findings}), order=finding_order),
            "by_blocker": _group(hosts, lambda h: sorted(set(h.blockers())), order=finding_order),
            "findings": findings,
            "by_matrix_row": {
                "now": _group(hosts, lambda h: [_row(h.matrix_now)], order=_ROWS),
                "after": _group(hosts, lambda h: [_row(h.matrix_after)], order=_ROWS),
                "moves": _group(hosts, lambda h: [f"{_row(h.matrix_now)} -> {_row(h.matrix_after)}"]),
            },
            "by_libvirt_version": _group(hosts, lambda h: [h.libvirt_version], order=_versions(hosts)),
            "by_backend": {
                "now": _group(hosts, lambda h: [h.backend]),
                "after": _group(hosts, lambda h: [h.backend_after]),
            },
            "hosts": [_host_row(h) for h in hosts],
        }


_ROWS = tuple(str(n) for n in range(1, 6)) + (NO_ROW,)


def _row(row: int | None) -> str:
    return NO_ROW if row is None else str(row)


def _group(hosts: list[HostSummary], keys, order: tuple[str, ...] | list[str] = ()) -> dict[str, list[str]]:
    """{key: [host labels]} with keys in `order` first, the rest by how many hosts, then by name."""
    groups: dict[str, list[str]] = defaultdict(list)
    for h in hosts:
        for key in keys(h):
            groups[key].append(h.label)
    rank = {k: i for i, k in enumerate(order)}
    ordered = sorted(groups, key=lambda k: (rank.get(k, len(rank)), -len(groups[k]), k))
    return {k: groups[k] for k in ordered}


def _findings(hosts: list[HostSummary]) -> list[dict[str, Any]]:
    """Each finding id once: its severity, title and how many hosts have it; most severe, then commonest first."""
    seen: dict[str, tuple[str, str]] = {}
    count: Counter[str] = Counter()
    for h in hosts:
        for fid, sev, title in h.findings:
            seen.setdefault(fid, (sev, title))
        count.update({f[0] for f in h.findings})
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    ids = sorted(seen, key=lambda i: (rank.get(seen[i][0], len(rank)), -count[i], i))
    return [{"id": i, "severity": seen[i][0], "title": seen[i][1], "hosts": count[i]} for i in ids]


def _versions(hosts: list[HostSummary]) -> list[str]:
    """Version numbers newest first (numerically: 11.3.0 after 9.0.0), then unknown ones."""
    def key(v: str) -> tuple:
        parts = v.split(".")
        return (0, [-int(p) for p in parts]) if all(p.isdigit() for p in parts) else (1, [])
    return sorted({h.libvirt_version for h in hosts}, key=key)


def _host_row(h: HostSummary) -> dict[str, Any]:
    return {
        "host": h.label, "source": h.source, "report": h.report, "status": h.status, "exit_code": h.exit_code,
        "verdict": h.verdict, "collected_at": h.collected_at,
        "summary": dict(zip(SEVERITIES, h.counts)),
        "blockers": h.blockers(),
        "findings": [fid for fid, _, _ in h.findings],
        "matrix": {"now": h.matrix_now, "after": h.matrix_after},
        "libvirt_version": h.libvirt_version, "backend": h.backend, "backend_after": h.backend_after,
        "scan_errors": h.scan_errors,
    }
