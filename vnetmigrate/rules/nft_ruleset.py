"""The nftables ruleset: tables, chains (hook, priority, policy) and their rules, built from
libnftables JSON listings (`list chains` plus the tables and chains whose rules were fetched)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import field
from typing import Any

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.rules.nft import NftRule


@dataclass(frozen=True)
class NftChain:
    """A chain of an nftables listing."""
    family: str
    table: str
    name: str
    handle: int | None = None
    type: str | None = None
    hook: str | None = None
    prio: int | None = None
    policy: str | None = None
    rules: tuple[NftRule, ...] | None = None  # None: rules were not fetched

    @property
    def is_base(self) -> bool:
        return self.hook is not None

    @property
    def where(self) -> str:
        return f"{self.family} {self.table} {self.name}"


@dataclass(frozen=True)
class NftTable:
    """A table of an nftables listing."""
    family: str
    name: str
    chains: tuple[NftChain, ...] = ()

    def chain(self, name: str) -> NftChain | None:
        return next((c for c in self.chains if c.name == name), None)


@dataclass(frozen=True)
class NftRuleset:
    """The chains of every table; rules of those chains that were fetched."""

    tables: tuple[NftTable, ...] = ()
    partial: bool = True  # True when only selected chains' rules were fetched
    errors: tuple[str, ...] = field(default=())
    # the elements of anonymous sets named by reference in rules ("@__set12": facts.nftsets)
    sets: Any = field(default=None, compare=False, repr=False)

    def table(self, family: str, name: str) -> NftTable | None:
        return next((t for t in self.tables if t.family == family and t.name == name), None)

    def chains(self) -> Iterator[NftChain]:
        for t in self.tables:
            yield from t.chains

    def chain(self, family: str, table: str, name: str) -> NftChain | None:
        t = self.table(family, table)
        return t.chain(name) if t else None

    def base_chains(self, hook: str | None = None, families: Iterable[str] | None = None) -> list[NftChain]:
        fams = set(families) if families is not None else None
        out = [c for c in self.chains() if c.is_base and (hook is None or c.hook == hook)
               and (fams is None or c.family in fams)]
        return sorted(out, key=lambda c: (c.prio if c.prio is not None else 0, c.family, c.table, c.name))


def _chain_from(obj: dict[str, Any], rules: tuple[NftRule, ...] | None) -> NftChain:
    prio = obj.get("prio")
    return NftChain(family=obj["family"], table=obj["table"], name=obj["name"], handle=obj.get("handle"),
                    type=obj.get("type"), hook=obj.get("hook"),
                    prio=prio if isinstance(prio, int) else None, policy=obj.get("policy"), rules=rules)


@dataclass(frozen=True)
class TypedChain:
    """One chain's listing with its rules already typed: a chain the collector read over
    netlink (collect/nfnl_chain.py) typed each rule as it wrote its text, so the text is not
    parsed back. `chain` is the chain's object as `list chains` gave it."""

    chain: dict[str, Any]
    rules: tuple[NftRule, ...]


def parse_documents(chains_doc: dict[str, Any], listings: Iterable[dict[str, Any] | TypedChain],
                    partial: bool = True) -> NftRuleset:
    """Build the ruleset from `list chains` plus any number of table/chain listings."""
    rules: dict[tuple[str, str, str], list[NftRule]] = {}
    extra_chains: dict[tuple[str, str, str], dict[str, Any]] = {}
    for doc in listings:
        if isinstance(doc, TypedChain):  # as its text would be read: the chain, then its rules
            c = doc.chain
            key = (c["family"], c["table"], c["name"])
            extra_chains.setdefault(key, c)
            rules.setdefault(key, []).extend(doc.rules)
            continue
        for item in doc.get("nftables", []):
            if "chain" in item:
                c = item["chain"]
                key = (c["family"], c["table"], c["name"])
                extra_chains.setdefault(key, c)
                rules.setdefault(key, [])
            elif "rule" in item:
                r = item["rule"]
                rules.setdefault((r["family"], r["table"], r["chain"]), []).append(NftRule.from_json(r))
    by_table: dict[tuple[str, str], list[NftChain]] = {}
    seen = set()
    for item in chains_doc.get("nftables", []):
        if "chain" not in item:
            continue
        c = item["chain"]
        key = (c["family"], c["table"], c["name"])
        seen.add(key)
        fetched = rules.get(key)
        by_table.setdefault((c["family"], c["table"]), []).append(
            _chain_from(c, tuple(fetched) if fetched is not None else None))
    for key, c in extra_chains.items():  # a chain listed later than `list chains` ran
        if key not in seen:
            by_table.setdefault((key[0], key[1]), []).append(_chain_from(c, tuple(rules.get(key, []))))
    for item in chains_doc.get("nftables", []):  # tables without chains
        if "table" in item:
            by_table.setdefault((item["table"]["family"], item["table"]["name"]), [])
    tables = tuple(NftTable(f, n, tuple(cs)) for (f, n), cs in by_table.items())
    return NftRuleset(tables=tables, partial=partial)


def parse_ruleset_json(text: str) -> NftRuleset:
    """A full `nft -j list ruleset` document (bundles, tests)."""
    doc = json.loads(text)
    return parse_documents(doc, [doc], partial=False)
