"""The chains the kernel runs, from HostFacts: native nftables, iptables-nft, legacy x_tables.

iptables-nft chains are nftables base chains (their hook, priority and policy come from
nft's chain list) whose rules are read through iptables-nft (`IptablesSave`); legacy x_tables
tables register their own hooks at iptables' fixed priorities. A chain whose rules were not
read (selective scan) stays in the model with `rules=None`: reaching it makes a verdict
unknown, not reaching it costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import field, replace

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.evaluate import iptlazy, nftlazy
from vnetmigrate.evaluate.core import Rule
from vnetmigrate.firewall import Family
from vnetmigrate.rules.iptables_save import IptablesSave
from vnetmigrate.rules.nft_ruleset import NftRuleset

# iptables' built-in chains: hook and priority (NF_IP_PRI_*), as x_tables registers them.
IPT_HOOKS = {
    "raw": {"PREROUTING": -300, "OUTPUT": -300},
    "mangle": {"PREROUTING": -150, "INPUT": -150, "FORWARD": -150, "OUTPUT": -150, "POSTROUTING": -150},
    "nat": {"PREROUTING": -100, "INPUT": 100, "OUTPUT": -100, "POSTROUTING": 100},
    "filter": {"INPUT": 0, "FORWARD": 0, "OUTPUT": 0},
    "security": {"INPUT": 50, "FORWARD": 50, "OUTPUT": 50},
}


@dataclass(frozen=True)
class Chain:
    """A chain as the evaluator runs it: its name, kind, family, hook and compiled rules."""
    name: str  # as traces name it: "ip filter FORWARD"; legacy: "iptables-legacy ip filter FORWARD"
    kind: str  # "nft", "iptables-nft" or "iptables-legacy"
    family: str  # nftables family: ip, ip6, inet, bridge, netdev, arp
    table: str
    chain: str
    rules: Sequence[Rule] | None  # None: not read; listed chains compile on first use (lazyrules)
    hook: str | None = None
    prio: int | None = None
    policy: str | None = None  # accept / drop (base chains)
    type: str | None = None  # filter / nat / route
    handle: int | None = None
    unmodelled: str | None = None  # why its rules cannot be evaluated (treated like unread rules)

    @property
    def scope(self) -> tuple[str, str, str]:
        """What a jump target is resolved in: the chain's own table."""
        return (self.kind, self.family, self.table)

    @property
    def is_base(self) -> bool:
        return self.hook is not None


@dataclass(frozen=True)
class Ruleset:
    """The chains the evaluator runs, and what makes every verdict unknown."""
    chains: dict[tuple[tuple[str, str, str], str], Chain]
    problems: tuple[str, ...] = ()  # what makes every verdict unknown (e.g. nft unreadable)
    # per-ruleset answers that do not depend on one packet (a host has hundreds of probes)
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    def lookup(self, scope: tuple[str, str, str], name: str) -> Chain | None:
        return self.chains.get((scope, name))

    def base_chains(self) -> list[Chain]:
        if "base" not in self.memo:
            self.memo["base"] = [c for c in self.chains.values() if c.is_base]
        return self.memo["base"]

    def replace_chains(self, changed: list[Chain], removed: tuple = ()) -> "Ruleset":
        chains = {k: v for k, v in self.chains.items() if k[0] not in removed}
        chains.update({(c.scope, c.chain): c for c in changed})
        return replace(self, chains=chains, memo={})


def _ipt_chains(save: IptablesSave, kind: str, base_info: dict[tuple[str, str], dict] | None) -> list[Chain]:
    out = []
    fam = Family(save.family).nft
    for table in save.tables:
        names = frozenset(c.name for c in table.chains)
        for c in table.chains:
            name = f"{fam} {table.name} {c.name}" if kind == "iptables-nft" else \
                f"iptables-legacy {fam} {table.name} {c.name}"
            rules = iptlazy.chain_rules(c.rules, name, names) if c.listed else None
            info = (base_info or {}).get((table.name, c.name))
            if kind == "iptables-legacy" and c.builtin and c.name in IPT_HOOKS.get(table.name, {}):
                info = {"hook": c.name.lower(), "prio": IPT_HOOKS[table.name][c.name],
                        "policy": (c.policy or "ACCEPT").lower()}
            hook_fields = {}
            if info and info.get("hook"):
                nat = table.name == "nat"
                hook_fields = dict(hook=info["hook"], prio=info["prio"], policy=(info.get("policy") or "accept").lower(),
                                   type="nat" if nat else ("route" if (table.name, c.name) == ("mangle", "OUTPUT")
                                                           else "filter"))
            out.append(Chain(name, kind, fam, table.name, c.name, rules, **hook_fields))
    return out


def from_facts(nft: NftRuleset | None, saves: tuple[IptablesSave, ...] | list[IptablesSave]) -> Ruleset:
    chains: list[Chain] = []
    problems = []
    managed = {(Family(s.family).nft, t.name): s for s in saves if s.source == "nft" for t in s.tables}
    if nft is None:
        problems.append("the nftables ruleset could not be read: other tables' base chains are unknown")
    base_info: dict[tuple[str, str], dict[tuple[str, str], dict]] = {}
    for table in nft.tables if nft else ():
        key = (table.family, table.name)
        if key in managed:
            base_info[key] = {(table.name, c.name): {"hook": c.hook, "prio": c.prio, "policy": c.policy}
                              for c in table.chains if c.hook}
            listed = managed[key].table(table.name)
            names = {c.name for c in listed.chains} if listed is not None else set()
            for c in table.chains:  # chains nft knows but iptables did not report: unreadable
                if c.name not in names:
                    chains.append(_native(c, rules_known=False))
            continue
        chains += [_native(c, sets=nft.sets) for c in table.chains]
    for save in saves:
        if save.source == "nft":
            fam = Family(save.family).nft
            info = {}
            for t in save.tables:
                if (fam, t.name) in base_info:
                    info.update(base_info[(fam, t.name)])
                else:  # not in nft's chain list (a saved bundle, or nft unreadable): iptables' own hooks
                    info.update({(t.name, c.name): {"hook": c.name.lower(), "prio": IPT_HOOKS[t.name][c.name],
                                                    "policy": c.policy} for c in t.chains
                                 if c.builtin and c.name in IPT_HOOKS.get(t.name, {})})
            chains += _ipt_chains(save, "iptables-nft", info)
        elif save.source == "legacy":
            chains += _ipt_chains(save, "iptables-legacy", None)
    return Ruleset({(c.scope, c.chain): c for c in chains}, tuple(problems))


def _native(c, rules_known: bool = True, sets=None) -> Chain:
    rules = None
    if rules_known and c.rules is not None:
        rules = nftlazy.chain_rules(c.rules, sets)
    return Chain(f"{c.family} {c.table} {c.name}", "nft", c.family, c.table, c.name, rules, hook=c.hook,
                 prio=c.prio, policy=c.policy, type=c.type, handle=c.handle)


def of_facts(facts) -> Ruleset:
    """The ruleset of a scanned host (`facts`: HostFacts); iptables facts missing count as none."""
    saves = tuple(facts.iptables.saves) if facts.iptables is not None else ()
    return from_facts(facts.nft, saves)
