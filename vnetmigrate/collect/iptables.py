"""Collect iptables rules: iptables-nft-save, and legacy x_tables only where they exist.

Legacy tables are read with python-iptables, and only those `/proc/net/ip*_tables_names`
already lists: opening any other table through libiptc would create it (domain.md section 7),
and looking must change nothing. The legacy dump is rendered in iptables-save syntax so one
parser serves both.
"""

from __future__ import annotations

import ipaddress
import shlex
import time

from vnetmigrate.collect.host import LiveHost
from vnetmigrate.evidence import CommandRecord

FAMILIES = {"ipv4": ("iptables-nft-save", "/proc/net/ip_tables_names"),
            "ipv6": ("ip6tables-nft-save", "/proc/net/ip6_tables_names")}


def collect(host: LiveHost) -> None:
    for family, (save, names_file) in FAMILIES.items():
        host.run(f"{save}", [save])
        names = host.ev.text(names_file)
        if names is None:
            names = host.read(names_file, kernel=True).content
        tables = sorted({n.strip() for n in (names or "").splitlines() if n.strip()})
        if tables:
            _collect_legacy(host, family, tables)


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
                out.append(_rule_line(chain.name, rule, family))
        out.append("COMMIT")
    return "\n".join(out) + "\n"


def _addr(value: str | None, flag: str) -> list[str]:
    if not value:
        return []
    neg = value.startswith("!")
    value = value.lstrip("!")
    net = ipaddress.ip_network(value, strict=False)
    if net.prefixlen == 0:
        return []
    text = str(net) if net.num_addresses > 1 else f"{net.network_address}/{net.prefixlen}"
    return (["!"] if neg else []) + [flag, text]


def _iface(value: str | None, flag: str) -> list[str]:
    if not value:
        return []
    return (["!", flag, value[1:]] if value.startswith("!") else [flag, value])


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


def _rule_line(chain: str, rule, family: str) -> str:
    words = ["-A", chain]
    words += _addr(rule.src, "-s") + _addr(rule.dst, "-d")
    words += _iface(rule.in_interface, "-i") + _iface(rule.out_interface, "-o")
    proto = rule.protocol
    if proto and proto not in ("ip", "ipv6", "all", "0"):
        words += (["!", "-p", proto[1:]] if proto.startswith("!") else ["-p", proto])
    for match in rule.matches:
        words += ["-m", match.name] + _params(match.get_all_parameters())
    if rule.target and rule.target.name:
        words += ["-j", rule.target.name] + _params(rule.target.get_all_parameters())
    return " ".join(shlex.quote(w) if w != "!" else w for w in words)
