"""The ruleset after libvirt switches its backend from iptables to nftables, simulated.

What libvirt does on the switch (docs/libvirt-rules.md §6): it removes every per-network iptables
rule — the LIBVIRT_* chains stay, empty, with their jumps — and creates the `ip`/`ip6
libvirt_network` tables for the active networks. The tables come from the libvirt model
(`vnetmigrate.libvirt.nft_commands`, the newest modelled release with the nftables backend
not newer than the host's) for the active networks the scan found (`facts.ownership.active`).

When those facts are missing the simulation runs without libvirt's tables and says so
(`AfterSwitch.libvirt_modelled` False). It then still decides guests' own traffic soundly:
adding base chains never turns a drop into an accept, and libvirt's table accepts guests'
outgoing traffic and its replies. It does not decide connections into guests (libvirt's
`guest_input` rejects them): callers must not claim those.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.evaluate import nftcompile
from vnetmigrate.evaluate.ruleset import Chain, Ruleset
from vnetmigrate.facts.libvirt_rules import LIBVIRT_CHAINS, NFT_TABLE
from vnetmigrate.rules.nft import Match, NftRule, Statement, parse_statement


@dataclass(frozen=True)
class AfterSwitch:
    """The ruleset as the migration would leave it, and what was simulated to get it."""
    ruleset: Ruleset
    libvirt_modelled: bool  # libvirt's nftables tables are part of `ruleset`
    removed: tuple[str, ...]  # libvirt chains emptied, for evidence


def after_switch(rs: Ruleset, libvirt_tables: list | None = None) -> AfterSwitch:
    """`rs` without libvirt's iptables rules; with `libvirt_tables` (libnftables JSON objects:
    {"table": ...}, {"chain": ...}, {"rule": ...}, or the model's typed commands:
    libvirt_commands) replacing any live libvirt_network table."""
    emptied = []
    for c in rs.chains.values():
        if c.kind != "nft" and c.chain in LIBVIRT_CHAINS.get(c.table, ()) and c.rules != ():
            emptied.append(replace(c, rules=()))
    out = rs.replace_chains(emptied)
    if libvirt_tables is not None:
        scopes = {("nft", fam, NFT_TABLE) for fam in ("ip", "ip6", "inet")}
        out = out.replace_chains(_chains(libvirt_tables), removed=tuple(scopes))
    return AfterSwitch(out, libvirt_tables is not None, tuple(sorted(c.name for c in emptied)))


def libvirt_tables(facts) -> list[dict] | None:
    """libnftables JSON commands creating libvirt's tables for the host's active networks after
    an upgrade to a libvirt with the nftables backend; None when the facts do not say."""
    commands = libvirt_commands(facts)
    return None if commands is None else [c.json() for c in commands]


def libvirt_commands(facts) -> list | None:
    """The same commands as the model builds them (libvirt.nft_commands.NftCommand): what
    after_switch takes without a round trip through JSON (tests/unit/evaluate/test_switch_typed.py
    compares both)."""
    from vnetmigrate.libvirt.nft_commands import command_list
    from vnetmigrate.libvirt.versions import Backend, nearest_version

    if facts.ownership is None or facts.libvirt is None:
        return None
    # scan --target-version: the chosen release's rules; else the host's own release's.
    release = facts.libvirt.upgrade_to if facts.migration_target is None and facts.libvirt.upgrade_to \
        else facts.libvirt.version
    version, _exact = nearest_version(release, Backend.NFTABLES)
    return command_list(facts.ownership.active, version)


def _chains(objects: list) -> list[Chain]:
    """Chains from libnftables JSON objects, or from `add`/`insert` commands wrapping them, or
    from the model's typed commands."""
    if objects and not isinstance(objects[0], dict):
        return _typed_chains(objects)
    chains: dict[tuple[str, str, str], dict] = {}
    rules: dict[tuple[str, str, str], list] = {}
    for item in objects:
        verb = next(iter(item)) if len(item) == 1 and next(iter(item)) in ("add", "insert") else None
        obj = item[verb] if verb else item
        if "chain" in obj:
            c = obj["chain"]
            chains[(c["family"], c["table"], c["name"])] = c
        elif "rule" in obj:
            r = obj["rule"]
            lst = rules.setdefault((r["family"], r["table"], r["chain"]), [])
            lst.insert(0, r) if verb == "insert" else lst.append(r)
    out = []
    for key, c in chains.items():
        compiled = tuple(nftcompile.compile_rule(NftRule.from_json(r)) for r in rules.get(key, []))
        out.append(Chain(f"{key[0]} {key[1]} {key[2]}", "nft", key[0], key[1], key[2], compiled, hook=c.get("hook"),
                         prio=c.get("prio"), policy=c.get("policy"), type=c.get("type"), handle=c.get("handle")))
    return out


def _typed_chains(commands: list) -> list[Chain]:
    """_chains of the model's commands (libvirt.nft_commands.NftCommand), read as their JSON
    would be: a chain's hook, priority, policy and type from its base chain, a rule's
    statements as the model builds them, but for its matches: the model writes a prefix as
    "NET/LEN" and a ct state as a tuple, their JSON reads back as {"prefix": ...} and a list
    with op "in", so each distinct match goes through its JSON once."""
    chains: dict[tuple[str, str, str], Any] = {}
    rules: dict[tuple[str, str, str], list] = {}
    read: dict[tuple[str, Match], Statement] = {}
    for cmd in commands:
        if cmd.kind == "chain":
            chains[(cmd.family, cmd.table, cmd.chain)] = cmd.base
        elif cmd.kind == "rule":
            r = cmd.rule
            lst = rules.setdefault((cmd.family, cmd.table, r.chain), [])
            rule = NftRule(cmd.family, cmd.table, r.chain, None, tuple(_as_read(st, cmd.family, read) for st in r.exprs))
            lst.insert(0, rule) if cmd.verb == "insert" else lst.append(rule)
    out = []
    for key, base in chains.items():
        compiled = tuple(nftcompile.compile_rule(r) for r in rules.get(key, []))
        out.append(Chain(f"{key[0]} {key[1]} {key[2]}", "nft", key[0], key[1], key[2], compiled,
                         hook=base.hook if base else None, prio=base.priority if base else None,
                         policy=base.policy if base else None, type=base.type if base else None, handle=None))
    return out


def _as_read(st: Statement, family: str, read: dict[tuple[str, Match], Statement]) -> Statement:
    if type(st) is not Match:
        return st
    try:
        return read[(family, st)]
    except KeyError:
        got = read[(family, st)] = parse_statement(st.json(), family)
        return got
    except TypeError:  # a match on a value JSON holds as a dict (unhashable)
        return parse_statement(st.json(), family)
