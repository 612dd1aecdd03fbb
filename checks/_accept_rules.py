"""Exact commands that let libvirt's traffic through a base chain that drops it: accept rules
inserted at the head of that base chain (an accept ends only its own base chain, so each
dropping base chain needs its own). Built from validated names only (bridges pass the
network parser's interface-name check; tables and chains come from the kernel's listing)."""

from __future__ import annotations

import shlex

from vnetmigrate.checks._commands import iptables_binary
from vnetmigrate.evaluate import Pass, Probe

DHCP_PORT = {"ip": 67, "ip6": 547}


def split_base(p: Pass) -> tuple[str, str, str]:
    """(family, table, chain) of a pass's base chain."""
    name = p.base.removeprefix("iptables-legacy ")
    family, table, chain = name.split(" ", 2)
    return family, table, chain


def _in_ports(probes: list[Probe]) -> dict[str, list[int]]:
    ports: dict[str, set[int]] = {}
    for pr in probes:
        if pr.kind == "dhcp":
            ports.setdefault("udp", set()).add(DHCP_PORT[pr.packet.family])
        elif pr.kind.startswith("dns-"):
            ports.setdefault(pr.kind[4:], set()).add(53)
    return {proto: sorted(v) for proto, v in sorted(ports.items())}


def _guest(pr: Probe) -> str:
    return str(pr.packet.daddr)


def nft_commands(p: Pass, probes: list[Probe]) -> list[str]:
    family, table, chain = split_base(p)
    head = f"insert rule {family} {table} {chain}"
    cmds = []
    for br in sorted({pr.bridge for pr in probes}):
        mine = [pr for pr in probes if pr.bridge == br]
        for proto, ports in _in_ports([pr for pr in mine if pr.direction == "in"]).items():
            plist = str(ports[0]) if len(ports) == 1 else "{ " + ", ".join(map(str, ports)) + " }"
            cmds.append(f'{head} iifname "{br}" {proto} dport {plist} accept')
        if any(pr.direction == "out" for pr in mine):
            cmds.append(f'{head} iifname "{br}" accept')
        if any(pr.direction == "back" for pr in mine):
            cmds.append(f'{head} oifname "{br}" ct state established,related accept')
        for pr in (pr for pr in mine if pr.direction == "dnat"):
            cmds.append(f'{head} oifname "{br}" {pr.packet.family} daddr {_guest(pr)} ct status dnat accept')
    return ["nft " + shlex.quote(c) for c in dict.fromkeys(cmds)]


def iptables_commands(p: Pass, probes: list[Probe]) -> list[str]:
    family, table, chain = split_base(p)
    binary = iptables_binary("ipv4" if family == "ip" else "ipv6", "legacy" if p.kind == "iptables-legacy" else "nft")
    head = f"{binary}{'' if table == 'filter' else f' -t {table}'} -I {chain}"
    cmds = []
    for br in sorted({pr.bridge for pr in probes}):
        mine = [pr for pr in probes if pr.bridge == br]
        for proto, ports in _in_ports([pr for pr in mine if pr.direction == "in"]).items():
            match = f"-m multiport --dports {','.join(map(str, ports))}" if len(ports) > 1 else \
                f"-m {proto} --dport {ports[0]}"
            cmds.append(f"{head} -i {br} -p {proto} {match} -j ACCEPT")
        if any(pr.direction == "out" for pr in mine):
            cmds.append(f"{head} -i {br} -j ACCEPT")
        if any(pr.direction == "back" for pr in mine):
            cmds.append(f"{head} -o {br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
        for pr in (pr for pr in mine if pr.direction == "dnat"):
            cmds.append(f"{head} -o {br} -d {_guest(pr)} -m conntrack --ctstatus DNAT -j ACCEPT")
    return list(dict.fromkeys(cmds))


def commands(p: Pass, probes: list[Probe]) -> list[str]:
    return nft_commands(p, probes) if p.kind == "nft" else iptables_commands(p, probes)
