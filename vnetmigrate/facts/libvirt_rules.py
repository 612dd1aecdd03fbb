"""Which of libvirt's firewall objects exist now, in each backend.

iptables backend: the LIBVIRT_* chains (filter INP/OUT/FWX/FWI/FWO, nat and mangle PRT) and
the jumps to them from the built-in chains. nftables backend: the `ip`/`ip6 libvirt_network`
tables. Per-network rules are what makes a backend "in use"; the chains and tables alone
stay behind after a switch (docs/libvirt-rules.md §6).
"""

from __future__ import annotations

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.firewall import NFT_FAMILIES
from vnetmigrate.rules.iptables import IptRule
from vnetmigrate.rules.iptables_save import IptablesSave
from vnetmigrate.rules.nft import NftRule
from vnetmigrate.rules.nft_ruleset import NftRuleset

LIBVIRT_CHAINS = {
    "filter": ("LIBVIRT_INP", "LIBVIRT_OUT", "LIBVIRT_FWX", "LIBVIRT_FWI", "LIBVIRT_FWO"),
    "nat": ("LIBVIRT_PRT",),
    "mangle": ("LIBVIRT_PRT",),
}
NFT_TABLE = "libvirt_network"


@dataclass(frozen=True)
class IptLibvirtChain:
    """One of libvirt's iptables chains as listed."""
    family: str  # ipv4 / ipv6
    source: str  # nft / legacy
    table: str
    name: str
    rules: tuple[IptRule, ...]
    jumps: tuple[IptRule, ...]  # the rules (in any chain) that jump or go here

    @property
    def empty(self) -> bool:
        return not self.rules

    @property
    def where(self) -> str:
        kind = "iptables-legacy" if self.source == "legacy" else "iptables-nft"
        return f"{kind} {self.family} {self.table} {self.name}"


@dataclass(frozen=True)
class NftLibvirtTable:
    """libvirt's nftables table of one family as listed."""
    family: str
    chains: tuple[str, ...]
    # Per-network rules: everything except the forward base chain's three fixed jumps.
    rules: tuple[NftRule, ...]


@dataclass(frozen=True)
class LibvirtRules:
    """libvirt's chains and tables found in the kernel."""
    ipt_chains: tuple[IptLibvirtChain, ...]
    nft_tables: tuple[NftLibvirtTable, ...]

    @property
    def ipt_rule_count(self) -> int:
        return sum(len(c.rules) for c in self.ipt_chains)

    @property
    def nft_rule_count(self) -> int:
        return sum(len(t.rules) for t in self.nft_tables)

    @property
    def empty_ipt_chains(self) -> tuple[IptLibvirtChain, ...]:
        return tuple(c for c in self.ipt_chains if c.empty)

def build(saves: list[IptablesSave], nft: NftRuleset | None) -> LibvirtRules:
    chains = []
    for save in saves:
        for table, names in LIBVIRT_CHAINS.items():
            t = save.table(table)
            if t is None:
                continue
            for name in names:
                chain = t.chain(name)
                if chain is None:
                    continue
                jumps = tuple(r for c in t.chains for r in c.rules if r.target == name)
                chains.append(IptLibvirtChain(save.family, save.source, table, name, chain.rules, jumps))
    tables = []
    for family in NFT_FAMILIES:
        t = nft.table(family, NFT_TABLE) if nft else None
        if t is None:
            continue
        rules = tuple(r for c in t.chains if c.rules for r in c.rules if not (c.is_base and c.type == "filter"))
        tables.append(NftLibvirtTable(family, tuple(c.name for c in t.chains), rules))
    return LibvirtRules(tuple(chains), tuple(tables))
