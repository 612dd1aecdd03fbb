"""What of libvirt's old backend a migration must leave in place because someone else's objects
are in it, and what its final verification therefore accepts.

A migration removes only libvirt's objects (its ownership classification, vnetmigrate/libvirt/
ownership.py). Two things outlive it and would fail the last verification, which wants nothing
of the old backend left:

- a chain named like libvirt's (LIBVIRT_*) that libvirt never creates: classified foreign, so
  never removed, yet a LIBVIRT_* chain is what a leftover of libvirt's iptables backend looks like;
- a rule (or chain) libvirt does not create, inside one of libvirt's iptables chains or
  libvirt_network tables: classified unexpected, kept, and so is the container around it.

`plan` names them as a blocker (move them, or force the blocker and keep them); the final
verification accepts exactly the containers named here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.libvirt.iptables_rules import PRIVATE_CHAINS as IPT_CHAINS
from vnetmigrate.libvirt.nft_rules import FAMILIES, TABLE
from vnetmigrate.libvirt.ownership import Owner
from vnetmigrate.rules.iptables_save import IptablesSave
from vnetmigrate.rules.nft_ruleset import NftRuleset

BLOCKER = "foreign-in-libvirt-chains"
FAMILY_NFT = {"ipv4": "ip", "ipv6": "ip6"}
_IPT_CHAIN_NAMES = {(t, c) for t, _p, c in IPT_CHAINS}


@dataclass(frozen=True)
class Kept:
    """What of the old backend a migration leaves in place, and why (the blocker names it)."""
    accept: tuple[str, ...]      # "nft-family table chain" (iptables) or "nft-family libvirt_network"
    reasons: tuple[str, ...]     # one line per chain or rule, for the blocker

    def blocker_title(self, source: str) -> str:
        shown = "; ".join(self.reasons[:6]) + (f"; and {len(self.reasons) - 6} more" if len(self.reasons) > 6 else "")
        return (f"libvirt's {source} containers hold what is not libvirt's: {shown}. The migration keeps them, so "
                "its final check (nothing of the old backend left) would fail and roll it back. Either move the "
                "rule to a chain of your own (and rename a chain of yours that is named LIBVIRT_*) before "
                f"migrating, or keep them: --force {BLOCKER} migrates and accepts exactly these containers "
                "as they are")


def kept(target: str, saves: Sequence[IptablesSave], nft: NftRuleset | None, own: Mapping[str, Owner]) -> Kept:
    """What a migration to `target` keeps of the other backend (`own`: where -> owner)."""
    accept: list[str] = []
    reasons: list[str] = []
    if target == "nftables":
        for save in (s for s in saves if s.source == "nft"):
            for table in save.tables:
                for chain in table.chains:
                    where = f"{FAMILY_NFT[save.family]} {table.name} {chain.name}"
                    if (table.name, chain.name) not in _IPT_CHAIN_NAMES:
                        if chain.name.startswith("LIBVIRT_"):
                            accept.append(where)
                            reasons.append(f"{save.family} {table.name} chain {chain.name} is named like libvirt's "
                                           "but libvirt does not create it")
                        continue
                    foreign = [r.text for r in chain.rules if own.get(r.where()) is Owner.UNEXPECTED]
                    if foreign:
                        accept.append(where)
                        reasons += [f"{save.family} {table.name} {chain.name} holds `{t}`, which libvirt does not "
                                    "create" for t in foreign]
    elif nft is not None:
        for fam in FAMILIES:
            table = nft.table(fam, TABLE)
            if table is None:
                continue
            chains = [c.name for c in table.chains if own.get(f"{fam} {TABLE} {c.name}") is Owner.UNEXPECTED]
            rules = [r for c in table.chains for r in c.rules or () if own.get(r.where()) is Owner.UNEXPECTED]
            if chains or rules:
                accept.append(f"{fam} {TABLE}")
                reasons += [f"{fam} {TABLE} has chain {c}, which libvirt does not create" for c in chains]
                reasons += [f"{fam} {TABLE} {r.chain} holds `{r.text}`, which libvirt does not create" for r in rules]
    return Kept(tuple(accept), tuple(reasons))
