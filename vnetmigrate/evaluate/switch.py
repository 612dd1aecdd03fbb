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

from dataclasses import dataclass, replace

from vnetmigrate.evaluate import nftcompile
from vnetmigrate.evaluate.ruleset import Chain, Ruleset
from vnetmigrate.facts.libvirt_rules import LIBVIRT_CHAINS, NFT_TABLE
from vnetmigrate.rules.nft import NftRule


@dataclass(frozen=True)
class AfterSwitch:
    ruleset: Ruleset
    libvirt_modelled: bool  # libvirt's nftables tables are part of `ruleset`
    removed: tuple[str, ...]  # libvirt chains emptied, for evidence


def after_switch(rs: Ruleset, libvirt_tables: list[dict] | None = None) -> AfterSwitch:
    """`rs` without libvirt's iptables rules; with `libvirt_tables` (libnftables JSON objects:
    {"table": ...}, {"chain": ...}, {"rule": ...}) replacing any live libvirt_network table."""
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
    from vnetmigrate.libvirt import nft_commands
    from vnetmigrate.libvirt.versions import Backend, nearest_version

    if facts.ownership is None or facts.libvirt is None:
        return None
    # scan --target-version: the chosen release's rules; else the host's own release's.
    release = facts.libvirt.upgrade_to if facts.migration_target is None and facts.libvirt.upgrade_to \
        else facts.libvirt.version
    version, _exact = nearest_version(release, Backend.NFTABLES)
    return nft_commands(facts.ownership.active, version)


def _chains(objects: list[dict]) -> list[Chain]:
    """Chains from libnftables JSON objects, or from `add`/`insert` commands wrapping them."""
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
