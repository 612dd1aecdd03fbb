"""Collect iptables rules: iptables-nft chain by chain, legacy x_tables only where they exist.

iptables-nft: a full `iptables-nft-save` costs 0.7 s on a host with 50,000 rules, while
`iptables-nft -t TABLE -S CHAIN` costs 2 ms and creates nothing (iptables 1.8.9, seen here).
So the chains come from nftables' `list chains` (collected first) and only those that
matter are listed: the built-in chains libvirt's traffic crosses, every LIBVIRT_* chain,
DOCKER-USER, and the chains filter INPUT/FORWARD jump to, recursively, unless the jump's own
interface match rules out every libvirt bridge (Docker's `-o docker0 -j DOCKER`).

Legacy tables are read with python-iptables, and only those `/proc/net/ip*_tables_names`
already lists: opening any other table through libiptc would create it (domain.md section 7).
The legacy dump is rendered in iptables-save syntax so one parser serves both.
"""

from __future__ import annotations

import ipaddress
import json
import shlex
import time

from vnetmigrate.collect.host import LiveHost
from vnetmigrate.evidence import CommandRecord

FAMILIES = {"ipv4": ("ip", "iptables-nft", "/proc/net/ip_tables_names"),
            "ipv6": ("ip6", "ip6tables-nft", "/proc/net/ip6_tables_names")}
IPTABLES_TABLES = ("filter", "nat", "mangle", "raw", "security")
BUILTINS = {"filter": ("INPUT", "FORWARD", "OUTPUT"), "nat": ("PREROUTING", "POSTROUTING"),
            "mangle": ("POSTROUTING",)}
FOLLOW_FROM = {"filter": ("INPUT", "FORWARD")}
MAX_CHAINS = 300  # per family; a bound on pathological jump graphs, recorded when reached


def chain_list(host: LiveHost) -> list[dict]:
    rec = host.ev.command("nft.chains")
    if rec is None or not rec.ok:
        return []
    return [item["chain"] for item in json.loads(rec.stdout).get("nftables", []) if "chain" in item]


def collect(host: LiveHost, bridges: set[str]) -> None:
    chains = chain_list(host)
    for family, (nft_family, binary, names_file) in FAMILIES.items():
        _collect_nft(host, family, nft_family, binary, chains, bridges)
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


def _collect_nft(host: LiveHost, family: str, nft_family: str, binary: str, chains: list[dict],
                 bridges: set[str]) -> None:
    present = {(c["table"], c["name"]) for c in chains if c["family"] == nft_family and c["table"] in IPTABLES_TABLES}
    if not present:
        return
    # (table, chain, follow): the chains INPUT and FORWARD reach are followed, the rest only listed
    queue = [(t, c, c in FOLLOW_FROM.get(t, ())) for t, names in BUILTINS.items() for c in names if (t, c) in present]
    queue += sorted((t, c, False) for t, c in present if c.startswith("LIBVIRT_") or c == "DOCKER-USER")
    seen: set[tuple[str, str]] = set()
    n = 0
    while queue:
        table, chain, follow = queue.pop(0)
        if (table, chain) in seen:
            continue
        if n >= MAX_CHAINS:
            host.ev.add_error("collect.iptables", f"{family}: stopped after {MAX_CHAINS} chains")
            break
        seen.add((table, chain))
        rec = host.run(f"ipt.{family}.{n}", [binary, "-t", table, "-S", chain])
        n += 1
        if not rec.ok or not follow:
            continue
        for line in rec.stdout.splitlines():
            words = line.split()
            for flag in ("-j", "-g", "--jump", "--goto"):
                if words[:1] == ["-A"] and flag in words[:-1]:
                    target = words[words.index(flag) + 1]
                    if (table, target) in present and could_match(words, bridges):
                        queue.append((table, target, True))


def _collect_legacy(host: LiveHost, family: str, tables: list[str]) -> None:
    key = f"legacy.{family}"
    argv = ("python-iptables", family, *tables)
    start = time.monotonic()
    try:
        import iptc  # type: ignore[import-untyped]  # imported late: loading it takes 0.2 s
    except Exception as exc:  # missing module or libxtables: say so, keep scanning
        host.ev.add_command(CommandRecord(key, argv, None, error=f"python-iptables unavailable: {exc}",
                                          via="python"))
        return
    try:
        text = dump_legacy(iptc, family, tables)
    except Exception as exc:
        host.ev.add_command(CommandRecord(key, argv, 1, stderr=str(exc), via="python",
                                          duration=round(time.monotonic() - start, 4)))
        return
    host.ev.add_command(CommandRecord(key, argv, 0, stdout=text, via="python",
                                      duration=round(time.monotonic() - start, 4)))


def dump_legacy(iptc, family: str, tables: list[str]) -> str:
    """Render legacy tables in iptables-save format (without counters)."""
    table_cls = iptc.Table if family == "ipv4" else iptc.Table6
    out = ["# Dumped by vnetmigrate through python-iptables (legacy x_tables)"]
    for name in tables:
        table = table_cls(name)
        table.refresh()
        out.append(f"*{name}")
        chains = list(table.chains)
        for chain in chains:
            policy = chain.get_policy().name if table.builtin_chain(chain.name) else "-"
            out.append(f":{chain.name} {policy} [0:0]")
        for chain in chains:
            for rule in chain.rules:
                out.append(_rule_line(chain.name, rule))
        out.append("COMMIT")
    return "\n".join(out) + "\n"


def _addr(value: str | None, flag: str) -> list[str]:
    if not value:
        return []
    neg = value.startswith("!")
    net = ipaddress.ip_network(value.lstrip("!"), strict=False)
    if net.prefixlen == 0:
        return []
    return (["!"] if neg else []) + [flag, f"{net.network_address}/{net.prefixlen}"]


def _iface(value: str | None, flag: str) -> list[str]:
    if not value:
        return []
    return ["!", flag, value[1:]] if value.startswith("!") else [flag, value]


def _params(params: dict[str, list[str]]) -> list[str]:
    words: list[str] = []
    for key, values in params.items():
        values = list(values)
        if values and values[0] == "!":
            words.append("!")
            values = values[1:]
        words.append(f"--{key}")
        words.extend(values)
    return words


def _rule_line(chain: str, rule) -> str:
    words = ["-A", chain]
    words += _addr(rule.src, "-s") + _addr(rule.dst, "-d")
    words += _iface(rule.in_interface, "-i") + _iface(rule.out_interface, "-o")
    proto = rule.protocol
    if proto and proto not in ("ip", "ipv6", "all", "0"):
        words += ["!", "-p", proto[1:]] if proto.startswith("!") else ["-p", proto]
    for match in rule.matches:
        words += ["-m", match.name] + _params(match.get_all_parameters())
    if rule.target and rule.target.name:
        words += ["-j", rule.target.name] + _params(rule.target.get_all_parameters())
    return " ".join(w if w == "!" else shlex.quote(w) for w in words)
