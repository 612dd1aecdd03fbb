"""Who owns each live table, chain and rule: libvirt (needed or left over), or someone else.

- **expected**: what the model says an active network needs now, in the backend that
  network's rules are in (its status file's recipe; libvirt <= 10.3 only has iptables), plus
  the containers of that backend (LIBVIRT_* chains and their jumps, or the
  ``libvirt_network`` tables and their private chains and jumps);
- **leftover**: libvirt's, but not needed now: the other backend's containers (the empty
  LIBVIRT_* chains a switch to nftables leaves behind), rules libvirt would create for a
  network that is not active or whose rules are in the other backend, and duplicates;
- **unexpected**: inside libvirt's containers but not a rule libvirt creates for any known
  network (added by hand or by another tool, or libvirt changed and the model is behind);
- **foreign**: everyone else's tables and chains (Docker, firewalld, ufw, ...). Their rules
  are not listed one by one; only the jumps libvirt puts into built-in chains are.

``missing`` lists what an active network needs but the kernel does not have: the silent
failure of a backend switch (docs/libvirt-rules.md §6) shows up here. Rule order is not judged:
live order depends on the order networks were started, which no file records.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.firewall import Family
from vnetmigrate.rules.iptables_save import IptablesSave
from vnetmigrate.rules.nft_ruleset import NftRuleset
from vnetmigrate.libvirt.iptables_rules import PRIVATE_CHAINS as IPT_CHAINS
from vnetmigrate.libvirt.listing import listed_rule_text
from vnetmigrate.libvirt.model import Network
from vnetmigrate.libvirt.nft_rules import PRIVATE_CHAINS as NFT_CHAINS
from vnetmigrate.libvirt.nft_rules import TABLE
from vnetmigrate.libvirt.ownership_expect import Expected, expectations
from vnetmigrate.libvirt.versions import Backend, LibvirtVersion
from vnetmigrate.rules import nft
from vnetmigrate.rules.iptables import canonical as ipt_key

_IPT_CHAIN_NAMES = {(t, c) for t, _p, c in IPT_CHAINS}
_IPT_JUMPS = {(t, p, c) for t, p, c in IPT_CHAINS}
_NFT_CHAIN_NAMES = {c for c, _p, _b in NFT_CHAINS}


class Owner(str, enum.Enum):
    EXPECTED = "expected"
    LEFTOVER = "leftover"
    UNEXPECTED = "unexpected"
    FOREIGN = "foreign"


class _RuleText:
    """`Item.text` of a live rule: written from the rule the first time it is read. Scan
    classifies every rule of libvirt's (5,000 at 500 networks) and reads the text of the few
    that are not expected; the text is the same whenever it is written (the rule is frozen)."""

    def __get__(self, item: "Item | None", owner: type | None = None) -> str:
        if item is None:
            return ""  # the field's default
        d = item.__dict__
        text = d.get("text")
        if text is None:
            text = d["text"] = d.pop("_rule").text
        return text

    def __set__(self, item: "Item", value: str) -> None:  # the dataclass __init__ sets it
        item.__dict__["text"] = value


@dataclass(frozen=True)
class Item:
    """A live table, chain or rule, who owns it and why."""
    kind: str                # table, chain or rule
    where: str
    owner: Owner
    reason: str
    network: str | None = None
    text: str = _RuleText()  # type: ignore[assignment]  # a str: "" unless given, or the rule's


def _rule(where: str, owner: Owner, reason: str, network: str | None, rule) -> Item:
    """Item("rule", where, owner, reason, network, rule.text), the text written when read, and
    made without the frozen dataclass' __init__ (one attribute set at a time: ~2 us an item)."""
    item = object.__new__(Item)
    item.__dict__.update(kind="rule", where=where, owner=owner, reason=reason, network=network, _rule=rule)
    return item


@dataclass(frozen=True)
class Missing:
    """A rule libvirt would have made for a network that is not live."""
    network: str
    backend: Backend
    where: str
    text: str


@dataclass(frozen=True)
class Ownership:
    """Every live item classified, and what libvirt's rules miss."""
    items: tuple[Item, ...]
    missing: tuple[Missing, ...]
    version: str

    def of(self, owner: Owner, kind: str | None = None) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.owner is owner and (kind is None or i.kind == kind))

    def counts(self) -> dict[str, int]:
        return {o.value: len(self.of(o)) for o in Owner} | {"missing": len(self.missing)}


def classify(active: Sequence[tuple[Network, Backend]], version: LibvirtVersion, *,
             iptables: Iterable[IptablesSave] = (), nft: NftRuleset | None = None,
             known: Iterable[Network] = ()) -> Ownership:
    """Classify the live state. `active`: each active network with the backend holding its
    rules; `known`: other networks of the host (defined, inactive) whose rules would be
    leftovers; `iptables`: iptables-save facts (nft and legacy); `nft`: the nft ruleset."""
    exp = expectations(active, version, known)
    items: list[Item] = []
    saves = list(iptables)
    for save in saves:
        items += _iptables_items(save, exp)
    if nft is not None:
        covered = {(Family(s.family).nft, t.name) for s in saves if s.source == "nft" for t in s.tables}
        items += _nft_items(nft, exp, covered)
    missing = _missing(exp, checked_ipt={s.family for s in saves}, checked_nft=nft is not None)
    return Ownership(tuple(items), tuple(missing), version.version)


def _container_owner(backend: Backend, exp: Expected) -> tuple[Owner, str]:
    if backend in exp.backends:
        return Owner.EXPECTED, f"libvirt's {backend.value} backend is in use"
    return Owner.LEFTOVER, f"libvirt's, but no active network uses its {backend.value} backend"


def _iptables_items(save: IptablesSave, exp: Expected) -> list[Item]:
    fam = Family(save.family).version
    owner, why = _container_owner(Backend.IPTABLES, exp)
    out = []
    for table in save.tables:
        for chain in table.chains:
            where = f"{save.family} {save.source} {table.name} {chain.name}"
            if (table.name, chain.name) not in _IPT_CHAIN_NAMES:
                why_foreign = "built-in chain, shared by every iptables user" if chain.builtin else \
                    "not one of libvirt's chains"
                out.append(Item("chain", where, Owner.FOREIGN, why_foreign))
                for rule in chain.rules:
                    if len(rule.args) == 2 and rule.args[0] in ("-j", "--jump") and \
                            (table.name, chain.name, rule.args[1]) in _IPT_JUMPS:
                        out.append(_rule(rule.where(), owner, f"jump to libvirt's chain; {why}", None, rule))
                continue
            out.append(Item("chain", where, owner, why))
            for rule in chain.rules:
                key = (fam, table.name, chain.name, ipt_key(rule.args, fam))
                out.append(_rule_item(rule, key, exp.ipt))
    return out


def _rule_item(rule, key: tuple, table) -> Item:
    """Classify one rule (its `where()` and `text`) inside a libvirt container using an expectation table."""
    net = table.take(key)
    if net is not None:
        return _rule(rule.where(), Owner.EXPECTED, f"needed by active network {net}", net, rule)
    net, why = table.explain(key)
    if net is not None:
        return _rule(rule.where(), Owner.LEFTOVER, why, net, rule)
    return _rule(rule.where(), Owner.UNEXPECTED, "in libvirt's chain, but no known network needs it", None, rule)


def _nft_items(nft: NftRuleset, exp: Expected, covered: set[tuple[str, str]]) -> list[Item]:
    owner, why = _container_owner(Backend.NFTABLES, exp)
    out = []
    for table in nft.tables:
        where = f"{table.family} {table.name}"
        if table.name != TABLE or table.family not in ("ip", "ip6"):
            if (table.family, table.name) not in covered:  # iptables-nft tables: see the iptables items
                out.append(Item("table", where, Owner.FOREIGN, "not libvirt's table"))
            continue
        out.append(Item("table", where, owner, why))
        for chain in table.chains:
            cwhere = f"{where} {chain.name}"
            if chain.name not in _NFT_CHAIN_NAMES:
                out.append(Item("chain", cwhere, Owner.UNEXPECTED, "libvirt creates no such chain"))
            else:
                out.append(Item("chain", cwhere, owner, why))
            for rule in chain.rules or ():
                if chain.name == "forward" and _is_private_jump(rule.stmts):
                    out.append(_rule(rule.where(), owner, f"jump to libvirt's chain; {why}", None, rule))
                else:
                    out.append(_rule_item(rule, (table.family, chain.name, rule.canon()), exp.nft))
    return out


def _is_private_jump(stmts: tuple[nft.Statement, ...]) -> bool:
    targets = [s.target for s in stmts if s.kind == "jump"]
    others = [s for s in stmts if s.kind and s.kind not in ("jump", "counter")]
    return len(targets) == 1 and targets[0] in _NFT_CHAIN_NAMES and not others


def _missing(exp: Expected, checked_ipt: set[str], checked_nft: bool) -> list[Missing]:
    out = []
    for (fam, table, chain, _key), nets in exp.ipt.remaining():
        if Family.of_version(fam) in checked_ipt:
            rule = exp.ipt_rules[(fam, table, chain, _key)]
            out += [Missing(n, Backend.IPTABLES, f"ipv{fam} {table} {chain}", rule.restore_line()) for n in nets]
    if checked_nft:
        for (fam, chain, _key), nets in exp.nft.remaining():
            rule = exp.nft_rules[(fam, chain, _key)]
            out += [Missing(n, Backend.NFTABLES, f"{fam} {TABLE} {chain}", listed_rule_text(rule)) for n in nets]
    return out


__all__ = ["Item", "Missing", "Owner", "Ownership", "classify"]
