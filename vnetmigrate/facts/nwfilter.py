"""libvirt's nwfilter: per-guest filters that use iptables/ebtables whatever the network backend."""

from __future__ import annotations

import re

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.evidence import Evidence
from vnetmigrate.specs import DOMAIN_DEFINITIONS, NWFILTER_DEFINITIONS
from vnetmigrate.rules.iptables_save import IptablesSave
from vnetmigrate.rules.nft_ruleset import NftRuleset

_FILTERREF = re.compile(r"<filterref\s+filter=['\"]([^'\"]+)['\"]")


@dataclass(frozen=True)
class NwfilterFacts:
    """libvirt's nwfilter: the guests that use it, custom filters, its live chains."""
    guests: dict[str, tuple[str, ...]]  # domain XML path -> filters referenced
    custom_filters: tuple[str, ...]  # /etc/libvirt/nwfilter/*.xml
    live_chains: tuple[str, ...]  # libvirt-* chains (ebtables/iptables) now in the kernel

    @property
    def in_use(self) -> bool:
        return bool(self.guests or self.live_chains)


def build(ev: Evidence, saves: list[IptablesSave], nft: NftRuleset | None) -> NwfilterFacts:
    guests = {}
    for rec in ev.files_in(DOMAIN_DEFINITIONS, ".xml"):
        refs = tuple(sorted(set(_FILTERREF.findall(rec.content or ""))))
        if refs:
            guests[rec.path] = refs
    custom = tuple(r.path for r in ev.files_in(NWFILTER_DEFINITIONS, ".xml"))
    live = {f"{s.family} {c.table} {c.name}" for s in saves for c in s.chains() if c.name.startswith("libvirt-")}
    if nft is not None:
        live |= {c.where for c in nft.chains() if c.family == "bridge" and c.name.startswith("libvirt-")}
    return NwfilterFacts(guests, custom, tuple(sorted(live)))
