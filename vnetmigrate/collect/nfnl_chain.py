"""List a chain over netlink as `nft -j list chain` would, leaving anonymous sets by name.

The chain's rules come from one filtered rule dump (`nfnl_read`), typed by `nfnl_rules` as
facts would type their libnftables JSON, which is written as text only when the evidence is
saved or bundled (evidence.DeferredRecord). A lookup in an anonymous set (`tcp dport { 80,
443 }`) is written as a reference, "@__set12", and its elements are read only if a packet
check reaches it (`SetFetcher`): a table may hold 10,000 of them and the kernel's cost of
reading each grows with their number. Only plain anonymous sets are left so (a hash of single
values); a chain with anything else this reader does not write exactly is listed by
libnftables instead.
"""

from __future__ import annotations

import json
import struct
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

from vnetmigrate.collect import nfnl_read, nfnl_rules
from vnetmigrate.collect.nfnl_read import NetlinkError, Reader
from vnetmigrate.evidence import CommandRecord
from vnetmigrate.netns import entered
from vnetmigrate.rules.nft import Match, NftRule, Verdict
from vnetmigrate.rules.nft_ruleset import TypedChain
from vnetmigrate.specs import prefix

PLAIN_ANONYMOUS = 0x3  # NFT_SET_ANONYMOUS | NFT_SET_CONSTANT: no intervals, maps, timeouts
_BLOCK = 1024  # rules' lines joined at a time


class ChainReader:
    """Lists chains over one netlink socket; `listing` says None when it cannot be exact."""

    def __init__(self) -> None:
        self.reader = Reader()
        self._sets: Reader | None = None  # its own socket: a rule dump is being read meanwhile
        self._flags: dict[tuple[str, str], dict[str, int]] = {}
        nfnl_rules.forget()  # no interface table of another namespace or time

    def close(self) -> None:
        self.reader.close()
        if self._sets is not None:
            self._sets.close()
        nfnl_rules.forget()

    def _set_flags(self, family: str, table: str) -> dict[str, int]:
        if (family, table) not in self._flags:  # one dump of the table's sets (no elements)
            self._sets = self._sets or Reader()
            self._flags[(family, table)] = dict(nfnl_rules.set_flags(m) for m in self._sets.sets(family, table))
        return self._flags[(family, table)]

    def _by_name(self, family: str, table: str, name: str, left: Any) -> None:
        flags = self._set_flags(family, table).get(name)
        if flags is not None and flags & nfnl_rules.ANONYMOUS and flags != PLAIN_ANONYMOUS:
            raise nfnl_rules.Unsupported(f"anonymous set {name} with flags {flags:#x}")
        return None  # by name: a named set (as nft lists it), or a plain anonymous one read later

    def listing(self, chain: dict[str, Any]) -> Listed | None:
        """`chain` (its object from `list chains`) read: its rules typed as facts would type
        `nft -j list chain`'s document, the chains they jump or go to, and what writes that
        document as text when it is asked for; None: not exactly."""
        # one string object for the names every rule repeats (as NftRule.from_json makes them)
        family, table, name = (sys.intern(chain[k]) for k in ("family", "table", "name"))
        targets: list[str] = []
        typed: list[NftRule] = []
        parts: list[tuple] = []
        replies = self.reader.rules(family, table, name)
        try:
            for m in replies:
                rule, written = nfnl_rules.convert(m, family, table, name, self._by_name)
                targets += (st.target for st in rule.stmts if type(st) is Verdict and st.target is not None)
                typed.append(rule)
                parts.append(written)
        except (nfnl_rules.Unsupported, KeyError, IndexError, ValueError, TypeError, struct.error):
            _drain(replies)  # the kernel refuses another dump on this socket until this one is read
            return None
        except NetlinkError:
            return None
        rules = tuple(typed)
        return Listed(lambda: _text(chain, rules, parts), targets, TypedChain(chain, rules), parts)


    def table_listing(self, family: str, table: str, chains: list[dict[str, Any]],
                      metainfo: dict[str, Any]) -> "ListedTable | None":
        """The table read as `nft -j list table` lists it, byte for byte, given its chains'
        objects from `list chains` (in that listing's order) and that listing's metainfo; None
        where it cannot be exact: a set, object or flowtable in it, table flags, a rule this
        reader does not write, a name JSON would escape. libvirt's own tables (5,000 rules at
        500 networks) are what this is for: libnftables lists them in JSON 3x slower than text."""
        try:
            info = self.reader.table(family, table)
            if nfnl_read.NFTA_TABLE_FLAGS in info and nfnl_read.be32(info[nfnl_read.NFTA_TABLE_FLAGS]):
                return None
            # nft 1.0.6 leaves a table's comment (libvirt 12's) out of its JSON; newer nft may not
            if nfnl_read.NFTA_TABLE_USERDATA in info and metainfo.get("version") != "1.0.6":
                return None
            handle = struct.unpack(">Q", info[nfnl_read.NFTA_TABLE_HANDLE])[0]
            if self.reader.holds_other_objects(family, table):
                return None
        except (NetlinkError, KeyError, ValueError, struct.error):
            return None
        if not all(_plain(v) for c in chains for v in c.values() if isinstance(v, str)):
            return None
        listed = []
        for chain in chains:
            got = self.listing(chain)
            if got is None or not all(_plain_rule(r) for r in got.typed.rules):
                return None
            listed.append(got)
        head = {"metainfo": metainfo}, {"table": {"family": family, "name": table, "handle": handle}}
        return ListedTable(lambda: _table_text(head, chains, listed), [got.typed for got in listed])


def _plain(value: str) -> bool:
    """A string JSON writes as it is (json.dumps and nft's jansson escape others differently)."""
    return value.isascii() and value.isprintable() and '"' not in value and "\\" not in value


def _plain_rule(rule: NftRule) -> bool:
    if rule.comment is not None and not _plain(rule.comment):
        return False
    for st in rule.stmts:
        kind = type(st)
        if kind is Match:
            if type(st.right) is str and not _plain(st.right):
                return False
        elif kind is Verdict and st.target is not None and not _plain(st.target):
            return False
    return True


def _table_text(head: tuple, chains: list[dict[str, Any]], listed: list["Listed"]) -> str:
    """`nft -j list table`'s output: one line, its objects as json.dumps writes them (the same
    separators as nft's), the chains, then every chain's rules."""
    encode = _line_encoder()
    parts = [json.dumps(item) for item in head]
    parts += (json.dumps({"chain": chain}) for chain in chains)
    for got in listed:
        rules, written = got.typed.rules, got.written
        parts += ("".join(encode({"rule": nfnl_rules.as_json(rule, w)}, 0)) for rule, w in zip(rules, written))
    return '{"nftables": [' + ", ".join(parts) + "]}\n"


class ListedTable(NamedTuple):
    text: Callable[[], str]  # the listing as libnftables prints it, written when called
    typed: list[TypedChain]  # each chain's rules typed, in the listing's order


class Listed(NamedTuple):
    # the listing as libnftables would print it, an object a line (saved evidence is parsed
    # line by line: no whole tree of 50,000 rules at once), written when called: only saved
    # or bundled evidence reads it (15 MB for 50,000 rules)
    text: Callable[[], str]
    targets: list[str]  # the chains its rules jump or go to, in order
    typed: TypedChain  # its rules typed (rules/nft.py), as facts type the text
    written: list[tuple]  # what nfnl_rules.as_json writes each rule's JSON from


def _text(chain: dict[str, Any], rules: tuple[NftRule, ...], parts: list[tuple]) -> str:
    # 50,000 rules make 15 MB of text: their lines are joined a block at a time, and the
    # blocks once (a list of every line, joined, then framed, held three copies at once)
    encode = _line_encoder()
    blocks = ['{"nftables": [\n' + json.dumps({"chain": chain})]
    for i in range(0, len(rules), _BLOCK):
        blocks.append(",\n".join("".join(encode({"rule": nfnl_rules.as_json(rule, written)}, 0))
                                 for rule, written in zip(rules[i:i + _BLOCK], parts[i:i + _BLOCK])))
    blocks[-1] += "\n]}"
    return ",\n".join(blocks)


def _line_encoder():
    """`json.dumps`' own encoder, made once for a chain's rules rather than once a rule: the
    same text (tests/lab/test_nfnl_read.py), without ~2 µs of set-up per rule."""
    from json import encoder

    if encoder.c_make_encoder is None:  # no C accelerator: json.dumps itself
        return lambda obj, _level: [json.dumps(obj)]
    default = json.JSONEncoder()
    return encoder.c_make_encoder({}, default.default, encoder.encode_basestring_ascii, None,
                                  default.key_separator, default.item_separator, False, False, True)


def _drain(replies) -> None:
    try:
        for _ in replies:
            pass
    except NetlinkError:
        pass


class SetFetcher:
    """Reads an anonymous set's elements when the evaluator needs them, in the scanned
    namespace, and records what it read as evidence (`nft.set.N`)."""

    def __init__(self, key_template: str, netns: str | None):
        self.template, self.netns = key_template, netns

    def __call__(self, ev, family: str, table: str, name: str, left: Any) -> CommandRecord:
        start = prefix(self.template)
        n = sum(1 for k in ev.commands if k.startswith(start))
        argv = ("nfnetlink", "list", "set", family, table, name)
        body: dict[str, Any] = {"family": family, "table": table, "name": name}
        try:
            with entered(self.netns), Reader() as reader:
                info = reader.set_info(family, table, name)
                flags = nfnl_read.be32(info[nfnl_read.NFTA_SET_FLAGS]) if nfnl_read.NFTA_SET_FLAGS in info else 0
                if flags == PLAIN_ANONYMOUS:
                    fmt, order = nfnl_rules.formatter(left)
                    body["elem"] = nfnl_rules.anonymous_elements(reader, family, table, name, fmt, order)
                else:  # a named set called "__set...": by name, as nft lists it (its elements stay unread)
                    body["flags"] = flags
        except (nfnl_rules.Unsupported, NetlinkError, OSError, KeyError, ValueError, struct.error) as exc:
            return ev.add_command(CommandRecord(self.template.format(n=n), argv, 1, stderr=str(exc), via="netlink"))
        body = {"set": body}
        return ev.add_command(CommandRecord(self.template.format(n=n), argv, 0, stdout=json.dumps(body),
                                            via="netlink"))

