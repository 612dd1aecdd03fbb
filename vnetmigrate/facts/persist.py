"""iptables-based firewall managers: iptables-services, netfilter-persistent, shorewall, ferm, csf.

Each restores its own rule set at boot (and on reload), typically with restrictive INPUT and
FORWARD policies or final REJECT rules. Under libvirt's iptables backend libvirt inserts its
ACCEPTs ahead of them in the same chains; under the nftables backend it cannot.
"""

from __future__ import annotations

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError
from vnetmigrate.evidence import Evidence
from vnetmigrate import specs
from vnetmigrate.rules.iptables_save import parse_save
from vnetmigrate.facts.units import Units


@dataclass(frozen=True)
class Restriction:
    """A saved rule that restricts forwarding, and where it is."""
    where: str  # file:line or chain
    text: str


@dataclass(frozen=True)
class PersistManager:
    """A service that restores saved iptables rules at boot."""
    name: str  # "iptables-services", "netfilter-persistent", ...
    units: tuple[str, ...]
    enabled: bool
    config: str | None
    restrictions: tuple[Restriction, ...]  # DROP policies and final REJECT/DROP rules on INPUT/FORWARD
    error: str | None = None


MANAGERS = (
    ("iptables-services", ("iptables.service", "ip6tables.service"), specs.IPTABLES_SERVICES_FILES),
    ("netfilter-persistent", ("netfilter-persistent.service",), specs.NETFILTER_PERSISTENT_FILES),
    ("shorewall", ("shorewall.service", "shorewall6.service"), (specs.SHOREWALL_CONF,)),
    ("ferm", ("ferm.service",), specs.FERM_CONFS),
    ("csf", ("csf.service", "lfd.service"), (specs.CSF_CONF,)),
)


def _restrictions(path: str, text: str) -> list[Restriction]:
    """DROP policies and unconditional final REJECT/DROP rules of INPUT/FORWARD in a saved rule set."""
    family = "ipv6" if "6" in path.rsplit("/", 1)[1] else "ipv4"
    save = parse_save(text, family, "file", origin=path)
    out = []
    filt = save.table("filter")
    for chain in ("INPUT", "FORWARD"):
        c = filt.chain(chain) if filt else None
        if c is None:
            continue
        if c.policy in ("DROP", "REJECT"):
            out.append(Restriction(f"{path} :{chain}", f"policy {c.policy}"))
        for r in c.rules:
            if r.target in ("DROP", "REJECT") and r.option("-i", "-o", "-s", "-d", "-p")[0] is None:
                out.append(Restriction(f"{path} {chain} rule {r.index}", r.text))
    return out


def build(ev: Evidence, units: Units) -> tuple[PersistManager, ...]:
    found = []
    for name, unit_names, configs in MANAGERS:
        present = [p for p in configs if ev.text(p) is not None]
        enabled = any(units.in_use(u) for u in unit_names)
        if not present and not enabled:
            continue
        restrictions, error = [], None
        if name in ("iptables-services", "netfilter-persistent"):
            for path in present:
                try:
                    restrictions += _restrictions(path, ev.text(path) or "")
                except InputError as exc:
                    error = exc.message
        found.append(PersistManager(name, unit_names, enabled, present[0] if present else None,
                                    tuple(restrictions), error))
    return tuple(found)
