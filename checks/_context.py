"""Questions many checks ask of the facts, answered once."""

from __future__ import annotations

from vnetmigrate.facts import HostFacts
from vnetmigrate.firewall import Backend

FORWARDING_MODES = ("nat", "route")


def nftables_when(facts: HostFacts) -> str | None:
    """'now' when libvirt uses its nftables backend, 'after the switch' when an upgrade would
    move it there ('after the migration' when plan or migrate judge `migrate --to nftables`),
    None when it stays on iptables."""
    lv = facts.libvirt
    if lv is None or not lv.installed:
        return None
    if lv.effective.backend == Backend.NFTABLES:
        return "now"
    if lv.after_upgrade.backend == Backend.NFTABLES:
        return "after the migration" if facts.migration_target else "after the switch"
    return None


def bridges(facts: HostFacts, modes: tuple[str, ...] | None = None) -> list[str]:
    """Bridges of libvirt's rule-creating networks (default virbr0 when none is known)."""
    lv = facts.libvirt
    nets = [n for n in (lv.networks if lv else ()) if n.creates_rules and n.bridge
            and (modes is None or n.forward_mode in modes)]
    return sorted({n.bridge for n in nets}) or (["virbr0"] if modes is None or "nat" in modes else [])

