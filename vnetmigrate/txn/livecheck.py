"""Verify a migration against the live kernel: do libvirt's rules equal what the model says?

Reads only libvirt's containers (the libvirt_network tables, the LIBVIRT_* chains and the
built-in chains that jump to them) in the current namespace, classifies them with the
model's ownership, and reports what is wrong: rules an active network needs but the kernel
lacks, duplicates and leftovers, and containers of the backend that was left.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from vnetmigrate.firewall import Family
from vnetmigrate.rules.iptables_save import IptablesSave, assemble, parse_listing
from vnetmigrate.rules.nft_ruleset import NftRuleset, parse_documents
from vnetmigrate.libvirt import get_version, parse_status
from vnetmigrate.libvirt.iptables_rules import PRIVATE_CHAINS as IPT_CHAINS
from vnetmigrate.libvirt.nft_rules import FAMILIES, TABLE
from vnetmigrate.libvirt.ownership import Owner, Ownership, classify
from vnetmigrate.libvirt.versions import Backend
from vnetmigrate.txn import kernel
from vnetmigrate.txn.libvirt_steps import GUARD, IPT_GUARD

IPT_TABLES = {t for t, _p, _c in IPT_CHAINS}


def live_iptables(chains: list[dict]) -> list[IptablesSave]:
    wanted = {(t, p) for t, p, _c in IPT_CHAINS} | {(t, c) for t, _p, c in IPT_CHAINS}
    saves = []
    for family, fam in ((f.value, f.nft) for f in Family):
        present = {(c["table"], c["name"]) for c in chains if c["family"] == fam and c["table"] in IPT_TABLES}
        listed = [parse_listing(family, t, c, _show(family, fam, t, c), f"{family} {t} {c}")
                  for t, c in sorted(present & wanted)]
        saves.append(assemble(family, "nft", listed, {}))
    return saves


def _show(family: str, fam: str, table: str, chain: str) -> str:
    """`iptables -S CHAIN`; for a built-in chain without a jump to LIBVIRT_* (its nft text
    says so, in-process) just its policy: the rest is not libvirt's, and not worth a process."""
    if not chain.startswith("LIBVIRT_"):
        text = kernel.nft_list_text(f"chain {fam} {table} {chain}", json_output=False) or ""
        if "LIBVIRT_" not in text:
            policy = "DROP" if "policy drop" in text else "ACCEPT"
            return f"-P {chain} {policy}\n"
    return kernel.ipt_show(family, table, chain)


def live_nft(chains: list[dict]) -> NftRuleset:
    docs = [d for fam in FAMILIES if (d := kernel.nft_list(f"table {fam} {TABLE}")) is not None]
    ours = {"nftables": [{"chain": c} for c in chains if c["table"] == TABLE and c["family"] in FAMILIES]}
    return parse_documents(ours, docs)


def classify_live(status_files: list[str], version: str, backend: str) -> tuple[Ownership, NftRuleset]:
    chains = kernel.chains()
    nft = live_nft(chains)
    nets = [(parse_status(text).network, Backend(backend)) for text in status_files]
    return classify(nets, get_version(version), iptables=live_iptables(chains), nft=nft), nft


def problems(status_files: list[str], version: str, backend: str, final: bool,
             accept: Sequence[str] = ()) -> list[str]:
    """What is wrong with libvirt's rules for `backend` (empty: all good).

    Always: every rule an active network needs is there. `final`: also nothing left over —
    no duplicate, no rule or container of the other backend, but the containers `accept` names
    ("family libvirt_network": kept because someone else's objects are in it, vnetmigrate.txn.kept)
    with their chains and the jumps to them.
    """
    own, _nft = classify_live(status_files, version, backend)
    out = [f"missing in {m.where}: {m.text} (network {m.network})" for m in own.missing
           if m.backend.value == backend]
    if final:
        for item in own.items:
            kept = any(item.where == a or item.where.startswith(a + " ") for a in accept) and \
                (item.kind in ("table", "chain") or item.reason.startswith("jump to libvirt's chain"))
            if item.owner is Owner.LEFTOVER and not kept:
                out.append(f"left over: {item.where} ({item.reason})")
    return out[:20] + ([f"... and {len(out) - 20} more"] if len(out) > 20 else [])



def nft_dedupe(status_files: list[str]) -> list[dict[str, Any]]:
    """After libvirt's daemon re-created its rules on top of ours: delete the extra copies,
    and the guard rules (libvirt_steps.nft_guard).

    Duplicate rules (same chain, same expressions) lose every copy but the one libvirt's
    removal recipe names (its handle), else all but the first.
    """
    recorded = set()
    for text in status_files:
        removal = parse_status(text).removal
        for action in (removal.actions if removal else ()):
            if action.nft_rule_ref is not None:
                recorded.add(action.nft_rule_ref)
    nft = live_nft(kernel.chains())
    cmds = []
    for table in nft.tables:
        for chain in table.chains:
            groups: dict[tuple, list] = {}
            for rule in chain.rules or ():
                if rule.comment == GUARD:
                    cmds.append({"delete": {"rule": {"family": rule.family, "table": rule.table, "chain": rule.chain,
                                                     "handle": rule.handle}}})
                    continue
                groups.setdefault(rule.canon(), []).append(rule)
            for copies in groups.values():
                if len(copies) < 2:
                    continue
                keep = next((r for r in copies if (r.family, r.table, r.chain, r.handle) in recorded), copies[0])
                cmds += [{"delete": {"rule": {"family": r.family, "table": r.table, "chain": r.chain,
                                              "handle": r.handle}}} for r in copies if r is not keep]
    return cmds


def ipt_dedupe() -> dict[str, str]:
    """Per family, a fragment deleting the extra copies of identical lines in LIBVIRT_* chains
    and of identical jumps to them (iptables rules have no handle: any copy is as good), and
    the guard chain (libvirt_steps.ipt_guard)."""
    out = {}
    chains = kernel.chains()
    for save in live_iptables(chains):
        blocks = []
        if any(c["family"] == Family(save.family).nft and c["table"] == "filter" and c["name"] == IPT_GUARD
               for c in chains):
            blocks.append(f"*filter\n-D FORWARD -j {IPT_GUARD}\n-F {IPT_GUARD}\n-X {IPT_GUARD}\nCOMMIT\n")
        for table in save.tables:
            lines = []
            for chain in table.chains:
                seen: set[str] = set()
                for rule in chain.rules:
                    ours = chain.name.startswith("LIBVIRT_") or (rule.target or "").startswith("LIBVIRT_")
                    if ours and rule.text in seen:
                        lines.append("-D" + rule.text[2:])
                    seen.add(rule.text)
            if lines:
                blocks.append(f"*{table.name}\n" + "\n".join(lines) + "\nCOMMIT\n")
        if blocks:
            out[save.family] = "".join(blocks)
    return out


# -- the fast check for the nftables backend: `nft list` text against the model's -----------

@functools.lru_cache(maxsize=8)
def _networks(status_files: tuple[str, ...]) -> tuple:
    return tuple(parse_status(text).network for text in status_files)


def expected_nft_lines(status_files: list[str], version: str) -> list[str]:
    """"family chain rule" for every rule libvirt's nftables backend gives these networks,
    as `nft list` prints it with counters stripped (the model's listing, checked against
    real libvirt's recordings)."""
    return expected_nft_lines_of(list(_networks(tuple(status_files))), version)


def expected_nft_lines_of(nets: list, version: str) -> list[str]:
    """expected_nft_lines of networks already parsed (the planner's, from the facts)."""
    from vnetmigrate.libvirt.listing import expected_nft

    words = _ListedWords()
    return sorted(f"{fam} {chain} {words.rule(r.exprs)}" for (fam, chain), rules in
                  expected_nft(nets, get_version(version)).items() for r in rules)


class _ListedWords:
    """libvirt.listing.listed_rule_text, each distinct statement written once: 100 networks'
    1,000 rules hold ~5,000 statements, most of them alike (`counter`, `accept`, a `ct state`).
    The same words, joined as rules.nft.render joins them (tests/unit/test_txn_listed_words.py
    compares both on every modelled kind of network and release)."""

    def __init__(self) -> None:
        from vnetmigrate.rules.nft import as_listed

        self._as_listed = as_listed
        self._words: dict[Any, str] = {}

    def rule(self, exprs) -> str:
        return " ".join(w for w in map(self.word, exprs) if w)

    def word(self, stmt) -> str:
        try:
            return self._words[stmt]
        except TypeError:  # an unhashable statement (a JSON body kept as it is)
            return self._as_listed(stmt).text(True)
        except KeyError:
            text = self._words[stmt] = self._as_listed(stmt).text(True)
            return text


def live_nft_lines() -> list[str]:
    out = []
    for fam in FAMILIES:
        text = kernel.nft_list_stable(f"table {fam} {TABLE}") or ""
        chain = None
        for raw in text.splitlines():
            line = raw.strip()
            if line.startswith("chain ") and line.endswith("{"):
                chain = line.split()[1]
            elif line == "}" or not line or line.startswith(("type ", "table ", "policy ")):
                continue
            elif chain is not None:
                out.append(f"{fam} {chain} {line}")  # nft_list_stable has no packet counters
    return sorted(out)


def nft_listing_problems(expected: list[str], final: bool, accept: Sequence[str] = ()) -> list[str]:
    """Every expected rule is live (and with `final`: nothing else is, no LIBVIRT_* chain either,
    but those `accept` names, "family table chain": kept on purpose, vnetmigrate.txn.kept)."""
    from collections import Counter

    want, have = Counter(expected), Counter(live_nft_lines())
    out = [f"missing: {line}" for line in sorted(want - have)]
    if final:
        out += [f"not expected (a duplicate or a leftover): {line}" for line in sorted(have - want)]
        out += [f"left over: {c['family']} {c['table']} {c['name']}" for c in kernel.chains()
                if c["name"].startswith("LIBVIRT_") and f"{c['family']} {c['table']} {c['name']}" not in accept]
        for family in ("ipv4-legacy", "ipv6-legacy"):
            for table in sorted(kernel.legacy_tables(family)):
                out += [f"left over: {family} {table} {ln.split()[1]}" for ln in
                        kernel.ipt_show_table(family, table).splitlines() if ln.startswith("-N LIBVIRT_")]
    return out[:20] + ([f"... and {len(out) - 20} more"] if len(out) > 20 else [])


