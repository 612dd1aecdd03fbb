"""Ownership of a host's live firewall objects: the model's classification, made once per run.

Takes libvirt's networks as facts.networks parsed them (the active ones with the backend
their rules are in, the inactive known ones) and the typed rulesets, and classifies every
live table, chain and rule with vnetmigrate.libvirt.ownership. The model version is the
registered behaviour of the host's libvirt release (versions.resolve, with its 'modelled as'
notice when the model is not exact for it).

A restart pending: network.conf names another backend than an active network's status file
(`vnetmigrate migrate --no-restart`, or the setting edited and no daemon restarted since).
libvirt moves that network's rules at its next restart; until then its rules may be in
either backend, so both are expected (none is a leftover to delete), and rules are reported
missing only in the backend that holds more of them (the configured one on a tie).
"""

from __future__ import annotations

import dataclasses

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.rules.iptables_save import IptablesSave
from vnetmigrate.facts.libvirt import LibvirtFacts
from vnetmigrate.facts.networks import LibvirtNetworks
from vnetmigrate.rules.nft_ruleset import NftRuleset
from vnetmigrate.libvirt.model import Network
from vnetmigrate.libvirt.ownership import Owner, Ownership, classify
from vnetmigrate.libvirt.versions import Backend, resolve


@dataclass(frozen=True)
class HostOwnership:
    """The model's classification of libvirt's live tables, chains and rules (see
    vnetmigrate.libvirt.ownership), with notes on how it was made (the modelled version)."""

    ownership: Ownership
    notes: tuple[str, ...] = ()
    # The active networks as the model parsed them from their status files: what the packet
    # evaluator needs to simulate libvirt's nftables tables after a backend switch.
    active: tuple[Network, ...] = ()


def build(networks: LibvirtNetworks, lv: LibvirtFacts | None, saves: list[IptablesSave],
          nft: NftRuleset | None) -> HostOwnership:
    """Classify the live state of a scanned host."""
    version_tuple = lv.version if lv is not None else None
    problems = list(networks.problems)
    version, notice = resolve(tuple(version_tuple[:2]) if version_tuple else None)
    if notice:
        problems.append(notice)
    active, known = networks.pairs, list(networks.known)
    pending = restart_pending(lv)
    if not pending:
        own = classify(active, version, iptables=saves, nft=nft, known=known)
    else:
        configured = Backend(lv.configured_backend)
        both = active + [(n, configured) for n, _b in active if n.name in pending]
        own = _pending(classify(both, version, iptables=saves, nft=nft, known=known), pending, configured)
    return HostOwnership(own, tuple(problems), tuple(networks.networks))


def restart_pending(lv) -> dict[str, Backend]:
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
