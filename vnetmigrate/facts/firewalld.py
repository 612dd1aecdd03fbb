"""firewalld: running or not, its backend, zones, and the zone each libvirt bridge is in."""

from __future__ import annotations

from dataclasses import field

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError
from vnetmigrate.evidence import Evidence
from vnetmigrate.specs import FIREWALLD_CONF, FIREWALLD_STATE, FIREWALLD_ZONE_DIRS, FIREWALLD_ZONE_T, prefix
from vnetmigrate.rules.nft_ruleset import NftRuleset
from vnetmigrate.facts.units import Units
from vnetmigrate.libvirt.safexml import parse_xml



@dataclass(frozen=True)
class FirewalldFacts:
    """firewalld's installation, state and configured backend."""
    installed: bool
    running: bool | None  # None: cannot tell
    running_evidence: str
    backend: str  # FirewallBackend=, default nftables
    backend_line: int | None
    zones: frozenset[str]
    zone_of: dict[str, str] = field(default_factory=dict)  # interface -> zone (zone files or firewall-cmd)
    permanent_zone_of: dict[str, str] = field(default_factory=dict)  # interface -> zone, from zone files only

    @property
    def has_libvirt_zone(self) -> bool:
        return "libvirt" in self.zones


def build(ev: Evidence, units: Units, nft: NftRuleset | None, tools: dict[str, str | None]) -> FirewalldFacts:
    conf = ev.text(FIREWALLD_CONF)
    backend, line = "nftables", None
    for n, raw in enumerate((conf or "").splitlines(), 1):
        if raw.strip().startswith("FirewallBackend="):
            backend, line = raw.split("=", 1)[1].strip(), n
    running, why = None, "no way to tell"
    state = ev.command(FIREWALLD_STATE)
    if state is not None and state.returncode is not None:
        running, why = state.ok and state.stdout.strip() == "running", f"firewall-cmd --state: {state.stdout.strip() or state.stderr.strip()}"
    elif units.active("firewalld.service") is not None:
        running, why = bool(units.active("firewalld.service")), "systemctl: firewalld.service " + (
            "active" if units.active("firewalld.service") else "inactive")
    elif nft is not None:
        running = nft.table("inet", "firewalld") is not None
        why = "table inet firewalld " + ("exists" if running else "does not exist")
    zones, zone_of = set(), {}
    for directory in FIREWALLD_ZONE_DIRS:
        for rec in ev.files_in(directory, ".xml"):
            name = rec.path.rsplit("/", 1)[1][:-4]
            zones.add(name)
            try:
                root = parse_xml(rec.content or "", rec.path)
            except InputError:
                continue
            for iface in root.findall("interface"):
                if iface.get("name"):
                    zone_of.setdefault(iface.get("name"), name)
    permanent = dict(zone_of)
    for key, rec in ev.commands.items():
        if key.startswith(prefix(FIREWALLD_ZONE_T)) and rec.ok:
            zone_of[key[len(prefix(FIREWALLD_ZONE_T)):]] = rec.stdout.strip()
    installed = bool(tools.get("firewalld") or tools.get("firewall-cmd")) or conf is not None
    return FirewalldFacts(installed, running, why, backend, line, frozenset(zones), zone_of, permanent)
