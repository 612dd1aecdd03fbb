"""Collect iptables rules: iptables-nft chain by chain, legacy x_tables only where they exist.

iptables-nft: a full `iptables-nft-save` costs 0.7 s on a host with 50,000 rules, while
`iptables-nft -t TABLE -S CHAIN` costs 2 ms and creates nothing (iptables 1.8.9, seen here).
So the chains come from nftables' `list chains` (collected first) and only those that
matter are listed: the built-in chains libvirt's traffic crosses, every LIBVIRT_* chain,
DOCKER-USER, and the chains those built-ins (OUTPUT aside) jump to, recursively,
unless the jump's own interface match rules out every libvirt bridge (Docker's `-o docker0
-j DOCKER`) or the target is a kube-proxy/CNI chain.

Legacy tables are read only where `/proc/net/ip*_tables_names` already lists them: opening
any other table through libiptc would create it (docs/kernel-and-tools.md §5).
"""

from __future__ import annotations

import json

from vnetmigrate.collect.host import LiveHost
from vnetmigrate.evidence import CommandRecord
from vnetmigrate.specs import IPT_CHAIN_T, LEGACY_TABLE_T, NFT_CHAINS, TABLES_NAMES

FAMILIES = {"ipv4": ("ip", "iptables-nft", TABLES_NAMES["ipv4"]),
            "ipv6": ("ip6", "ip6tables-nft", TABLES_NAMES["ipv6"])}
IPTABLES_TABLES = ("filter", "nat", "mangle", "raw", "security")
# Every built-in chain on a hook guests' packets cross (prerouting, input, forward,
# postrouting): the packet evaluator needs their rules (vnetmigrate.evaluate), and an unread
# base chain makes its verdicts unknown. OUTPUT only where libvirt puts rules.
SCANNED_BUILTINS = {"filter": ("INPUT", "FORWARD", "OUTPUT"), "nat": ("PREROUTING", "INPUT", "POSTROUTING"),
                    "mangle": ("PREROUTING", "INPUT", "FORWARD", "POSTROUTING"), "raw": ("PREROUTING",),
                    "security": ("INPUT", "FORWARD")}
FOLLOW_FROM = {t: tuple(c for c in names if c != "OUTPUT") for t, names in SCANNED_BUILTINS.items()}
# kube-proxy's and CNI plugins' nat chains (thousands on a cluster node: one per service and
# endpoint) never DNAT traffic to libvirt's subnets: not followed. Their filter chains
# (KUBE-FORWARD, KUBE-FIREWALL, ...) are few and short, and can drop guests' traffic: followed.
NAT_NOT_FOLLOWED = ("KUBE-", "CILIUM_", "cali-", "FLANNEL-")
MAX_CHAINS = 300  # per family; a bound on pathological jump graphs, recorded when reached


def chain_list(host: LiveHost) -> list[dict]:
    rec = host.ev.command(NFT_CHAINS)
    if rec is None or not rec.ok:
        return []
    return [item["chain"] for item in json.loads(rec.stdout).get("nftables", []) if "chain" in item]


def collect(host: LiveHost, bridges: set[str]) -> None:
    chains = chain_list(host)
    ahead = _whole_tables_ahead(host, chains)
    for family, (nft_family, binary, names_file) in FAMILIES.items():
        _collect_nft(host, family, nft_family, binary, chains, bridges, ahead)
        names = host.ev.text(names_file)
        if names is None:
            names = host.read(names_file, kernel=True).content
        tables = sorted({n.strip() for n in (names or "").splitlines() if n.strip()})
        if tables:
            _collect_legacy(host, family, tables)


def could_match(words: list[str], bridges: set[str]) -> bool:
    """Whether a rule's -i/-o matches leave room for traffic of some libvirt bridge."""
    for flags in (("-i", "--in-interface"), ("-o", "--out-interface")):
        for i, w in enumerate(words):
            if w in flags and i + 1 < len(words) and not (i > 0 and words[i - 1] == "!"):
                name = words[i + 1]
                if not any(b == name or (name.endswith("+") and b.startswith(name[:-1])) for b in bridges):
                    return False
    return True


def _present(chains: list[dict], nft_family: str) -> set[tuple[str, str]]:
    return {(c["table"], c["name"]) for c in chains if c["family"] == nft_family and c["table"] in IPTABLES_TABLES}


def _first_level(present: set[tuple[str, str]]) -> list[tuple[str, str, bool]]:
    """(table, chain, follow): the chains INPUT and FORWARD reach are followed, the rest only listed."""
    queue = [(t, c, c in FOLLOW_FROM.get(t, ())) for t, names in SCANNED_BUILTINS.items() for c in names
             if (t, c) in present]
    return queue + sorted((t, c, False) for t, c in present if c.startswith("LIBVIRT_") or c == "DOCKER-USER")


def _collect_nft(host: LiveHost, family: str, nft_family: str, binary: str, chains: list[dict],
                 bridges: set[str], ahead: dict | None = None) -> None:
    present = _present(chains, nft_family)
    if not present:
        return
    queue = _first_level(present)
    seen: set[tuple[str, str]] = set()
    user_chains: dict[str, set[str]] = {}
    n = 0
    stopped = False
    # Breadth first, a level at a time: a level's listings run side by side (LiveHost.run_all),
    # numbered and followed in the order one queue taken one by one would give them.
    while queue and not stopped:
        level = []
        for table, chain, follow in queue:
            if (table, chain) in seen:
                continue
            if n >= MAX_CHAINS:
                host.ev.add_error("collect.iptables", f"{family}: stopped after {MAX_CHAINS} chains")
                stopped = True
                break
            seen.add((table, chain))
            level.append((IPT_CHAIN_T.format(family=family, n=n), [binary, "-t", table, "-S", chain], table, follow))
            n += 1
        records = host.run_all(_jobs(host, binary, level, present, ahead if ahead is not None else {}))
        queue = []
        for (_key, _argv, table, follow), rec in zip(level, records):
            if rec.ok and follow:
                chains_here = user_chains.setdefault(table, {c for t, c in present if t == table})
                queue += _targets(rec.stdout, table, present, bridges, chains_here)


# A table whose every chain is to be listed anyway is listed whole, in one process, and each
# chain's record made from that listing (`split_listing`); False: one process per chain always.
WHOLE_TABLES = True
# the `via` of a chain's record made so (docs/kernel-and-tools.md §11)
VIA_TABLE = "table-listing"


def _whole_tables_ahead(host: LiveHost, chains: list[dict]) -> dict[tuple[str, str], CommandRecord]:
    """Both families' whole-table listings of the first level, side by side (IPv6's need not
    wait for IPv4's records), by (binary, table): not recorded; `_jobs` uses each in its turn."""
    if not WHOLE_TABLES:
        return {}
    wanted = []
    for nft_family, binary, _names in FAMILIES.values():
        present = _present(chains, nft_family)
        wanted += [(binary, t) for t in _whole(_first_level(present), present)]
    listings = host.run_all([(f"table {t}", [binary, "-t", t, "-S"]) for binary, t in wanted], record=False)
    return dict(zip(wanted, listings))


def _whole(level: list[tuple], present: set[tuple[str, str]]) -> dict[str, list[str]]:
    """The tables of `level` (its (table, chain, ...) in order) whose every chain it lists,
    with those chains in its order: more than one, else one listing gains nothing."""
    asked: dict[str, list[str]] = {}
    for table, chain, *_rest in level:
        asked.setdefault(table, []).append(chain)
    return {t: names for t, names in asked.items()
            if len(names) > 1 and set(names) == {c for pt, c in present if pt == t}}


def _jobs(host: LiveHost, binary: str, level: list[tuple], present: set[tuple[str, str]],
          ahead: dict[tuple[str, str], CommandRecord]) -> list:
    """The level's listings: (key, argv) to run, or each chain's record made from one listing
    of its whole table, where the level lists every chain that table has (libvirt's chains and
    the built-ins they hang from, on most hosts). A table holding any other chain (Docker's,
    kube-proxy's, thousands of them) is still read chain by chain, and only what matters."""
    jobs: list = [(key, argv) for key, argv, _table, _follow in level]
    if not WHOLE_TABLES:
        return jobs
    asked = _whole([(table, argv[4]) for _key, argv, table, _follow in level], present)
    if not asked:
        return jobs
    listings = {t: ahead.pop((binary, t)) for t in asked if (binary, t) in ahead}
    missing = [t for t in asked if t not in listings]
    listings.update(zip(missing, host.run_all([(f"table {t}", [binary, "-t", t, "-S"]) for t in missing],
                                              record=False)))
    split: dict[tuple[str, str], tuple[str, float]] = {}
    for table, listing in listings.items():
        for chain, text in (split_listing(listing, asked[table]) or {}).items():
            split[(table, chain)] = text, listing.duration
    return [CommandRecord(key, tuple(argv), 0, stdout=split[(table, argv[4])][0], duration=split[(table, argv[4])][1],
                          via=VIA_TABLE) if (table, argv[4]) in split else (key, argv)
            for key, argv, table, _follow in level]


def split_listing(listing: CommandRecord, chains: list[str]) -> dict[str, str] | None:
    """What `iptables-nft -t TABLE -S CHAIN` prints for each of `chains`, from `listing`, the
    table's whole `-S` (its policies and new chains first, then each chain's rules in turn);
    None when it cannot be told exactly: the listing failed or said anything on stderr (a
    warning each chain's listing would print too), a line is not -P/-N/-A, a chain is missing."""
    if listing.returncode != 0 or listing.stderr or listing.error:
        return None
    heads: dict[str, str] = {}
    rules: dict[str, list[str]] = {c: [] for c in chains}
    for line in listing.stdout.splitlines(keepends=True):
        words = line.split(" ", 2)
        if len(words) < 2 or words[0] not in ("-P", "-N", "-A") or not line.endswith("\n") \
                or ('"' in line and not _quotes_closed(line)):
            return None  # (a quoted comment holding a line break would run into the next line)
        name = words[1].rstrip("\n")
        if words[0] == "-A":
            if len(words) < 3:
                return None
            if name in rules:
                rules[name].append(line)
        elif name in heads:
            return None
        else:
            heads[name] = line
    if any(c not in heads for c in chains):
        return None
    return {c: heads[c] + "".join(rules[c]) for c in chains}


def _quotes_closed(line: str) -> bool:
    """Whether every quote `iptables -S` opens in `line` is closed there (it writes a quote or
    backslash inside quotes with a backslash before it)."""
    inside, escaped = False, False
    for ch in line:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            inside = not inside
    return not inside


def _targets(listing: str, table: str, present: set[tuple[str, str]], bridges: set[str],
             chains_here: set[str]) -> list[tuple[str, str, bool]]:
    """The chains a listed chain's rules jump or go to that could see libvirt's traffic."""
    out = []
    for line in listing.splitlines():
        words = line.split()
        if chains_here.isdisjoint(words[2:]):
            continue  # names no chain of the table (most rules of a big chain: ACCEPT, DROP)
        for flag in ("-j", "-g", "--jump", "--goto"):
            if words[:1] == ["-A"] and flag in words[:-1]:
                target = words[words.index(flag) + 1]
                if (table, target) in present and could_match(words, bridges) \
                        and not (table == "nat" and target.startswith(NAT_NOT_FOLLOWED)):
                    out.append((table, target, True))
    return out


def _collect_legacy(host: LiveHost, family: str, tables: list[str]) -> None:
    """Legacy tables that already exist, with iptables-legacy-save, one table at a time.

    Not python-iptables: reading a legacy rule whose target is CHECKSUM (libvirt's mangle rule)
    through it creates every other legacy table of the family (filter, nat, raw, security) in
    that namespace, seen here with python-iptables 1.2.0 on iptables 1.8.9; iptables-legacy-save
    creates nothing.
    """
    binary = "iptables-legacy-save" if family == "ipv4" else "ip6tables-legacy-save"
    for table in tables:
        host.run(LEGACY_TABLE_T.format(family=family, table=table), [binary, "-t", table])
