"""Ownership of a host's live firewall objects, from its evidence and facts.

The adapter between the scan pipeline (Evidence -> HostFacts) and ownership.classify():
active networks come from libvirt's status files (/run/libvirt/network/*.xml) with the
backend their removal recipe names (no recipe: libvirt <= 10.3, iptables; a recipe-less
network of a newer libvirt keeps the backend libvirt uses now); inactive ones from the
definitions (/etc/libvirt/qemu/networks/*.xml). The model version is the registered one
nearest below the host's libvirt.
"""

from __future__ import annotations

from vnetmigrate.errors import InputError
from vnetmigrate.evidence import Evidence
from vnetmigrate.libvirt.model import Network
from vnetmigrate.libvirt.ownership import Ownership, classify
from vnetmigrate.libvirt.versions import Backend, nearest_version
from vnetmigrate.libvirt.xml import parse_network, parse_status

STATUS_DIR = "/run/libvirt/network"
DEFINITIONS_DIR = "/etc/libvirt/qemu/networks"
RECIPES_SINCE = (10, 4)


def host_networks(ev: Evidence, libvirt_version: tuple[int, ...] | None, current: str | None):
    """(active networks with their rules' backend, inactive known networks, problems)."""
    problems: list[str] = []
    active: list[tuple[Network, Backend]] = []
    for status in _parsed(ev, STATUS_DIR, parse_status, problems):
        if status.removal is not None:
            backend = status.removal.backend
        elif libvirt_version is not None and tuple(libvirt_version[:2]) < RECIPES_SINCE:
            backend = Backend.IPTABLES
        else:
            backend = Backend(current or "iptables")
        active.append((status.network, backend))
    names = {n.name for n, _b in active}
    known = [n for n in _parsed(ev, DEFINITIONS_DIR, parse_network, problems) if n.name not in names]
    return active, known, problems


def _parsed(ev: Evidence, directory: str, parse, problems: list[str]) -> list:
    """Each XML file of `directory` parsed; the unparsable ones noted in `problems`."""
    out = []
    for rec in ev.files_in(directory, ".xml"):
        try:
            out.append(parse(rec.content or "", rec.path))
        except InputError as exc:
            problems.append(exc.message)
    return out


def host_ownership(ev: Evidence, facts) -> tuple[Ownership, list[str]]:
    """Classify the live state of a scanned host (`facts`: vnetmigrate.facts.HostFacts)."""
    lv = facts.libvirt
    version_tuple = lv.version if lv is not None else None
    current = lv.effective.backend if lv is not None else None
    active, known, problems = host_networks(ev, version_tuple, current)
    version, exact = nearest_version(version_tuple)
    if not exact:
        shown = ".".join(map(str, version_tuple)) if version_tuple else "unknown"
        problems.append(f"libvirt {shown} is modelled as {version.version}")
    saves = list(facts.iptables.saves) if facts.iptables is not None else []
    return classify(active, version, iptables=saves, nft=facts.nft, known=known), problems
