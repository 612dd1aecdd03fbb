"""What checks return: findings with severity, evidence and workarounds as exact commands."""

from __future__ import annotations

from dataclasses import asdict, field
from enum import Enum
from typing import Any

from vnetmigrate.dataclass_code import dataclass


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    BLOCKER = "blocker"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "blocker": 2}[self.value]


@dataclass(frozen=True)
class Citation:
    """Where a finding comes from: a rule, a chain, a file line, a command, a fact (the report's
    "evidence" lines; not the collected vnetmigrate.evidence.Evidence a finding is derived from)."""

    kind: str  # "rule", "chain", "table", "file", "command", "fact"
    where: str  # e.g. "ip filter FORWARD", "/etc/libvirt/network.conf:12"
    detail: str = ""


@dataclass(frozen=True)
class Workaround:
    """What the admin can do about a finding, and the commands for it."""
    hint: str
    commands: tuple[str, ...] = ()
    repairable: bool = False  # `vnetmigrate repair` can apply it
    id: str | None = None


@dataclass(frozen=True)
class Finding:
    """What a check found: its id, severity, title, evidence and workaround."""
    id: str
    severity: Severity
    title: str
    summary: str = ""
    evidence: tuple[Citation, ...] = ()
    workarounds: tuple[Workaround, ...] = ()
    links: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["severity"] = self.severity.value
        for key in ("evidence", "workarounds", "links"):
            d[key] = [dict(x) if isinstance(x, dict) else x for x in d[key]]
        for w in d["workarounds"]:
            w["commands"] = list(w["commands"])
        return d
