"""iptables-restore fragments for the iptables backend (``iptables-restore --noflush``).

libvirt first makes sure its private chains exist and are jumped to from position 1 of the
built-in chains (iptablesSetupPrivateChains: it lists each table and adds only what is
missing), then inserts each network's rules. A fragment here does the same in one
transaction per table. Two details matter for an exact result:

- ``--noflush`` still *flushes* a user chain that the fragment declares with ``:CHAIN``, so
  chains that already exist must not be declared again: pass the live state
  (``IptablesState.from_save``) when the chains may exist. The default assumes none do.
- each chain is declared right before its jump is inserted, the order libvirt's separate
  ``-N``/``-I`` commands have. iptables-nft creates built-in chains on first use, so this
  also reproduces the order of chains in ``nft list ruleset`` (LIBVIRT_INP, INPUT,
  LIBVIRT_OUT, OUTPUT, LIBVIRT_FWO, FORWARD, LIBVIRT_FWI, LIBVIRT_FWX).

Rules use libvirt's own long options (``--in-interface``, ``--destination-port`` ...).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import field

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError
from vnetmigrate.libvirt.iptables_rules import PRIVATE_CHAINS, TABLES, IptRule, network_rules
from vnetmigrate.libvirt.model import Network
from vnetmigrate.libvirt.rules_common import firewalled, private_setup
from vnetmigrate.libvirt.versions import Backend, LibvirtVersion, get_version
from vnetmigrate.rules.iptables_save import IptablesSave, parse_save


@dataclass(frozen=True)
class IptablesState:
    """What of libvirt's private chains already exists in one family's tables."""

    chains: frozenset[tuple[str, str]] = field(default_factory=frozenset)          # (table, chain)
    jumps: frozenset[tuple[str, str, str]] = field(default_factory=frozenset)      # (table, parent, child)

    @classmethod
    def from_save(cls, text: str) -> "IptablesState":
        """Read an ``iptables-save`` listing."""
        return cls.of(parse_save(text, "ipv4", "nft"))

    @classmethod
    def of(cls, save: IptablesSave) -> "IptablesState":
        """The chains of a parsed listing and its plain jumps (only chain declarations matter)."""
        chains, jumps = set(), set()
        for table in save.tables:
            for chain in table.chains:
                chains.add((table.name, chain.name))
                for rule in chain.rules:
                    # libvirt only recognises the bare "-A PARENT -j CHILD" form as its jump.
                    if len(rule.args) == 2 and rule.args[0] in ("-j", "--jump"):
                        jumps.add((table.name, chain.name, rule.args[1]))
        return cls(frozenset(chains), frozenset(jumps))


def family_number(family: str | int) -> int:
    text = str(family).lower()
    if text in ("4", "ipv4", "ip", "inet"):
        return 4
    if text in ("6", "ipv6", "ip6", "inet6"):
        return 6
    raise InputError(f"unknown address family {family!r} (expected ipv4 or ipv6)")


def setup_lines(table: str, state: IptablesState) -> list[str]:
    """The chain declarations and jumps libvirt would add to `table`, given `state`."""
    lines = []
    for tbl, parent, child in PRIVATE_CHAINS:
        if tbl != table:
            continue
        if (table, child) not in state.chains:
            lines.append(f":{child} - [0:0]")
        if (table, parent, child) not in state.jumps:
            lines.append(f"-I {parent} -j {child}")
    return lines


def all_rules(networks: Iterable[Network], version: str | LibvirtVersion,
              failed: Collection[str] = ()) -> list[IptRule]:
    ver = get_version(version, Backend.IPTABLES)
    return [rule for net in firewalled(networks, failed) for rule in network_rules(net, ver)]


def iptables_restore(networks: Iterable[Network], version: str | LibvirtVersion, family: str | int,
                     state: IptablesState | None = None, failed: Collection[str] = ()) -> str:
    """The restore fragment for one family (``iptables-restore`` / ``ip6tables-restore``).

    Chains are set up only if a network with rules starts (or fails late enough, see
    rules_common.failed_after_setup), as libvirt does: it never creates them while no such
    network runs, to avoid loading conntrack. `failed` names networks whose start failed.
    """
    fam = family_number(family)
    nets = list(networks)
    ver = get_version(version, Backend.IPTABLES)
    rules = [r for r in all_rules(nets, ver, failed) if r.family == fam]
    if not private_setup(nets, failed, ver):
        return ""
    state = state or IptablesState()
    out = []
    for table in TABLES:
        body = setup_lines(table, state) + [r.restore_line() for r in rules if r.table == table]
        if body:
            out += [f"*{table}", *body, "COMMIT"]
    return "\n".join(out) + "\n" if out else ""
