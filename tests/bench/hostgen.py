"""Build big synthetic hosts in a namespace: libvirt networks under the nftables backend (their
files under a temporary root) beside many rules, either off the guests' path (Docker +
kube-proxy style iptables-nft chains) or on it (native nftables rules in `inet filter` forward,
or in chains it jumps to; iptables-nft rules in a chain FORWARD jumps to).

The rules on the path look like a hand-written or generated firewall (block lists, per-pod
veths, service addresses, open ports) and match none of the guests' packets, so every probe
must get past all of them: the worst case for the evaluator, and verdicts stay decided."""

from __future__ import annotations

import subprocess
from pathlib import Path

from vnetmigrate.libvirt import nft_text, parse_network
from tests.sandbox import fixtures

# Docker 28's filter chains (the lab's fixture) plus kube-proxy's filter chains.
DOCKER_FILTER = fixtures.DOCKER_28.split("COMMIT")[0] + """:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
"""
DOCKER_FILTER_CHAINS = sum(1 for ln in DOCKER_FILTER.splitlines() if ln.startswith(":")) - 3  # not built-ins


def _ip(n: int, base: str) -> str:
    return f"{base}.{(n >> 8) & 255}.{n & 255}"


def iptables_text(total_rules: int) -> tuple[str, int, int]:
    """(iptables-restore text, rules, chains): ~1/7 of the rules in kube-proxy's nat chains."""
    lines = [DOCKER_FILTER.rstrip("\n")]
    rules = sum(1 for ln in DOCKER_FILTER.splitlines() if ln.startswith("-A"))
    chains = DOCKER_FILTER_CHAINS
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


NET_XML = ("<network><name>net{i}</name><forward mode='nat'/><bridge name='vbr{i}'/>"
           "<ip address='10.{hi}.{lo}.1' netmask='255.255.255.0'/></network>\n")


def net_xml(i: int) -> str:
    """Network i's definition: subnets 10.200.0.0/24 on, 256 per second octet."""
    return NET_XML.format(i=i, hi=200 + i // 256, lo=i % 256)


def libvirt_networks(count: int) -> list:
    return [parse_network(net_xml(i), f"net{i}.xml") for i in range(count)]


def write_root(root: Path, networks: int) -> None:
    (root / "etc/libvirt/qemu/networks").mkdir(parents=True)
    (root / "run/libvirt/network").mkdir(parents=True)
    (root / "etc/libvirt/network.conf").write_text('firewall_backend = "nftables"\n')
    (root / "etc/os-release").write_text('ID=fedora\nVERSION_ID=41\nPRETTY_NAME="Fedora Linux 41"\n')
    for i in range(networks):
        net = net_xml(i)
        (root / f"etc/libvirt/qemu/networks/net{i}.xml").write_text(net)
        (root / f"run/libvirt/network/net{i}.xml").write_text(
            f"<networkstatus>{net}<firewall name='fwRemoval' backend='nftables'/></networkstatus>\n")


def _quad(i: int) -> str:
    return f"{(i >> 8) & 255}.{i & 255}"


def native_rule(i: int) -> str:
    """The i-th rule of a big native chain (nft syntax); none matches a guest's packet."""
    kind, q, veth = i % 5, _quad(i), f"veth{i:05x}"
    return ("ip saddr 100.64.{q} drop",
            "iifname \"{veth}\" ip saddr 10.244.{q} accept",
            "oifname \"{veth}\" ip daddr 10.244.{q} tcp dport 8080 accept",
            "ip daddr 10.96.{q} tcp dport {{ 80, 443 }} accept",
            "meta l4proto tcp tcp dport {port} ct state new accept")[kind].format(
                q=q, veth=veth, port=1024 + i % 30000)


def iptables_rule(chain: str, i: int) -> str:
    """The i-th rule of a big iptables chain (-S syntax); none matches a guest's packet."""
    kind, q, veth = i % 5, _quad(i), f"veth{i:05x}"
    return f"-A {chain} " + ("-s 100.64.{q}/32 -j DROP",
                             "-s 10.244.{q}/32 -i {veth} -j ACCEPT",
                             "-d 10.244.{q}/32 -o {veth} -p tcp -m tcp --dport 8080 -j ACCEPT",
                             "-d 10.96.{q}/32 -p tcp -m multiport --dports 80,443 -j ACCEPT",
                             "-p tcp -m tcp --dport {port} -m conntrack --ctstate NEW -j ACCEPT")[kind].format(
                                 q=q, veth=veth, port=1024 + i % 30000)


def native_forward_text(total_rules: int, chains: int) -> tuple[str, int, int]:
    """(nft -f text, rules, chains): `inet filter` forward holding the rules itself (chains=0),
    or jumping to `chains` chains that share them."""
    lines = ["table inet filter {", "chain forward {", "type filter hook forward priority 0; policy accept;"]
    if chains == 0:
        lines += [native_rule(i) for i in range(total_rules)]
        lines.append("}")
    else:
        per = total_rules // chains
        lines += [f"jump rules{c:04d}" for c in range(chains)]
        lines.append("}")
        for c in range(chains):
            lines += [f"chain rules{c:04d} {{", *(native_rule(c * per + j) for j in range(per)), "}"]
    lines.append("}")
    return "\n".join(lines) + "\n", total_rules + chains, chains + 1


def iptables_forward_text(total_rules: int) -> tuple[str, int, int]:
    """(iptables-restore text, rules, chains): FORWARD jumps to one user chain holding the rules."""
    lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
             ":HOST-FORWARD - [0:0]", "-A FORWARD -j HOST-FORWARD"]
    lines += [iptables_rule("HOST-FORWARD", i) for i in range(total_rules)]
    return "\n".join(lines + ["COMMIT"]) + "\n", total_rules + 1, 1


def build_host(ns: str, root: Path, networks: int, offpath_rules: int = 0, native_rules: int = 0,
               native_chains: int = 0, iptables_path_rules: int = 0) -> dict[str, int]:
    """Build one host shape in namespace `ns` (files under `root`); returns what it holds."""
    inns = ["ip", "netns", "exec", ns]
    links = "".join(f"link add vbr{i} type bridge\n" for i in range(networks))
    subprocess.run(inns + ["ip", "-batch", "-"], input=links, text=True, check=True)
    rules = chains = 0
    if offpath_rules:
        text, rules, chains = iptables_text(offpath_rules)
        subprocess.run(inns + ["iptables-nft-restore"], input=text, text=True, check=True)
    if native_rules:
        text, n, c = native_forward_text(native_rules, native_chains)
        subprocess.run(inns + ["nft", "-f", "-"], input=text, text=True, check=True)
        rules, chains = rules + n, chains + c
    if iptables_path_rules:
        text, n, c = iptables_forward_text(iptables_path_rules)
        subprocess.run(inns + ["iptables-nft-restore"], input=text, text=True, check=True)
        rules, chains = rules + n, chains + c
    # libvirt 11.3's nftables rules for the networks, from the model (checked against real libvirt)
    text = nft_text(libvirt_networks(networks), "11.3")
    subprocess.run(inns + ["nft", "-f", "-"], input=text, text=True, check=True)
    nft_rules = sum(1 for line in text.splitlines() if line.startswith("add rule") or line.startswith("insert rule"))
    write_root(root, networks)
    return {"rules": rules, "chains": chains, "networks": networks, "nft_rules": nft_rules}


def build_big_host(ns: str, root: Path, total_rules: int, networks: int) -> dict[str, int]:
    """Docker + kube-proxy style iptables-nft rules off the guests' path, and `networks`."""
    return build_host(ns, root, networks, offpath_rules=total_rules)
