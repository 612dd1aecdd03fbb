"""Questions the persistent remedies ask of the facts (repair may not import the checks)."""

from __future__ import annotations

from vnetmigrate.facts import HostFacts
from vnetmigrate.firewall import Backend, Family


def bridges(facts: HostFacts, modes: tuple[str, ...] | None = None) -> list[str]:
    """Bridges of libvirt's rule-creating networks (virbr0 when none is known), as the checks see them."""
    lv = facts.libvirt
    nets = [n for n in (lv.networks if lv else ()) if n.creates_rules and n.bridge
            and (modes is None or n.forward_mode in modes)]
    return sorted({n.bridge for n in nets}) or (["virbr0"] if modes is None or "nat" in modes else [])


def libvirt_on_nftables(facts: HostFacts) -> bool:
    lv = facts.libvirt
    return lv is not None and lv.installed and lv.effective.backend == Backend.NFTABLES


def iptables_binary(family: str, source: str = "nft") -> str:
    """The iptables variant that holds a table (never the `iptables` alternative)."""
    return f"{Family(family).iptables}-{'legacy' if source == 'legacy' else 'nft'}"
