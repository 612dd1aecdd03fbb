"""Pure builders of a migration's kernel steps from a host's facts and libvirt's model.

Adding uses the model (the rules libvirt's target backend creates for each active network);
removing uses ownership (only what the model classifies as libvirt's: expected or leftover;
a rule nobody known needs, in libvirt's chain, keeps that chain and its jump; foreign rules
are never named).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vnetmigrate.firewall import Backend, Family
from vnetmigrate.rules.iptables_save import IptablesSave
from vnetmigrate.rules.nft_ruleset import NftRuleset
from vnetmigrate.libvirt import IptablesState, NftState, iptables_restore, nft_commands, nft_text
from vnetmigrate.libvirt.iptables_rules import PRIVATE_CHAINS as IPT_CHAINS
from vnetmigrate.libvirt.model import Network
from vnetmigrate.libvirt.nft_rules import FAMILIES, TABLE
from vnetmigrate.libvirt.ownership import Owner, Ownership
from vnetmigrate.txn import build

IPT_CHAIN_NAMES = {(t, c) for t, _p, c in IPT_CHAINS}
LIBVIRTS = (Owner.EXPECTED, Owner.LEFTOVER)


def owners(own: Ownership) -> dict[str, Owner]:
    """`where` of every classified rule, chain and table -> its owner."""
    return {item.where: item.owner for item in own.items}


def ipt_save(saves: Sequence[IptablesSave], family: str) -> IptablesSave | None:
    return next((s for s in saves if s.family == family and s.source == "nft"), None)


def ipt_removal(save: IptablesSave, own: dict[str, Owner]) -> tuple[str, list[tuple[str, str]], dict[str, int]]:
    """Fragment removing libvirt's rules and emptied LIBVIRT_* chains of one family.

    Returns (fragment, touched (table, chain) pairs, counts of removed rules and chains).
    """
    fragments, touched = [], []
    counts = {"rules": 0, "chains": 0}
    for table in save.tables:
        ours = [c for c in table.chains if (table.name, c.name) in IPT_CHAIN_NAMES]
        if not ours:
            continue
        touched += [(table.name, c.name) for c in ours]
        whole = [c.name for c in ours if all(own.get(r.where()) in LIBVIRTS for r in c.rules)]
        builtins = {c.name: [r.text for r in c.rules if own.get(r.where()) in LIBVIRTS]
                    for c in table.chains if c.builtin}
        lines = []
        for chain in ours:
            if chain.name not in whole:  # keep the chain: someone else's rule is in it
                lines += ["-D" + r.text[2:] for r in chain.rules if own.get(r.where()) in LIBVIRTS]
        counts["rules"] += sum(len(c.rules) for c in ours if c.name in whole) + len(lines)
        counts["chains"] += len(whole)
        text = build.ipt_chain_removal(table.name, {c.name: [r.text for r in c.rules] for c in ours
                                                          if c.name in whole}, builtins)
        if lines:
            text = (text[:-len("COMMIT\n")] if text else f"*{table.name}\n") + "\n".join(lines) + "\nCOMMIT\n"
        fragments.append(text)
    return "".join(fragments), touched, counts


def legacy_removal(save: IptablesSave, own: dict[str, Owner]) -> tuple[dict[str, list[str]], list[str]]:
    """Legacy LIBVIRT_* chains to remove whole (table -> chains), and those shared with others."""
    tables: dict[str, list[str]] = {}
    shared = []
    for table in save.tables:
        for chain in table.chains:
            if (table.name, chain.name) not in IPT_CHAIN_NAMES:
                continue
            if all(own.get(r.where()) in LIBVIRTS for r in chain.rules):
                tables.setdefault(table.name, []).append(chain.name)
            else:
                shared.append(f"{table.name} {chain.name}")
    return tables, shared


def duplicates(backend: Backend, facts) -> int:
    """How many of libvirt's rules of `backend` are there twice (or more) in the same chain."""
    from collections import Counter

    if backend is Backend.NFTABLES:
        rules = [(r.family, r.chain, r.canon())
                 for fam in FAMILIES if facts.nft is not None and (t := facts.nft.table(fam, TABLE)) is not None
                 for c in t.chains for r in c.rules or ()]
    else:
        saves = facts.iptables.saves if facts.iptables is not None else ()
        rules = [(s.family, c.table, r.chain, r.text) for s in saves if s.source == "nft" for c in s.chains()
                 for r in c.rules if c.name.startswith("LIBVIRT_") or (r.target or "").startswith("LIBVIRT_")]
    return sum(n - 1 for n in Counter(rules).values() if n > 1)


def ipt_state(save: IptablesSave | None) -> IptablesState:
    """Which of libvirt's private chains and plain jumps exist (for `iptables_restore`)."""
    return IptablesState() if save is None else IptablesState.of(save)


def ipt_add(networks: Sequence[Network], version, family: str, save: IptablesSave | None) -> str:
    return iptables_restore(networks, version, family, ipt_state(save))


def ipt_touched(family: str) -> list[tuple[str, str]]:
    return sorted(IPT_CHAIN_NAMES)


def nft_state(nft: NftRuleset | None) -> NftState:
    doc: dict[str, Any] = {"nftables": []}
    for fam in FAMILIES:
        table = nft.table(fam, TABLE) if nft is not None else None
        if table is None:
            continue
        doc["nftables"].append({"table": {"family": fam, "name": TABLE}})
        for chain in table.chains:
            doc["nftables"].append({"chain": {"family": fam, "table": TABLE, "name": chain.name}})
            for rule in chain.rules or ():
                doc["nftables"].append({"rule": {"family": fam, "table": TABLE, "chain": chain.name,
                                                 "expr": rule.expr_json()}})
    return NftState.from_json(doc)


def nft_add(networks: Sequence[Network], version, nft: NftRuleset | None) -> list[dict[str, Any]]:
    return nft_commands(networks, version, nft_state(nft))


def nft_add_text(networks: Sequence[Network], version, nft: NftRuleset | None) -> str:
    """nft_add's commands as `nft -f` text, one a line: what a migration loads (libnftables
    1.0.6 parses it twice as fast as the JSON, and keeps the table's comment, which JSON input
    drops; tests/unit/libvirt/test_kernel_corpus.py loads both forms against real libvirt's
    recordings)."""
    return nft_text(networks, version, nft_state(nft))


def nft_removal(nft: NftRuleset, own: dict[str, Owner]) -> tuple[list[dict[str, Any]], dict[str, int], bool]:
    """Delete libvirt's rules by handle; then, where a libvirt_network table held only libvirt's
    objects, its chains and the table, in the same batch. The third value says whether the
    batch can be made exact (steps.nft's `exact`): every object named, none by a lone `delete table`.

    Never `delete table` alone where handles are known: it would take a rule or chain someone
    added after the plan was made along with it. Named one by one and deleted non-recursively
    (nfdelete.py), such a late addition keeps its chain (or the table) non-empty, the kernel
    refuses the whole batch (EBUSY) and the step fails with nothing done.
    """
    cmds: list[dict[str, Any]] = []
    counts = {"rules": 0, "tables": 0}
    exact = True
    for fam in FAMILIES:
        table = nft.table(fam, TABLE)
        if table is None:
            continue
        rules = [r for c in table.chains for r in c.rules or ()]
        chains_ours = all(own.get(f"{fam} {TABLE} {c.name}") in LIBVIRTS for c in table.chains)
        whole = chains_ours and all(own.get(r.where()) in LIBVIRTS for r in rules)
        if whole and any(r.handle is None for r in rules):  # no handles (a saved listing): cannot name them
            cmds.append({"delete": {"table": {"family": fam, "name": TABLE}}})
            counts["tables"] += 1
            counts["rules"] += len(rules)
            exact = False
            continue
        for r in rules:
            if own.get(r.where()) in LIBVIRTS and r.handle is not None:
                cmds.append({"delete": {"rule": {"family": fam, "table": TABLE, "chain": r.chain,
                                                 "handle": r.handle}}})
                counts["rules"] += 1
        if whole:
            cmds += [{"delete": {"chain": {"family": fam, "table": TABLE, "name": c.name}}} for c in table.chains]
            cmds.append({"delete": {"table": {"family": fam, "name": TABLE}}})
            counts["tables"] += 1
    return cmds, counts, exact


def nft_touched() -> list[tuple[str, str]]:
    return [(fam, TABLE) for fam in FAMILIES]


GUARD = "vnetmigrate-guard"
GUARDED_CHAINS = ("guest_output", "guest_input", "guest_cross")


def nft_guard(networks: Sequence[Network], version) -> list[dict[str, Any]]:
    """Accept rules at the head of libvirt_network's `forward` chain, ahead of its jumps.

    A restarting libvirt daemon re-inserts each network's rules one `nft` call at a time at
    the head of its chains, the reject before the accept (seen here: ~30 ms in which a
    guest's new connections are rejected). These copies of the accepts, placed before the
    jumps libvirt never re-inserts, carry guests' traffic through that window; the dedupe
    step removes them (by their comment) once the daemon is done.
    """
    from vnetmigrate.libvirt.nft_rules import network_rules

    cmds = []
    for net in networks:
        for rule in network_rules(net, version):
            if rule.chain in GUARDED_CHAINS and rule.exprs[-1].json() == {"accept": None}:
                expr = [e.json() for e in rule.exprs if "counter" not in e.json()]
                cmds.append({"insert": {"rule": {"family": rule.family, "table": TABLE, "chain": "forward",
                                                 "expr": expr, "comment": GUARD}}})
    return cmds


IPT_GUARD = "VNM_GUARD"


def ipt_guard(networks: Sequence[Network], version) -> dict[str, str]:
    """Per family, a fragment putting copies of libvirt's FORWARD accepts into chain VNM_GUARD,
    jumped to from position 1 of FORWARD (see nft_guard: libvirt's iptables backend also
    inserts each network's reject before its accept when its daemon restarts)."""
    from vnetmigrate.libvirt.iptables_rules import network_rules

    lines: dict[str, list[str]] = {f.value: [] for f in Family}
    for net in networks:
        for rule in network_rules(net, version):
            if rule.table == "filter" and rule.chain.startswith("LIBVIRT_FW") and rule.spec[-2:] == ("--jump", "ACCEPT"):
                lines[Family.of_version(rule.family).value].append(" ".join(("-A", IPT_GUARD, *rule.spec)))
    return {fam: f"*filter\n:{IPT_GUARD} - [0:0]\n-I FORWARD 1 -j {IPT_GUARD}\n" + "\n".join(body) + "\nCOMMIT\n"
            for fam, body in lines.items() if body}
