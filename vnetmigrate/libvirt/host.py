"""Ownership of a host's live firewall objects, from its evidence and facts.

The adapter between the scan pipeline (Evidence -> HostFacts) and ownership.classify():
active networks come from libvirt's status files (/run/libvirt/network/*.xml) with the
backend their removal recipe names (no recipe: libvirt <= 10.3, iptables; a recipe-less
network of a newer libvirt keeps the backend libvirt uses now); inactive ones from the
definitions (/etc/libvirt/qemu/networks/*.xml). The model version is the registered one
nearest below the host's libvirt.

A restart pending: network.conf names another backend than an active network's status file
(`vnetmigrate migrate --no-restart`, or the setting edited and no daemon restarted since).
libvirt moves that network's rules at its next restart; until then its rules may be in
either backend, so both are expected (none is a leftover to delete), and rules are reported
missing only in the backend that holds more of them (the configured one on a tie).
"""

from __future__ import annotations

import dataclasses

from vnetmigrate.errors import InputError
from vnetmigrate.evidence import Evidence
from vnetmigrate.libvirt.model import Network
from vnetmigrate.libvirt.ownership import Owner, Ownership, classify
from vnetmigrate.libvirt.versions import Backend, resolve
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


def host_ownership(ev: Evidence, facts, networks=None) -> tuple[Ownership, list[str]]:
    """Classify the live state of a scanned host (`facts`: vnetmigrate.facts.HostFacts).
    `networks`: what host_networks() returned for this host, when the caller already has it."""
    lv = facts.libvirt
    version_tuple = lv.version if lv is not None else None
    current = lv.effective.backend if lv is not None else None
    active, known, problems = networks or host_networks(ev, version_tuple, current)
    problems = list(problems)
    version, notice = resolve(tuple(version_tuple[:2]) if version_tuple else None)
    if notice:
        problems.append(notice)
    saves = list(facts.iptables.saves) if facts.iptables is not None else []
    pending = restart_pending(lv)
    if not pending:
        return classify(active, version, iptables=saves, nft=facts.nft, known=known), problems
    configured = Backend(lv.configured_backend)
    both = active + [(n, configured) for n, _b in active if n.name in pending]
    own = classify(both, version, iptables=saves, nft=facts.nft, known=known)
    return _pending(own, pending, configured), problems


def restart_pending(lv) -> dict[str, str]:
    """Active networks whose status file names another backend than network.conf sets:
    {network: the status file's backend} (`lv`: vnetmigrate.facts.libvirt.LibvirtFacts)."""
    if lv is None or lv.configured_backend is None or lv.effective.backend != lv.configured_backend:
        return {}
    return {n.name: n.status_backend for n in lv.active_networks
            if n.creates_rules and n.status_backend and n.status_backend != lv.configured_backend}


def _backend_of(where: str) -> Backend:
    return Backend.NFTABLES if where.split()[0] in ("ip", "ip6") else Backend.IPTABLES


def _pending(own: Ownership, pending: dict[str, str], configured: Backend) -> Ownership:
    """`own` classified with each pending network in both backends: keep the missing rules of
    the backend that holds more of the network's rules, and say why the configured one's count."""
    def share(net: str, backend: Backend) -> float:
        present = sum(1 for i in own.items if i.kind == "rule" and i.network == net and i.owner is Owner.EXPECTED
                      and _backend_of(i.where) is backend)
        missing = sum(1 for m in own.missing if m.network == net and m.backend is backend)
        return present / (present + missing) if present + missing else 0.0

    holds = {net: configured if share(net, configured) >= share(net, Backend(old)) else Backend(old)
             for net, old in pending.items()}
    missing = tuple(m for m in own.missing if m.network not in holds or m.backend is holds[m.network])
    items = tuple(dataclasses.replace(i, reason=f"needed by active network {i.network} in the {configured.value} "
                                                 "backend network.conf names, pending a restart of libvirt's "
                                                 "network daemon")
                  if i.network in holds and i.owner is Owner.EXPECTED and _backend_of(i.where) is configured else i
                  for i in own.items)
    return dataclasses.replace(own, items=items, missing=missing)
