"""The nftables backend's rules (libvirt 10.4 to 12.x), in the order libvirt adds them.

Source: network_nftables.c. Tables ``ip libvirt_network`` and ``ip6 libvirt_network``
(never ``inet``). Private chains, created if missing (nftablesSetupPrivateChains), in this
order: ``forward`` (filter hook forward priority 0, policy accept), ``guest_output``,
``guest_input``, ``guest_cross`` (each jumped to by a ``counter jump`` *inserted* at the head
of ``forward``, so forward lists cross, input, output), ``guest_nat`` (nat hook postrouting
priority 100). Both families' tables are created even for an IPv4-only network.

Per network, every rule ``insert``-ed at the head of its chain:

1. ip: guest_output ``iif BR counter reject``, guest_input ``oif BR counter reject``,
   guest_cross ``iif BR oif BR counter accept`` - even without any IPv4 address.
2. ip6: the same three if the network has an IPv6 address or ``<network ipv6='yes'>``.
3. Per ``<ip>``: NAT: guest_output ``ip saddr NET iif BR [oifname DEV] counter accept``,
   guest_input ``[iifname DEV] oif BR ip daddr NET ct state related,established counter
   accept`` (DEV by name since a release after 10.4.0, which used ``oif``/``iif``), then guest_nat masquerade all / udp / tcp (``meta l4proto P`` first, ``to
   :1024-65535`` or ``snat to A-B[:ports]``), [ip: return for 255.255.255.255/32], return for
   local multicast. Route: guest_output as above, guest_input ``ip daddr NET [iifname DEV]
   oif BR counter accept``.

Unlike the iptables backend there are no rules for DHCP, DNS or TFTP to the host and no
CHECKSUM rule: 11.x and later fix DHCP checksums with a tc filter instead (tc.py), 10.x not at
all. 12.x tables carry a comment (nft_commands.py). Per release: versions.py.
"""

from __future__ import annotations

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.firewall import NFT_FAMILIES, Family
from vnetmigrate.libvirt.model import Network
from vnetmigrate.rules.nft import Counter, Ct, Masquerade, Match, Meta, Payload, Snat, Verdict
from vnetmigrate.rules.nft import Statement as Expr
from vnetmigrate.libvirt.rules_common import (LOCAL_BROADCAST, LOCAL_MULTICAST, bridge_of, forward_dev_of,
                                              ip_rule_kind, nat_port_range, snat_range, subnet)
from vnetmigrate.libvirt.versions import LibvirtVersion

TABLE = "libvirt_network"
FAMILIES = NFT_FAMILIES  # libvirt's nftables backend makes its table in both IP families


@dataclass(frozen=True)
class BaseChain:
    """A base chain of libvirt's nftables table."""
    type: str
    hook: str
    priority: int
    policy: str = "accept"


# (chain, parent it is jumped from, base chain spec) in nftablesChains[] order.
PRIVATE_CHAINS: tuple[tuple[str, str | None, BaseChain | None], ...] = (
    ("forward", None, BaseChain("filter", "forward", 0)),
    ("guest_output", "forward", None),
    ("guest_input", "forward", None),
    ("guest_cross", "forward", None),
    ("guest_nat", None, BaseChain("nat", "postrouting", 100)),
)


@dataclass(frozen=True)
class NftRule:
    """A rule libvirt adds with its nftables backend."""
    family: str        # "ip" or "ip6"
    chain: str
    exprs: tuple[Expr, ...]
    table: str = TABLE

    def text(self) -> str:
        return " ".join(e.text() for e in self.exprs)


def _fam(version: int) -> str:
    return Family.of_version(version).nft


def _rule(fam: str, chain: str, *exprs: Expr) -> NftRule:
    return NftRule(fam, chain, tuple(exprs))


def _iface(key: str, name: str) -> Match:
    return Match(Meta(key), name)


def _general(fam: str, br: str) -> list[NftRule]:
    return [
        _rule(fam, "guest_output", _iface("iif", br), Counter(), Verdict("reject")),
        _rule(fam, "guest_input", _iface("oif", br), Counter(), Verdict("reject")),
        _rule(fam, "guest_cross", _iface("iif", br), _iface("oif", br), Counter(), Verdict("accept")),
    ]


def _masquerade(fam, sub, dev, snat, ports, proto, by_name=True) -> NftRule:
    exprs: list[Expr] = [Match(Meta("l4proto"), proto)] if proto else []
    exprs += [Match(Payload(fam, "saddr"), sub), Match(Payload(fam, "daddr"), sub, "!=")]
    exprs += [_iface("oifname" if by_name else "oif", dev)] if dev else []
    port_range = ports if proto else None
    exprs.append(Counter())
    exprs.append(Snat(snat[0], snat[1], port_range) if snat else Masquerade(port_range))
    return NftRule(fam, "guest_nat", tuple(exprs))


def _dont_masquerade(fam, sub, dev, dest, by_name=True) -> NftRule:
    exprs: list[Expr] = [_iface("oifname" if by_name else "oif", dev)] if dev else []
    exprs += [Match(Payload(fam, "saddr"), sub), Match(Payload(fam, "daddr"), dest), Counter(), Verdict("return")]
    return NftRule(fam, "guest_nat", tuple(exprs))


def _ip_specific(net: Network, br: str, version: LibvirtVersion) -> list[NftRule]:
    dev = forward_dev_of(net)
    # 10.4.0 matched <forward dev> by index like the bridge; later releases by name (the
    # device may not exist yet when the rules are loaded).
    by_name = version.nft_forward_dev_by_name
    out_dev = [_iface("oifname" if by_name else "oif", dev)] if dev else []
    in_dev = [_iface("iifname" if by_name else "iif", dev)] if dev else []
    rules: list[NftRule] = []
    for ip in net.ips:
        kind = ip_rule_kind(net, ip)
        if kind is None:
            continue
        fam, sub = _fam(ip.version), subnet(ip, net)
        allow_out = _rule(fam, "guest_output", Match(Payload(fam, "saddr"), sub), _iface("iif", br),
                          *out_dev, Counter(), Verdict("accept"))
        if kind == "route":
            allow_in = _rule(fam, "guest_input", Match(Payload(fam, "daddr"), sub), *in_dev,
                             _iface("oif", br), Counter(), Verdict("accept"))
            rules += [allow_out, allow_in]
            continue
        related = _rule(fam, "guest_input", *in_dev, _iface("oif", br), Match(Payload(fam, "daddr"), sub),
                        Match(Ct("state"), ("related", "established")), Counter(), Verdict("accept"))
        rules += [allow_out, related]
        snat, ports = snat_range(net, ip), nat_port_range(net)
        rules += [_masquerade(fam, sub, dev, snat, ports, p, by_name) for p in (None, "udp", "tcp")]
        if ip.version == 4:
            rules.append(_dont_masquerade(fam, sub, dev, LOCAL_BROADCAST, by_name))
        rules.append(_dont_masquerade(fam, sub, dev, LOCAL_MULTICAST[ip.version], by_name))
    return rules


# The model is a pure function of (network, release), and one migrate asks for the same rules
# three times (the packet checks after the switch, the planner's add step and its
# verification): each network's rules are built once per process (frozen, so shared). Hashing
# a Network costs about a third of building its rules: iptables' model, asked once, is not kept.
_MODELLED: dict[tuple[Network, LibvirtVersion], tuple[NftRule, ...]] = {}


def network_rules(net: Network, version: LibvirtVersion) -> list[NftRule]:
    """All nft rules one network adds (both families), in libvirt's order."""
    key = (net, version)
    rules = _MODELLED.get(key)
    if rules is None:
        rules = _MODELLED[key] = tuple(_network_rules(net, version))
    return list(rules)


def _network_rules(net: Network, version: LibvirtVersion) -> list[NftRule]:
    if not net.has_firewall:
        return []
    br = bridge_of(net)
    rules = _general("ip", br)
    if net.has_ipv6_rules:
        rules += _general("ip6", br)
    return rules + _ip_specific(net, br, version)
