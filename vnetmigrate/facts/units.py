"""systemd unit states: from `systemctl show` where systemd runs, else from unit symlinks."""

from __future__ import annotations

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.evidence import Evidence
from vnetmigrate.specs import SYSTEMCTL_SHOW, WANTS, WANTS_T

ENABLED_STATES = ("enabled", "enabled-runtime", "linked", "linked-runtime", "alias")


@dataclass(frozen=True)
class UnitState:
    """A systemd unit's state (None: unknown)."""
    name: str
    loaded: bool | None  # None: unknown (no systemd to ask)
    enabled: bool
    active: bool | None  # None: unknown without a running systemd
    source: str  # "systemctl" or "files"

    @property
    def describe(self) -> str:
        parts = ["enabled" if self.enabled else "not enabled"]
        if self.active is not None:
            parts.append("active" if self.active else "inactive")
        return f"{self.name}: {', '.join(parts)} (from {self.source})"


@dataclass(frozen=True)
class Units:
    """The systemd units read, by name."""
    states: dict[str, UnitState]

    def get(self, name: str) -> UnitState | None:
        return self.states.get(name)

    def enabled(self, name: str) -> bool:
        s = self.states.get(name)
        return bool(s and s.enabled)

    def active(self, name: str) -> bool | None:
        s = self.states.get(name)
        return s.active if s else None

    def in_use(self, name: str) -> bool:
        """Enabled, or known to be running."""
        s = self.states.get(name)
        return bool(s and (s.enabled or s.active))


def parse_show(text: str) -> dict[str, UnitState]:
    """`systemctl show --property=Id,LoadState,UnitFileState,ActiveState UNIT...` output:
    key=value lines, one block per unit, blocks separated by an empty line."""
    states = {}
    for block in text.strip().split("\n\n"):
        values = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        name = values.get("Id")
        if not name:
            continue
        states[name] = UnitState(
            name=name, loaded=values.get("LoadState") == "loaded",
            enabled=values.get("UnitFileState") in ENABLED_STATES,
            active=values.get("ActiveState") in ("active", "activating", "reloading"), source="systemctl")
    return states


def build(ev: Evidence) -> Units:
    rec = ev.command(SYSTEMCTL_SHOW)
    if rec is not None and rec.ok:
        return Units(parse_show(rec.stdout))
    states = {}
    for wants in WANTS:
        for name in ev.listing(WANTS_T.format(wants=wants)) or []:
            if name.endswith(".service"):
                states[name] = UnitState(name, None, True, None, "files")
    return Units(states)
