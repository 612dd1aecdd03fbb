"""iptables rulesets: tables and chains of rules, from iptables-save output or per-chain `-S`
listings (nft or legacy)."""

from __future__ import annotations

import sys

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError
from vnetmigrate.rules.iptables import IptRule, split_words

intern = sys.intern
LEGACY_WARNING = "# Warning: iptables-legacy tables present"


@dataclass(frozen=True)
class IptChain:
    """A chain of an iptables listing, its policy and rules."""
    family: str
    table: str
    name: str
    policy: str | None  # None for user-defined chains
    rules: tuple[IptRule, ...] = ()
    listed: bool = True  # False: known by name only; its rules were not read (selective scan)

    @property
    def builtin(self) -> bool:
        return self.policy is not None

    @property
    def where(self) -> str:
        return f"{self.family} {self.table} {self.name}"


@dataclass(frozen=True)
class IptTable:
    """A table of an iptables listing."""
    family: str
    name: str
    chains: tuple[IptChain, ...]

    def chain(self, name: str) -> IptChain | None:
        return next((c for c in self.chains if c.name == name), None)


@dataclass(frozen=True)
class IptablesSave:
    """An iptables listing of one family and source."""
    family: str  # "ipv4" or "ipv6"
    source: str  # "nft" (iptables-nft) or "legacy"
    tables: tuple[IptTable, ...]
    legacy_warning: bool = False

    def table(self, name: str) -> IptTable | None:
        return next((t for t in self.tables if t.name == name), None)

    def chain(self, table: str, name: str) -> IptChain | None:
        t = self.table(table)
        return t.chain(name) if t else None

    def chains(self):
        for t in self.tables:
            yield from t.chains

    def rules(self):
        """Every rule, table by table, chain by chain, in listing order."""
        for c in self.chains():
            yield from c.rules


def parse_save(text: str, family: str, source: str, origin: str = "iptables-save") -> IptablesSave:
    """Parse iptables-save output. Odd input raises InputError naming the line."""
    tables: list[IptTable] = []
    current: str | None = None
    order: list[str] = []
    policies: dict[str, str | None] = {}
    rules: dict[str, list[IptRule]] = {}
    warning = False

    def close(lineno: int) -> None:
        nonlocal current
        if current is None:
            raise InputError(f"{origin}: line {lineno}: COMMIT outside a table")
        chains = tuple(IptChain(family, current, n, policies[n], tuple(rules[n])) for n in order)
        tables.append(IptTable(family, current, chains))
        current = None

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            warning = warning or line.startswith(LEGACY_WARNING)
            continue
        if line.startswith("*"):
            if current is not None:
                raise InputError(f"{origin}: line {lineno}: table {line[1:]!r} starts before COMMIT of {current!r}")
            current, order, policies, rules = line[1:].strip(), [], {}, {}
            if not current:
                raise InputError(f"{origin}: line {lineno}: empty table name")
        elif line == "COMMIT":
            close(lineno)
        elif line.startswith(":"):
            parts = line[1:].split()
            if current is None or len(parts) < 2:
                raise InputError(f"{origin}: line {lineno}: malformed chain line {raw!r}")
            name = parts[0]
            order.append(name)
            policies[name] = None if parts[1] == "-" else parts[1]
            rules[name] = []
        elif line.startswith("-A ") or line.startswith("--append "):
            words = split_words(line, f"{origin}: line {lineno}")
            if current is None or len(words) < 2 or words[1] not in rules:
                raise InputError(f"{origin}: line {lineno}: rule for an undeclared chain: {raw!r}")
            chain = words[1]
            rules[chain].append(IptRule(family, current, chain, len(rules[chain]) + 1, tuple(words[2:])))
        else:
            raise InputError(f"{origin}: line {lineno}: unexpected line {raw!r}")
    if current is not None:
        raise InputError(f"{origin}: table {current!r} has no COMMIT (output truncated?)")
    return IptablesSave(family, source, tuple(tables), warning)


_NEW = object.__new__
_FIELDS = tuple(getattr(IptRule, name).__set__ for name in ("family", "table", "chain", "index", "args"))


def _rule(family: str, table: str, chain: str, index: int, args: tuple[str, ...]) -> IptRule:
    """IptRule(family, table, chain, index, args), without the frozen dataclass' __init__ (its
    object.__setattr__ per field was a quarter of parsing a 50,000-rule listing)."""
    rule = _NEW(IptRule)
    set_family, set_table, set_chain, set_index, set_args = _FIELDS
    set_family(rule, family)
    set_table(rule, table)
    set_chain(rule, chain)
    set_index(rule, index)
    set_args(rule, args)
    return rule


def parse_listing(family: str, table: str, chain: str, text: str, origin: str) -> IptChain:
    """One chain from `iptables -t TABLE -S CHAIN` (-P/-N line, then -A lines)."""
    policy: str | None = None
    rules: list[IptRule] = []
    rule_prefix = f"-A {chain} "
    add = rules.append
    for lineno, raw in enumerate(text.splitlines(), 1):
        if raw.startswith(rule_prefix) and '"' not in raw and "'" not in raw and "\\" not in raw:
            # the common line, read as the general case below would, without its checks (a
            # chain may hold 50,000 rules); words interned: every rule repeats -p, tcp, -j, ACCEPT
            add(_rule(family, table, chain, len(rules) + 1, tuple(map(intern, raw.split()[2:]))))
            continue
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = split_words(line, f"{origin}: line {lineno}")
        if words[0] == "-P" and len(words) == 3 and words[1] == chain:
            policy = words[2]
        elif words[0] == "-N" and len(words) == 2 and words[1] == chain:
            policy = None
        elif words[0] == "-A" and len(words) >= 2 and words[1] == chain:
            rules.append(IptRule(family, table, chain, len(rules) + 1, tuple(map(intern, words[2:]))))
        else:
            raise InputError(f"{origin}: line {lineno}: unexpected line {raw!r}")
    return IptChain(family, table, chain, policy, tuple(rules))


def assemble(family: str, source: str, chains: list[IptChain], names: dict[str, list[tuple[str, str | None]]],
             legacy_warning: bool = False) -> IptablesSave:
    """An IptablesSave from chains listed one by one, plus the names (and policies) of the
    chains that were not listed, from nftables' chain list (their rules stay unknown: empty)."""
    listed = {(c.table, c.name): c for c in chains}
    by_table: dict[str, list[IptChain]] = {}
    for table, entries in names.items():
        for name, policy in entries:
            chain = listed.pop((table, name), None) or IptChain(family, table, name, policy, (), listed=False)
            by_table.setdefault(table, []).append(chain)
    for (table, _), chain in listed.items():  # listed, though the chain list did not name it
        by_table.setdefault(table, []).append(chain)
    tables = tuple(IptTable(family, t, tuple(cs)) for t, cs in by_table.items())
    return IptablesSave(family, source, tables, legacy_warning)

