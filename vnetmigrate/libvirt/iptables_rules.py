"""The iptables backend's rules (libvirt 9.0 and 11.3), in the order libvirt adds them.

Source: network_iptables.c (11.x; bridge_driver_linux.c + viriptables.c in 9.0, same rules).
Every rule is *inserted* at the head of its chain, so the kernel lists them in reverse:
the network started last comes first, and within a network the last rule added comes first.

Per network, in order (each an ``--insert``):

1. IPv4 "general" rules, even when the network has no IPv4 address: INP tcp/udp 67,
   OUT tcp/udp 68, INP tcp/udp 53, OUT tcp/udp 53, [INP/OUT udp 69 if the first IPv4 that has
   DHCP or TFTP has TFTP], FWO reject in-bridge, FWI reject out-bridge, FWX bridge-to-bridge.
2. IPv6 general rules if the network has an IPv6 address or ``<network ipv6='yes'>``:
   FWO/FWI reject and FWX; then, only with an IPv6 address, INP tcp/udp 53, OUT tcp/udp 53,
   INP udp 547, OUT udp 546.
3. Per ``<ip>`` in document order: NAT (IPv4, or IPv6 with ``<nat ipv6='yes'>``): FWO allow
   from subnet, FWI allow related/established to subnet, then nat LIBVIRT_PRT masquerade all,
   udp, tcp (``--to-ports`` range), [IPv4: RETURN for 255.255.255.255/32], RETURN for local
   multicast (224.0.0.0/24, ff02::/16). Route (or IPv6 in NAT mode): FWO allow from subnet,
   FWI allow to subnet (no conntrack). ``<forward dev=X>`` adds ``--out-interface X`` /
   ``--in-interface X`` to these and to the nat rules.
4. In a separate ignore-errors transaction: mangle LIBVIRT_PRT CHECKSUM --checksum-fill for
   udp 68 out of the bridge, if an IPv4 address has DHCP ranges or hosts (TFTP alone: no).
"""

from __future__ import annotations

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.libvirt.model import Network
from vnetmigrate.libvirt.rules_common import (LOCAL_BROADCAST, LOCAL_MULTICAST, bridge_of, forward_dev_of,
                                              ip_rule_kind, nat_port_range, snat_range, subnet)
from vnetmigrate.libvirt.versions import LibvirtVersion

TABLES = ("filter", "nat", "mangle")
# (table, parent, child) in the order libvirt's iptablesSetupPrivateChains() creates them.
PRIVATE_CHAINS = (
    ("filter", "INPUT", "LIBVIRT_INP"),
    ("filter", "OUTPUT", "LIBVIRT_OUT"),
    ("filter", "FORWARD", "LIBVIRT_FWO"),
    ("filter", "FORWARD", "LIBVIRT_FWI"),
    ("filter", "FORWARD", "LIBVIRT_FWX"),
    ("nat", "POSTROUTING", "LIBVIRT_PRT"),
    ("mangle", "POSTROUTING", "LIBVIRT_PRT"),
)


@dataclass(frozen=True)
class IptRule:
    """A rule libvirt adds with iptables/ip6tables."""
    family: int                 # 4 (iptables) or 6 (ip6tables)
    table: str
    chain: str
    spec: tuple[str, ...]       # libvirt's argv after "--insert CHAIN"
    ignore_errors: bool = False  # the CHECKSUM rule: libvirt ignores its failure

    def argv(self, action: str = "--insert") -> tuple[str, ...]:
        """libvirt's command line (without the binary and its -w)."""
        return ("--table", self.table, action, self.chain, *self.spec)

    def restore_line(self) -> str:
        return " ".join(("-I", self.chain, *self.spec))


def _port(fam: int, chain: str, direction: str, br: str, proto: str, port: int) -> IptRule:
    return IptRule(fam, "filter", chain, (direction, br, "--protocol", proto,
                                          "--destination-port", str(port), "--jump", "ACCEPT"))


def _general_v4(net: Network, br: str) -> list[IptRule]:
    inp = lambda proto, port: _port(4, "LIBVIRT_INP", "--in-interface", br, proto, port)  # noqa: E731
    out = lambda proto, port: _port(4, "LIBVIRT_OUT", "--out-interface", br, proto, port)  # noqa: E731
    rules = [inp("tcp", 67), inp("udp", 67), out("tcp", 68), out("udp", 68),
             inp("tcp", 53), inp("udp", 53), out("tcp", 53), out("udp", 53)]
    dhcp = net.dhcp_ipv4
    if dhcp is not None and dhcp.tftp_root:
        rules += [inp("udp", 69), out("udp", 69)]
    return rules + _rejects_and_cross(4, br)


def _rejects_and_cross(fam: int, br: str) -> list[IptRule]:
    return [
        IptRule(fam, "filter", "LIBVIRT_FWO", ("--in-interface", br, "--jump", "REJECT")),
        IptRule(fam, "filter", "LIBVIRT_FWI", ("--out-interface", br, "--jump", "REJECT")),
        IptRule(fam, "filter", "LIBVIRT_FWX", ("--in-interface", br, "--out-interface", br, "--jump", "ACCEPT")),
    ]


def _general_v6(net: Network, br: str) -> list[IptRule]:
    if not net.has_ipv6_rules:
        return []
    rules = _rejects_and_cross(6, br)
    if net.ipv6s:
        inp = lambda proto, port: _port(6, "LIBVIRT_INP", "--in-interface", br, proto, port)  # noqa: E731
        out = lambda proto, port: _port(6, "LIBVIRT_OUT", "--out-interface", br, proto, port)  # noqa: E731
        rules += [inp("tcp", 53), inp("udp", 53), out("tcp", 53), out("udp", 53),
                  inp("udp", 547), out("udp", 546)]
    return rules


def _allow_out(fam: int, sub: str, br: str, dev: str | None) -> IptRule:
    spec = ("--source", sub, "--in-interface", br) + (("--out-interface", dev) if dev else ())
    return IptRule(fam, "filter", "LIBVIRT_FWO", spec + ("--jump", "ACCEPT"))


def _allow_in(fam: int, sub: str, br: str, dev: str | None, related: bool) -> IptRule:
    spec = ("--destination", sub) + (("--in-interface", dev) if dev else ()) + ("--out-interface", br)
    if related:
        spec += ("--match", "conntrack", "--ctstate", "ESTABLISHED,RELATED")
    return IptRule(fam, "filter", "LIBVIRT_FWI", spec + ("--jump", "ACCEPT"))


def _masquerade(fam: int, sub: str, dev: str | None, snat, ports, proto: str | None) -> IptRule:
    spec: tuple[str, ...] = ("--source", sub)
    spec += ("-p", proto) if proto else ()
    spec += ("!", "--destination", sub)
    spec += ("--out-interface", dev) if dev else ()
    port_text = f"{ports[0]}-{ports[1]}" if proto else None
    if snat is not None:
        to = snat[0] + (f"-{snat[1]}" if snat[1] else "") + (f":{port_text}" if port_text else "")
        spec += ("--jump", "SNAT", "--to-source", to)
    else:
        spec += ("--jump", "MASQUERADE") + (("--to-ports", port_text) if port_text else ())
    return IptRule(fam, "nat", "LIBVIRT_PRT", spec)


def _dont_masquerade(fam: int, sub: str, dev: str | None, dest: str) -> IptRule:
    spec = (("--out-interface", dev) if dev else ()) + ("--source", sub, "--destination", dest, "--jump", "RETURN")
    return IptRule(fam, "nat", "LIBVIRT_PRT", spec)


def _ip_specific(net: Network, br: str) -> list[IptRule]:
    dev = forward_dev_of(net)
    rules: list[IptRule] = []
    for ip in net.ips:
        kind = ip_rule_kind(net, ip)
        if kind is None:
            continue
        fam, sub = ip.version, subnet(ip, net)
        if kind == "route":
            rules += [_allow_out(fam, sub, br, dev), _allow_in(fam, sub, br, dev, related=False)]
            continue
        snat, ports = snat_range(net, ip), nat_port_range(net)
        rules += [_allow_out(fam, sub, br, dev), _allow_in(fam, sub, br, dev, related=True)]
        rules += [_masquerade(fam, sub, dev, snat, ports, p) for p in (None, "udp", "tcp")]
        if fam == 4:
            rules.append(_dont_masquerade(fam, sub, dev, LOCAL_BROADCAST))
        rules.append(_dont_masquerade(fam, sub, dev, LOCAL_MULTICAST[fam]))
    return rules


def network_rules(net: Network, version: LibvirtVersion) -> list[IptRule]:
    """All rules one network adds, both families, in libvirt's order (empty if it has none)."""
    if not net.has_firewall:
        return []
    br = bridge_of(net)
    rules = _general_v4(net, br) + _general_v6(net, br) + _ip_specific(net, br)
    if net.checksum_ipv4 is not None:
        rules.append(IptRule(4, "mangle", "LIBVIRT_PRT", (
            "--out-interface", br, "--protocol", "udp", "--destination-port", "68",
            "--jump", "CHECKSUM", "--checksum-fill"), ignore_errors=True))
    return rules
