"""Rule text for lab scenarios: libvirt's two backends and Docker 28, as the real programs write them.

These are scenario inputs, not a model of libvirt (that is `vnetmigrate.libvirt`): a Lab takes
any rule text or JSON, and these are the ones the lab's own tests start from.

- `libvirt_iptables_v4/v6`: iptables-restore fragments (load with ``--noflush``) equal to what
  libvirt 9.0/11.3's iptables backend creates for NAT networks (docs/libvirt-rules.md §2). The jumps into
  the private chains are inserted at positions 1.. of the built-in chains, as libvirt does, so
  loading after Docker's rules gives the order a real host has. Built-in chains are not
  declared: with ``--noflush`` a declaration would reset their policy, which libvirt never does.
- `libvirt_nftables`: the `ip`/`ip6 libvirt_network` tables of libvirt 11.3 (docs/libvirt-rules.md §3), in
  `nft -f` syntax. The bridge must exist when loading: `iif`/`oif` resolve to an ifindex.
- `DOCKER_28`, `DOCKER_28_0`: iptables-nft-save of a new Docker daemon with only the default
  bridge, after it set ``ip_forward`` itself (so FORWARD policy DROP). `DOCKER_28` is the
  28.x layout of moby's generated iptables docs (DOCKER-FORWARD jumping to DOCKER-CT,
  DOCKER-INTERNAL, DOCKER-BRIDGE); `DOCKER_28_0` is the 28.0.1 layout (moby PRs 49518 and
  49530), which still had DOCKER-ISOLATION-STAGE-1/2 and no DOCKER-INTERNAL.

Networks are given as (bridge, cidr) pairs in the order libvirt started them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

DEFAULT_NETWORK = ("virbr0", "192.168.122.0/24")

_PRIVATE_CHAINS = {
    "filter": [("LIBVIRT_INP", "INPUT", 1), ("LIBVIRT_OUT", "OUTPUT", 1),
               ("LIBVIRT_FWO", "FORWARD", 1), ("LIBVIRT_FWI", "FORWARD", 1),
               ("LIBVIRT_FWX", "FORWARD", 1)],  # inserted in this order: FWX ends up first
    "nat": [("LIBVIRT_PRT", "POSTROUTING", 1)],
    "mangle": [("LIBVIRT_PRT", "POSTROUTING", 1)],
}


def _filter_rules(br: str, net: str) -> list[str]:
    return [
        f"-A LIBVIRT_INP -i {br} -p udp -m udp --dport 53 -j ACCEPT",
        f"-A LIBVIRT_INP -i {br} -p tcp -m tcp --dport 53 -j ACCEPT",
        f"-A LIBVIRT_INP -i {br} -p udp -m udp --dport 67 -j ACCEPT",
        f"-A LIBVIRT_INP -i {br} -p tcp -m tcp --dport 67 -j ACCEPT",
        f"-A LIBVIRT_OUT -o {br} -p udp -m udp --dport 53 -j ACCEPT",
        f"-A LIBVIRT_OUT -o {br} -p tcp -m tcp --dport 53 -j ACCEPT",
        f"-A LIBVIRT_OUT -o {br} -p udp -m udp --dport 68 -j ACCEPT",
        f"-A LIBVIRT_OUT -o {br} -p tcp -m tcp --dport 68 -j ACCEPT",
        f"-A LIBVIRT_FWI -d {net} -o {br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        f"-A LIBVIRT_FWI -o {br} -j REJECT --reject-with icmp-port-unreachable",
        f"-A LIBVIRT_FWO -s {net} -i {br} -j ACCEPT",
        f"-A LIBVIRT_FWO -i {br} -j REJECT --reject-with icmp-port-unreachable",
        f"-A LIBVIRT_FWX -i {br} -o {br} -j ACCEPT",
    ]


def _nat_rules(br: str, net: str) -> list[str]:
    return [
        f"-A LIBVIRT_PRT -s {net} -d 224.0.0.0/24 -j RETURN",
        f"-A LIBVIRT_PRT -s {net} -d 255.255.255.255/32 -j RETURN",
        f"-A LIBVIRT_PRT -s {net} ! -d {net} -p tcp -j MASQUERADE --to-ports 1024-65535",
        f"-A LIBVIRT_PRT -s {net} ! -d {net} -p udp -j MASQUERADE --to-ports 1024-65535",
        f"-A LIBVIRT_PRT -s {net} ! -d {net} -j MASQUERADE",
    ]


def _mangle_rules(br: str, net: str) -> list[str]:
    return [f"-A LIBVIRT_PRT -o {br} -p udp -m udp --dport 68 -j CHECKSUM --checksum-fill"]


def _restore(per_table: dict[str, list[str]]) -> str:
    out = []
    for table, chains in _PRIVATE_CHAINS.items():
        out.append(f"*{table}")
        out += sorted({f":{chain} - [0:0]" for chain, _, _ in chains})
        out += [f"-I {builtin} {pos} -j {chain}" for chain, builtin, pos in chains]
        out += per_table.get(table, [])
        out.append("COMMIT")
    return "\n".join(out) + "\n"


def libvirt_iptables_v4(networks: Sequence[tuple[str, str]] = (DEFAULT_NETWORK,)) -> str:
    tables: dict[str, list[str]] = {"filter": [], "nat": [], "mangle": []}
    for br, cidr in reversed(networks):  # libvirt inserts at the head: last started is first
        net = str(ipaddress.ip_network(cidr))
        tables["filter"] += _filter_rules(br, net)
        tables["nat"] += _nat_rules(br, net)
        tables["mangle"] += _mangle_rules(br, net)
    return _restore(tables)


def libvirt_iptables_v6() -> str:
    """ip6tables for IPv4-only networks: libvirt still creates its private chains and jumps."""
    return _restore({})


_NFT_TABLE = """table {family} libvirt_network {{
\tchain forward {{
\t\ttype filter hook forward priority filter; policy accept;
\t\tcounter jump guest_cross
\t\tcounter jump guest_input
\t\tcounter jump guest_output
\t}}
\tchain guest_output {{
{output}\t}}
\tchain guest_input {{
{input}\t}}
\tchain guest_cross {{
{cross}\t}}
\tchain guest_nat {{
\t\ttype nat hook postrouting priority srcnat; policy accept;
{nat}\t}}
}}
"""


def libvirt_nftables(networks: Sequence[tuple[str, str]] = (DEFAULT_NETWORK,)) -> str:
    rules: dict[str, list[str]] = {"output": [], "input": [], "cross": [], "nat": []}
    for br, cidr in reversed(networks):
        net = str(ipaddress.ip_network(cidr))
        rules["output"] += [f'ip saddr {net} iif "{br}" counter accept', f'iif "{br}" counter reject']
        rules["input"] += [f'oif "{br}" ip daddr {net} ct state established,related counter accept',
                           f'oif "{br}" counter reject']
        rules["cross"] += [f'iif "{br}" oif "{br}" counter accept']
        rules["nat"] += [
            f"ip saddr {net} ip daddr 224.0.0.0/24 counter return",
            f"ip saddr {net} ip daddr 255.255.255.255 counter return",
            f"meta l4proto tcp ip saddr {net} ip daddr != {net} counter masquerade to :1024-65535",
            f"meta l4proto udp ip saddr {net} ip daddr != {net} counter masquerade to :1024-65535",
            f"ip saddr {net} ip daddr != {net} counter masquerade",
        ]

    def block(lines: list[str]) -> str:
        return "".join(f"\t\t{line}\n" for line in lines)

    ip4 = _NFT_TABLE.format(family="ip", **{k: block(v) for k, v in rules.items()})
    ip6 = _NFT_TABLE.format(family="ip6", output="", input="", cross="", nat="")
    return ip4 + ip6


_DOCKER_NAT = """*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
COMMIT
"""

DOCKER_28 = """*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-BRIDGE - [0:0]
:DOCKER-CT - [0:0]
:DOCKER-FORWARD - [0:0]
:DOCKER-INTERNAL - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-FORWARD
-A DOCKER ! -i docker0 -o docker0 -j DROP
-A DOCKER-BRIDGE -o docker0 -j DOCKER
-A DOCKER-CT -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-FORWARD -j DOCKER-CT
-A DOCKER-FORWARD -j DOCKER-INTERNAL
-A DOCKER-FORWARD -j DOCKER-BRIDGE
-A DOCKER-FORWARD -i docker0 -j ACCEPT
COMMIT
""" + _DOCKER_NAT

DOCKER_28_0 = """*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-BRIDGE - [0:0]
:DOCKER-CT - [0:0]
:DOCKER-FORWARD - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-FORWARD
-A DOCKER ! -i docker0 -o docker0 -j DROP
-A DOCKER-BRIDGE -o docker0 -j DOCKER
-A DOCKER-CT -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-FORWARD -j DOCKER-CT
-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1
-A DOCKER-FORWARD -j DOCKER-BRIDGE
-A DOCKER-FORWARD -i docker0 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
COMMIT
""" + _DOCKER_NAT

# docs/other-firewalls.md §2, workaround 1, as the two commands an admin runs (iptables argv, no binary).
DOCKER_USER_WORKAROUND = (
    ("-I", "DOCKER-USER", "-i", "virbr0", "-j", "ACCEPT"),
    ("-I", "DOCKER-USER", "-o", "virbr0", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED",
     "-j", "ACCEPT"),
)
