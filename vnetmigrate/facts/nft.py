"""Typed view of the nftables ruleset, built from libnftables JSON listings."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from vnetmigrate.facts.nftexpr import render_rule, verdict_of
from vnetmigrate.nftjson import jump_targets


@dataclass(frozen=True)
class NftRule:
    family: str
    table: str
    chain: str
    handle: int | None
    expr: tuple[Any, ...]
    comment: str | None = None

    @property
    def text(self) -> str:
        """The rule in nft syntax (counters left out)."""
        return render_rule(self.expr, self.comment)

    @property
    def verdict(self) -> str | None:
        """The rule's final verdict word (accept, drop, reject, jump, ...), if it has one."""
        return verdict_of(self.expr)

    def jump_targets(self) -> list[str]:
        return list(jump_targets(list(self.expr)))

    def where(self) -> str:
        return f"{self.family} {self.table} {self.chain}" + (f" handle {self.handle}" if self.handle else "")


@dataclass(frozen=True)
class NftChain:
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


def _rule_from(obj: dict[str, Any]) -> NftRule:
    return NftRule(family=obj["family"], table=obj["table"], chain=obj["chain"], handle=obj.get("handle"),
                   expr=tuple(obj.get("expr", [])), comment=obj.get("comment"))


def parse_documents(chains_doc: dict[str, Any], listings: Iterable[dict[str, Any]],
                    partial: bool = True) -> NftRuleset:
    """Build the ruleset from `list chains` plus any number of table/chain listings."""
    rules: dict[tuple[str, str, str], list[NftRule]] = {}
    extra_chains: dict[tuple[str, str, str], dict[str, Any]] = {}
    for doc in listings:
        for item in doc.get("nftables", []):
            if "chain" in item:
                c = item["chain"]
                key = (c["family"], c["table"], c["name"])
                extra_chains.setdefault(key, c)
                rules.setdefault(key, [])
            elif "rule" in item:
                r = item["rule"]
                rules.setdefault((r["family"], r["table"], r["chain"]), []).append(_rule_from(r))
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
