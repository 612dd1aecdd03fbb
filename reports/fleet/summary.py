"""One host's scan envelope reduced to what the fleet report shows about that host.

The envelope (often 5-50 kB with its facts and evidence) is dropped as soon as its summary is
made: a fleet of 10,000 hosts keeps 10,000 of these small records, never the envelopes.
"""

from __future__ import annotations

import sys
from typing import Any

from vnetmigrate.dataclass_code import dataclass

UNKNOWN = "unknown"
NOT_INSTALLED = "not installed"
NO_BACKEND = "none"  # libvirt can use neither backend (scan's effective_backend null)


_SHARED: dict[tuple, tuple] = {}


def _shared(findings: tuple) -> tuple:
    """One tuple per distinct list of findings, and interned strings in it: 10,000 hosts have a
    handful of different lists of findings, so the fleet keeps a handful, not 10,000."""
    return _SHARED.setdefault(findings, findings)


def verdict_key(verdict: str) -> str:
    """The verdict without its details: "cannot tell yet: 2 part(s) ..." -> "cannot tell yet",
    "ready: guests keep working ..." -> "ready", "do not upgrade yet (incomplete: ...)" -> "do not upgrade yet",
    "guests are broken now; fix the blockers ..." -> "guests are broken now"."""
    return verdict.split(" (", 1)[0].split(":", 1)[0].split(";", 1)[0].strip()


@dataclass(frozen=True)
class HostSummary:
    """One host of a fleet report: its scan, summarised."""

    label: str  # how the fleet report names the host: hostname, with its netns/root when scanned there
    identity: tuple[str | None, str | None, str | None]  # (hostname, netns, root): one host, one scan
    source: str  # the file or evidence directory it came from, as given
    status: str  # ok, warnings, blockers
    exit_code: int
    verdict: str
    collected_at: str | None
    counts: tuple[int, int, int]  # blockers, warnings, infos
    findings: tuple[tuple[str, str, str], ...]  # (id, severity, title), most severe first
    matrix_now: int | None
    matrix_after: int | None
    libvirt_version: str
    backend: str  # the backend libvirt uses now
    backend_after: str  # the backend after the upgrade (scan's after_upgrade_backend)
    scan_errors: int  # parts of the host the scan could not read
    report: str | None = None  # the host's own HTML report, when the fleet command wrote one

    @property
    def verdict_key(self) -> str:
        return verdict_key(self.verdict)

    def blockers(self) -> list[str]:
        return [fid for fid, sev, _ in self.findings if sev == "blocker"]


def summarise(doc: dict[str, Any], source: str) -> HostSummary:
    """`doc` is a checked scan envelope (reports.saved.check_scan, or a fresh analysis)."""
    data = doc["data"]
    host = data["host"]
    hostname, netns, root = host.get("hostname"), host.get("netns"), host.get("root")
    if root == "/":
        root = None
    label = hostname or source
    if netns:
        label += f" netns={netns}"
    if root:
        label += f" root={root}"
    libvirt = data["facts"].get("libvirt") or None
    if libvirt is None:
        version, backend, after = UNKNOWN, UNKNOWN, UNKNOWN
    else:
        version = libvirt.get("version") or (NOT_INSTALLED if libvirt.get("installed") is False else UNKNOWN)
        backend = libvirt.get("effective_backend") or NO_BACKEND
        after = libvirt.get("after_upgrade_backend") or (NO_BACKEND if "after_upgrade_backend" in libvirt else UNKNOWN)
    summary = data["summary"]
    return HostSummary(
        label=label,
        identity=(hostname, netns, root) if hostname else (source, None, None),
        source=source,
        status=doc["status"],
        exit_code=int(doc["exit_code"]),
        verdict=data["verdict"],
        collected_at=host.get("collected_at"),
        counts=(summary["blocker"], summary["warning"], summary["info"]),
        findings=_shared(tuple((sys.intern(f["id"]), sys.intern(f["severity"]), sys.intern(f["title"]))
                               for f in data["findings"])),
        matrix_now=data["matrix"]["now"],
        matrix_after=data["matrix"]["after"],
        libvirt_version=sys.intern(version),
        backend=sys.intern(backend),
        backend_after=sys.intern(after),
        scan_errors=len(doc["errors"]),
    )
