"""nftables.service: enabled, and what its configuration does on every (re)load."""

from __future__ import annotations

import re

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.evidence import Evidence
from vnetmigrate.specs import NFTABLES_CONFS, NFTABLES_INCLUDE_DIRS
from vnetmigrate.facts.units import Units

_FLUSH = re.compile(r"^\s*flush\s+ruleset\b")
_POLICY = re.compile(r"hook\s+(input|forward)\b.*\bpolicy\s+(drop|reject)\b")
_TABLE = re.compile(r"^\s*(?:add\s+)?table\s+(ip|ip6|inet|arp|bridge|netdev)\s+([A-Za-z0-9_.-]+)\b")


@dataclass(frozen=True)
class Line:
    """A line of a file, for evidence."""
    path: str
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class NftablesServiceFacts:
    """nftables.service: its state and what its configuration flushes."""
    enabled: bool
    active: bool | None
    config: str | None  # the configuration file found
    flush_lines: tuple[Line, ...]
    drop_policies: tuple[Line, ...]  # base chains on input/forward with a drop/reject policy
    tables: tuple[str, ...] = ()  # the tables its configuration defines ("inet filter"), in order

    @property
    def in_use(self) -> bool:
        return self.enabled or bool(self.active)


def build(ev: Evidence, units: Units) -> NftablesServiceFacts:
    config = next((p for p in NFTABLES_CONFS if ev.text(p) is not None), None)
    sources = [p for p in NFTABLES_CONFS if ev.text(p) is not None]
    sources += [r.path for d in NFTABLES_INCLUDE_DIRS for r in ev.files_in(d, ".nft")]
    flush, policies, tables = [], [], []
    for path in sources:
        for n, raw in enumerate((ev.text(path) or "").splitlines(), 1):
            code = raw.split("#", 1)[0]
            if _FLUSH.match(code):
                flush.append(Line(path, n, raw.strip()))
            m = _POLICY.search(code)
            if m:
                policies.append(Line(path, n, raw.strip()))
            t = _TABLE.match(code)
            if t and f"{t.group(1)} {t.group(2)}" not in tables:
                tables.append(f"{t.group(1)} {t.group(2)}")
    state = units.get("nftables.service")
    return NftablesServiceFacts(enabled=bool(state and state.enabled), active=state.active if state else None,
                                config=config, flush_lines=tuple(flush), drop_policies=tuple(policies),
                                tables=tuple(tables))
