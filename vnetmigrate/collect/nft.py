"""Collect the nftables ruleset selectively, through libnftables JSON.

A full `nft -j list ruleset` costs 2 s and 500 MB on a host with 50,000 rules, while
`list chains` (every chain with hook, priority and policy, no rules) costs 10 ms. So:
list the chains, then fetch rules only for what matters — libvirt's own tables, and the base
chains on the hooks libvirt's traffic crosses in every other native nftables table, following
their jumps and gotos. Tables managed by iptables-nft are read with iptables-nft instead
(their rules use xt compat expressions that nft's JSON cannot express faithfully, and
listing one of Docker's big chains as JSON costs seconds).

The followed chains of native tables are read over netlink where the reader writes every
rule exactly as libnftables would (collect/nfnl_chain.py): libnftables fetches every set of
a table before listing any of it, seconds on a table of thousands of anonymous sets. A chain
the reader refuses is listed by libnftables, as before. libvirt's own tables are read over
netlink too, whole, and recorded as libnftables' listing of them byte for byte
(ChainReader.table_listing): nft writes their 5,000 rules at 500 networks as JSON in ~0.15 s
of CPU. A table with anything the reader does not write exactly is listed by libnftables.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from vnetmigrate.collect.host import LiveHost
from vnetmigrate.collect.nfnl_chain import ChainReader, ListedTable, SetFetcher
from vnetmigrate.evidence import DeferredRecord
from vnetmigrate.specs import IPT_CHAIN_T, NFT_CHAIN_T, NFT_CHAINS, NFT_SET_T, NFT_TABLE_T, prefix
from vnetmigrate.rules.nft import raw_jump_targets

# ingress/egress: netdev (and inet ingress) chains see guests' frames on the bridge or uplink
HOOKS = ("prerouting", "input", "forward", "output", "postrouting", "ingress", "egress")
LIBVIRT_TABLE = "libvirt_network"
MAX_CHAINS = 2000  # a guard against pathological rulesets, not a limit seen in practice
# Read the followed chains over netlink where the reader writes their rules exactly
# (collect/nfnl_chain.py); False: libnftables lists every one (tests compare the two).
READ_OVER_NETLINK = True


def iptables_managed(host: LiveHost) -> set[tuple[str, str]]:
    """(family, table) pairs that iptables-nft could list: those belong to iptables-nft."""
    managed = set()
    for key, rec in host.ev.commands.items():
        if key.startswith(prefix(IPT_CHAIN_T)) and rec.ok:
            family = "ip" if rec.argv[0].startswith("iptables") else "ip6"
            managed.add((family, rec.argv[2]))
    return managed


def collect_chains(host: LiveHost) -> None:
    host.nft_json(NFT_CHAINS, "list chains")


def _libvirt_tables(chains: list[dict]) -> list[tuple[str, str, str, str]]:
    """(key, listing, family, table) of libvirt's tables, in the order collect_rules lists them."""
    tables = sorted({(c["family"], c["table"]) for c in chains})
    return [(NFT_TABLE_T.format(family=family, table=table), f"list table {family} {table}", family, table)
            for family, table in tables if table == LIBVIRT_TABLE and family in ("ip", "ip6", "inet")]


def _chain_list(host: LiveHost) -> tuple[list[dict], dict | None] | None:
    """(the chains, the metainfo) of the `list chains` listing; None: it failed or was not made."""
    rec = host.ev.command(NFT_CHAINS)
    if rec is None or not rec.ok:
        return None
    items = json.loads(rec.stdout).get("nftables", [])
    return ([item["chain"] for item in items if "chain" in item],
            next((item["metainfo"] for item in items if "metainfo" in item), None))


def prefetch_libvirt_tables(host: LiveHost) -> bool:
    """libvirt's tables read ahead of collect_rules (LiveHost.while_waiting, while iptables-nft
    lists a big chain): which they are depends only on the chain list. False: no chain list yet."""
    if host.ev.command(NFT_CHAINS) is None:
        return False
    chains, metainfo = _chain_list(host) or ([], None)
    tables = _libvirt_tables(chains)
    reader = host.netlink_chains() if READ_OVER_NETLINK and tables else None
    try:
        for key, text, family, table in tables:
            got = host.prefetched_tables[key] = _read_table(reader, family, table, chains, metainfo)
            if got is None:  # refused: libnftables lists it now, and collect_rules does not read it again
                host.prefetch_nft(key, text, parse=False)
    finally:
        if reader is not None:
            reader.close()
    return True


def collect_rules(host: LiveHost) -> None:
    listed = _chain_list(host)
    if listed is None:
        return
    chains, metainfo = listed
    managed = iptables_managed(host)
    reader = host.netlink_chains() if READ_OVER_NETLINK else None
    try:
        for key, text, family, table in _libvirt_tables(chains):
            got = host.prefetched_tables.pop(key) if key in host.prefetched_tables else \
                _read_table(reader, family, table, chains, metainfo)
            if got is None:
                host.nft_json(key, text, parse=False)
                continue
            table_listing, duration = got
            rec = host.ev.add_command(DeferredRecord.deferred(key, ("nft", "-j", "list", "table", family, table),
                                                              table_listing.text, via="netlink", duration=duration))
            host.ev.typed[key] = (rec, table_listing.typed)  # facts take these rules, not the text parsed back
        _follow_hooks(host, chains, managed, reader)
    finally:
        if reader is not None:
            reader.close()
    if reader is not None:  # anonymous sets left by name: read when a packet check reaches one
        host.ev.live_sets = SetFetcher(NFT_SET_T, host.ev.meta.get("netns"))


def _read_table(reader: ChainReader | None, family: str, table: str, chains: list[dict],
                metainfo: dict | None) -> tuple[ListedTable, float] | None:
    """libvirt's table read over netlink, to be recorded as libnftables' listing of it byte for
    byte (its text written only if saved), and how long that took; None: libnftables must list it."""
    if reader is None or metainfo is None:
        return None
    start = time.monotonic()
    mine = [c for c in chains if c["family"] == family and c["table"] == table]
    got = reader.table_listing(family, table, mine, metainfo)
    return None if got is None else (got, round(time.monotonic() - start, 4))


def _follow_hooks(host: LiveHost, chains: list[dict], managed: set[tuple[str, str]],
                  reader: ChainReader | None) -> None:
    wanted: list[tuple[str, str, str]] = []
    for c in chains:
        key = (c["family"], c["table"])
        if c["table"] == LIBVIRT_TABLE or key in managed:
            continue
        if c.get("hook") in HOOKS:
            wanted.append((c["family"], c["table"], c["name"]))
    by_name = {(c["family"], c["table"], c["name"]): c for c in chains}
    _follow(host, wanted, by_name, reader)


def _follow(host: LiveHost, start: list[tuple[str, str, str]], chains: dict, reader: ChainReader | None) -> None:
    seen: set[tuple[str, str, str]] = set()
    queue = list(start)
    n = 0
    while queue and n < MAX_CHAINS:
        family, table, name = queue.pop(0)
        if (family, table, name) in seen:
            continue
        seen.add((family, table, name))
        targets = _netlink(host, NFT_CHAIN_T.format(n=n), chains.get((family, table, name)), reader)
        if targets is None:
            _, doc = host.nft_json(NFT_CHAIN_T.format(n=n), list_chain_command(family, table, name),
                                   shown=("nft", "-j", "list", "chain", family, table, name))
            targets = [t for rule in _objects(doc or {}, "rule") for t in raw_jump_targets(rule.get("expr", []))]
        n += 1
        queue += ((family, table, target) for target in targets)


def _netlink(host: LiveHost, key: str, chain: dict | None, reader: ChainReader | None) -> list[str] | None:
    """The chain read over netlink and recorded as its libnftables listing would be; the
    chains it jumps to. None: libnftables must list it (a rule the reader does not write exactly)."""
    if chain is None or reader is None:
        return None
    start = time.monotonic()
    got = reader.listing(chain)
    if got is None:
        return None
    argv = ("nft", "-j", "list", "chain", chain["family"], chain["table"], chain["name"])
    rec = host.ev.add_command(DeferredRecord.deferred(key, argv, got.text, via="netlink",
                                                      duration=round(time.monotonic() - start, 4)))
    host.ev.typed[key] = (rec, got.typed)  # facts take these rules rather than parse the text back
    return got.targets


def _objects(doc: dict, kind: str) -> Iterable[dict]:
    for item in doc.get("nftables", []):
        if kind in item:
            yield item[kind]


def list_chain_command(family: str, table: str, name: str) -> str:
    """The libnftables command listing one chain, as JSON: nft's own syntax cannot name a table
    or chain that is one of its keywords (`table ip sets`, made over JSON or netlink) or that
    holds other characters (kube-proxy's `service-X/ns/svc/tcp/p80`; nft 1.0.6 takes no quoted
    name there), while its JSON input names any. libnftables reads a command as JSON when JSON
    output is on, and so does `nft -j` (docs/kernel-and-tools.md)."""
    return json.dumps({"nftables": [{"list": {"chain": {"family": family, "table": table, "name": name}}}]})
