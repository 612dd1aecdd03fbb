"""nftables commands for the nftables backend: libnftables JSON and ``nft -f`` text.

The commands are what libvirt runs, in its order: for ``ip`` then ``ip6``, the table and
private chains if missing (nftablesSetupPrivateChains compares ``nft list table`` with what
it needs: a missing table means everything is added; a chain whose jump from ``forward`` is
missing gets a new ``insert rule ... counter jump``), then every network's rules, each an
``insert rule``. Loading the list in one ``json_cmd`` / one ``nft -f`` is one kernel
transaction and gives the same ruleset as libvirt's one-``nft``-per-rule calls.

``iif``/``oif`` name the bridge by interface index, so the bridges must exist when the
commands are loaded (libvirt creates the bridge before adding rules).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import field
from typing import Any

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.libvirt.model import Network
from vnetmigrate.libvirt.nft_rules import FAMILIES, PRIVATE_CHAINS, TABLE, BaseChain, NftRule, network_rules
from vnetmigrate.libvirt.rules_common import firewalled, private_setup
from vnetmigrate.libvirt.versions import Backend, LibvirtVersion, get_version
from vnetmigrate.rules.nft import Counter, Verdict, parse_statements


@dataclass(frozen=True)
class NftCommand:
    """One libnftables command libvirt would run."""
    verb: str                       # "add" or "insert"
    kind: str                       # "table", "chain" or "rule"
    family: str
    table: str = TABLE
    chain: str | None = None
    base: BaseChain | None = None
    rule: NftRule | None = None
    comment: str | None = None

    def text(self) -> str:
        head = f"{self.verb} {self.kind} {self.family} {self.table}"
        if self.kind == "table":
            return head + (f' {{ comment "{self.comment}"; }}' if self.comment else "")
        if self.kind == "chain":
            spec = ""
            if self.base:
                b = self.base
                spec = f" {{ type {b.type} hook {b.hook} priority {b.priority}; policy {b.policy}; }}"
            return f"{head} {self.chain}{spec}"
        assert self.rule is not None
        return f"{head} {self.rule.chain} {self.rule.text()}"

    def json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"family": self.family}
        if self.kind == "table":
            obj["name"] = self.table
            if self.comment:
                obj["comment"] = self.comment
        elif self.kind == "chain":
            obj.update(table=self.table, name=self.chain)
            if self.base:
                obj.update(type=self.base.type, hook=self.base.hook, prio=self.base.priority,
                           policy=self.base.policy)
        else:
            assert self.rule is not None
            obj.update(table=self.table, chain=self.rule.chain, expr=[e.json() for e in self.rule.exprs])
        return {self.verb: {self.kind: obj}}


@dataclass(frozen=True)
class NftState:
    """Which of libvirt's tables, chains and jumps already exist (per family)."""

    tables: frozenset[str] = field(default_factory=frozenset)                  # families
    chains: frozenset[tuple[str, str]] = field(default_factory=frozenset)      # (family, chain)
    jumps: frozenset[tuple[str, str, str]] = field(default_factory=frozenset)  # (family, parent, child)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "NftState":
        """Read ``nft -j list ruleset`` (or ``list table ...``) output."""
        tables, chains, jumps = set(), set(), set()
        for item in doc.get("nftables", []):
            for kind, obj in item.items():
                if not isinstance(obj, dict) or obj.get("family") not in FAMILIES:
                    continue
                if kind == "table" and obj.get("name") == TABLE:
                    tables.add(obj["family"])
                elif kind == "chain" and obj.get("table") == TABLE:
                    chains.add((obj["family"], obj.get("name")))
                elif kind == "rule" and obj.get("table") == TABLE:
                    for st in parse_statements(obj.get("expr", [])):
                        if st.kind == "jump":
                            jumps.add((obj["family"], obj.get("chain"), st.target))
        return cls(frozenset(tables), frozenset(chains), frozenset(jumps))


def setup_commands(family: str, state: NftState, version: LibvirtVersion) -> list[NftCommand]:
    has_table = family in state.tables
    out = []
    if not has_table:
        out.append(NftCommand("add", "table", family, comment=version.nft_table_comment))
    for chain, parent, base in PRIVATE_CHAINS:
        if not (has_table and (family, chain) in state.chains):
            out.append(NftCommand("add", "chain", family, chain=chain, base=base))
        if parent and not (has_table and (family, parent, chain) in state.jumps):
            jump = NftRule(family, parent, (Counter(), Verdict("jump", chain)))
            out.append(NftCommand("insert", "rule", family, rule=jump))
    return out


def command_list(networks: Iterable[Network], version: str | LibvirtVersion,
                 state: NftState | None = None, failed: Collection[str] = ()) -> list[NftCommand]:
    ver = get_version(version, Backend.NFTABLES)
    nets = list(networks)
    if not private_setup(nets, failed, ver):
        return []
    state = state or NftState()
    cmds = [c for fam in FAMILIES for c in setup_commands(fam, state, ver)]
    for net in firewalled(nets, failed):
        cmds += [NftCommand("insert", "rule", r.family, rule=r) for r in network_rules(net, ver)]
    return cmds


def nft_commands(networks: Iterable[Network], version: str | LibvirtVersion,
                 state: NftState | None = None, failed: Collection[str] = ()) -> list[dict[str, Any]]:
    """libnftables JSON commands: ``Nftables().json_cmd({"nftables": nft_commands(...)})``."""
    return [c.json() for c in command_list(networks, version, state, failed)]


def nft_text(networks: Iterable[Network], version: str | LibvirtVersion,
             state: NftState | None = None, failed: Collection[str] = ()) -> str:
    """The same commands as ``nft -f`` input, one per line."""
    lines = [c.text() for c in command_list(networks, version, state, failed)]
    return "\n".join(lines) + "\n" if lines else ""
