"""Exact commands that let libvirt's traffic through a base chain that drops it: accept rules
inserted at the head of that base chain (an accept ends only its own base chain, so each
dropping base chain needs its own). Built from validated names only (bridges pass the
network parser's interface-name check; tables and chains come from the kernel's listing)."""

from __future__ import annotations

import shlex

from vnetmigrate.checks._commands import iptables_binary
from vnetmigrate.evaluate import Pass, Probe
from vnetmigrate.firewall import Family

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


class _Nft:
    """Rules for a native nftables base chain: `nft 'insert rule FAMILY TABLE CHAIN ...'`."""

    def __init__(self, p: Pass):
        family, table, chain = split_base(p)
        self.head = f"insert rule {family} {table} {chain}"

    def command(self, rule: str) -> str:
        return "nft " + shlex.quote(f"{self.head} {rule}")

    def into_host(self, br: str, proto: str, ports: list[int]) -> str:
        plist = str(ports[0]) if len(ports) == 1 else "{ " + ", ".join(map(str, ports)) + " }"
        return self.command(f'iifname "{br}" {proto} dport {plist} accept')

    def out(self, br: str) -> str:
        return self.command(f'iifname "{br}" accept')

    def back(self, br: str) -> str:
        return self.command(f'oifname "{br}" ct state established,related accept')

    def dnat(self, br: str, pr: Probe) -> str:
        return self.command(f'oifname "{br}" {pr.packet.family} daddr {_guest(pr)} ct status dnat accept')


class IptablesAccept:
    """Accept rules inserted at the head of an iptables chain, with the binary of its variant
    (nft or legacy): the chain a drop happens in, or Docker's DOCKER-USER."""

    def __init__(self, family: str, table: str, chain: str, source: str = "nft"):
        binary = iptables_binary(family, source)
        self.head = f"{binary}{'' if table == 'filter' else f' -t {table}'} -I {chain}"

    @classmethod
    def of_pass(cls, p: Pass) -> "IptablesAccept":
        family, table, chain = split_base(p)
        return cls(Family.of_nft(family).value, table, chain,
                   "legacy" if p.kind == "iptables-legacy" else "nft")

    def into_host(self, br: str, proto: str, ports: list[int]) -> str:
        match = f"-m multiport --dports {','.join(map(str, ports))}" if len(ports) > 1 else \
            f"-m {proto} --dport {ports[0]}"
        return f"{self.head} -i {br} -p {proto} {match} -j ACCEPT"

    def out(self, br: str) -> str:
        return f"{self.head} -i {br} -j ACCEPT"

    def back(self, br: str) -> str:
        return f"{self.head} -o {br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"

    def dnat(self, br: str, pr: Probe) -> str:
        return f"{self.head} -o {br} -d {_guest(pr)} -m conntrack --ctstatus DNAT -j ACCEPT"


def commands(p: Pass, probes: list[Probe]) -> list[str]:
    """What lets `probes` through the base chain of `p`, bridge by bridge."""
    syntax = _Nft(p) if p.kind == "nft" else IptablesAccept.of_pass(p)
    cmds = []
    for br in sorted({pr.bridge for pr in probes}):
        mine = [pr for pr in probes if pr.bridge == br]
        for proto, ports in _in_ports([pr for pr in mine if pr.direction == "in"]).items():
            cmds.append(syntax.into_host(br, proto, ports))
        if any(pr.direction == "out" for pr in mine):
            cmds.append(syntax.out(br))
        if any(pr.direction == "back" for pr in mine):
            cmds.append(syntax.back(br))
        cmds += [syntax.dnat(br, pr) for pr in mine if pr.direction == "dnat"]
    return list(dict.fromkeys(cmds))
