"""Build a big synthetic host in a namespace: Docker + kube-proxy style iptables-nft rules and
many libvirt networks under the nftables backend, with their files under a temporary root."""

from __future__ import annotations

import subprocess
from pathlib import Path

DOCKER_FILTER = """*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-BRIDGE - [0:0]
:DOCKER-CT - [0:0]
:DOCKER-FORWARD - [0:0]
:DOCKER-INTERNAL - [0:0]
:DOCKER-USER - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
-A INPUT -j KUBE-FIREWALL
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-FORWARD
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A DOCKER-FORWARD -j DOCKER-CT
-A DOCKER-FORWARD -j DOCKER-INTERNAL
-A DOCKER-FORWARD -j DOCKER-BRIDGE
-A DOCKER-FORWARD -i docker0 -j ACCEPT
-A DOCKER-BRIDGE -o docker0 -j DOCKER
-A DOCKER-CT -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
"""


def _ip(n: int, base: str) -> str:
    return f"{base}.{(n >> 8) & 255}.{n & 255}"


def iptables_text(total_rules: int) -> tuple[str, int, int]:
    """(iptables-restore text, rules, chains): ~1/7 of the rules in kube-proxy's nat chains."""
    lines = [DOCKER_FILTER.rstrip("\n")]
    rules = sum(1 for ln in DOCKER_FILTER.splitlines() if ln.startswith("-A"))
    chains = 12
    services = max(1, total_rules // 60)
    filter_rules = total_rules - services * 8 - rules
    for i in range(max(0, filter_rules)):
        lines.append(f"-A DOCKER -d {_ip(i, '172.17')}/32 ! -i docker0 -o docker0 -p tcp -m tcp "
                     f"--dport {1024 + i % 60000} -j ACCEPT")
    rules += max(0, filter_rules)
    lines.append("COMMIT")
    nat = ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
           ":POSTROUTING ACCEPT [0:0]", ":KUBE-SERVICES - [0:0]", ":KUBE-MARK-MASQ - [0:0]"]
    body = ["-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
            "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
            "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000"]
    chains += 6
    for s in range(services):
        svc, sep1, sep2 = f"KUBE-SVC-{s:012X}", f"KUBE-SEP-{s:010X}A", f"KUBE-SEP-{s:010X}B"
        nat += [f":{svc} - [0:0]", f":{sep1} - [0:0]", f":{sep2} - [0:0]"]
        chains += 3
        body += [
            f"-A KUBE-SERVICES -d {_ip(s, '10.96')}/32 -p tcp -m comment --comment \"ns/svc{s}:http cluster IP\" "
            f"-m tcp --dport 80 -j {svc}",
            f"-A {svc} ! -s 10.244.0.0/16 -d {_ip(s, '10.96')}/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ",
            f"-A {svc} -m statistic --mode random --probability 0.50000000000 -j {sep1}",
            f"-A {svc} -j {sep2}",
        ]
        for sep, k in ((sep1, 0), (sep2, 1)):
            pod = _ip(2 * s + k, "10.244")
            body += [f"-A {sep} -s {pod}/32 -j KUBE-MARK-MASQ",
                     f"-A {sep} -p tcp -m tcp -j DNAT --to-destination {pod}:8080"]
    rules += 3 + services * 8
    return "\n".join(lines + nat + body + ["COMMIT"]) + "\n", rules, chains


def libvirt_nft_text(networks: int) -> tuple[str, int]:
    """libvirt's nftables tables for `networks` NAT networks, the last started listed first."""
    out, guest_out, guest_in, cross, nat = [], [], [], [], []
    for i in reversed(range(networks)):
        br, sub = f"vbr{i}", f"10.200.{i}.0/24"
        guest_out += [f'ip saddr {sub} iif "{br}" counter accept', f'iif "{br}" counter reject']
        guest_in += [f'oif "{br}" ip daddr {sub} ct state established,related counter accept',
                     f'oif "{br}" counter reject']
        cross.append(f'iif "{br}" oif "{br}" counter accept')
        nat += [f"ip saddr {sub} ip daddr 224.0.0.0/24 counter return",
                f"ip saddr {sub} ip daddr 255.255.255.255 counter return",
                f"meta l4proto tcp ip saddr {sub} ip daddr != {sub} counter masquerade to :1024-65535",
                f"meta l4proto udp ip saddr {sub} ip daddr != {sub} counter masquerade to :1024-65535",
                f"ip saddr {sub} ip daddr != {sub} counter masquerade"]
    out.append("table ip libvirt_network {")
    out.append("chain forward { type filter hook forward priority filter; policy accept;\n"
               "counter jump guest_cross\ncounter jump guest_input\ncounter jump guest_output\n}")
    for name, rules in (("guest_output", guest_out), ("guest_input", guest_in), ("guest_cross", cross)):
        out.append(f"chain {name} {{\n" + "\n".join(rules) + "\n}")
    out.append("chain guest_nat { type nat hook postrouting priority srcnat; policy accept;\n" + "\n".join(nat) + "\n}")
    out.append("}")
    return "\n".join(out) + "\n", len(guest_out) + len(guest_in) + len(cross) + len(nat) + 3


def write_root(root: Path, networks: int) -> None:
    (root / "etc/libvirt/qemu/networks").mkdir(parents=True)
    (root / "run/libvirt/network").mkdir(parents=True)
    (root / "etc/libvirt/network.conf").write_text('firewall_backend = "nftables"\n')
    (root / "etc/os-release").write_text('ID=fedora\nVERSION_ID=41\nPRETTY_NAME="Fedora Linux 41"\n')
    for i in range(networks):
        net = (f"<network><name>net{i}</name><forward mode='nat'/><bridge name='vbr{i}'/>"
               f"<ip address='10.200.{i}.1' netmask='255.255.255.0'/></network>\n")
        (root / f"etc/libvirt/qemu/networks/net{i}.xml").write_text(net)
        (root / f"run/libvirt/network/net{i}.xml").write_text(
            f"<networkstatus>{net}<firewall name='fwRemoval' backend='nftables'/></networkstatus>\n")


def build_big_host(ns: str, root: Path, total_rules: int, networks: int) -> dict[str, int]:
    inns = ["ip", "netns", "exec", ns]
    links = "".join(f"link add vbr{i} type bridge\n" for i in range(networks))
    subprocess.run(inns + ["ip", "-batch", "-"], input=links, text=True, check=True)
    text, rules, chains = iptables_text(total_rules)
    subprocess.run(inns + ["iptables-nft-restore"], input=text, text=True, check=True)
    nft_text, nft_rules = libvirt_nft_text(networks)
    subprocess.run(inns + ["nft", "-f", "-"], input=nft_text, text=True, check=True)
    write_root(root, networks)
    return {"rules": rules, "chains": chains, "networks": networks, "nft_rules": nft_rules}
