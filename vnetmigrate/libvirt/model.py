"""Typed libvirt virtual networks: what the firewall code of libvirt looks at.

Only the parts of ``<network>`` that decide firewall rules, plus identification, are kept.
The helpers mirror libvirt's own accessors (``virNetworkIPDefPrefix``,
``virNetworkDefForwardIf``, the "first IPv4 with DHCP" search of the firewall code), so the
rule builders read like libvirt's ``network_iptables.c`` / ``network_nftables.c``.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
from dataclasses import field
from typing import TYPE_CHECKING, Union

from vnetmigrate.addr import network
from vnetmigrate.dataclass_code import dataclass

if TYPE_CHECKING:
    from vnetmigrate.libvirt.fwremoval import RemovalRecipe

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


class ForwardMode(str, enum.Enum):
    """``<forward mode=...>``; NONE is a network without ``<forward>`` ("isolated")."""

    NONE = "none"
    NAT = "nat"
    ROUTE = "route"
    OPEN = "open"
    BRIDGE = "bridge"
    PRIVATE = "private"
    VEPA = "vepa"
    PASSTHROUGH = "passthrough"
    HOSTDEV = "hostdev"

    @property
    def has_firewall(self) -> bool:
        # libvirt adds rules only for the modes it builds its own bridge for, and not for
        # "open" (networkStartNetworkVirtual skips networkAddFirewallRules for it).
        return self in (ForwardMode.NONE, ForwardMode.NAT, ForwardMode.ROUTE)


@functools.lru_cache(maxsize=256)
def _mask_prefix(netmask: ipaddress.IPv4Address) -> int:
    """A netmask's prefix length (ipaddress refuses a non-contiguous mask, as libvirt does)."""
    return ipaddress.IPv4Network(f"0.0.0.0/{netmask}").prefixlen


@dataclass(frozen=True)
class DhcpRange:
    """A <dhcp><range>."""
    start: IPAddress
    end: IPAddress


@dataclass(frozen=True)
class DhcpHost:
    """A <dhcp><host>."""
    ip: IPAddress | None
    mac: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class IPDef:
    """One ``<ip>`` element."""

    address: IPAddress
    prefix: int | None = None          # as written (prefix='N'); None when absent or 0
    netmask: ipaddress.IPv4Address | None = None
    dhcp_ranges: tuple[DhcpRange, ...] = ()
    dhcp_hosts: tuple[DhcpHost, ...] = ()
    tftp_root: str | None = None

    @property
    def version(self) -> int:
        return self.address.version

    @property
    def effective_prefix(self) -> int | None:
        """libvirt's virNetworkIPDefPrefix(): prefix, else netmask, else classful/64."""
        if self.prefix:
            return self.prefix
        if self.netmask is not None:
            return _mask_prefix(self.netmask)
        if self.version == 6:
            return 64
        first = int(self.address) >> 24
        if first & 0x80 == 0:
            return 8
        if first & 0xC0 == 0x80:
            return 16
        if first & 0xE0 == 0xC0:
            return 24
        return None  # class D/E: libvirt fails the network start ("Invalid prefix or netmask")

    @functools.cached_property  # a pure function of frozen fields, asked ~6 times a network by scan
    def network(self) -> IPNetwork | None:
        """The subnet as libvirt writes it in rules (address masked by the prefix)."""
        prefix = self.effective_prefix
        if prefix is None:
            return None
        return network(f"{self.address}/{prefix}")

    @property
    def has_dhcp(self) -> bool:
        return bool(self.dhcp_ranges or self.dhcp_hosts)


@dataclass(frozen=True)
class Nat:
    """``<forward mode='nat'><nat ipv6=...><address start end/><port start end/></nat>``."""

    address_start: ipaddress.IPv4Address | None = None
    address_end: ipaddress.IPv4Address | None = None
    port_start: int = 0
    port_end: int = 0
    ipv6: bool | None = None


@dataclass(frozen=True)
class Network:
    """A libvirt <network> definition, as far as its firewall rules depend on it."""
    name: str
    uuid: str | None = None
    forward_mode: ForwardMode = ForwardMode.NONE
    forward_interfaces: tuple[str, ...] = ()   # <forward dev> first, then each <interface dev>
    bridge: str | None = None
    bridge_zone: str | None = None
    ips: tuple[IPDef, ...] = ()
    nat: Nat = field(default_factory=Nat)
    ipv6: bool = False                          # <network ipv6='yes'> (libvirt's ipv6nogw)
    source: str = "<network>"

    # -- queries mirroring libvirt's accessors ------------------------------
    @property
    def forward_dev(self) -> str | None:
        """virNetworkDefForwardIf(def, 0): the interface rules restrict forwarding to."""
        return self.forward_interfaces[0] if self.forward_interfaces else None

    @property
    def has_firewall(self) -> bool:
        return self.forward_mode.has_firewall

    def ips_of(self, version: int) -> tuple[IPDef, ...]:
        return tuple(ip for ip in self.ips if ip.version == version)

    @property
    def ipv4s(self) -> tuple[IPDef, ...]:
        return self.ips_of(4)

    @property
    def ipv6s(self) -> tuple[IPDef, ...]:
        return self.ips_of(6)

    @property
    def dhcp_ipv4(self) -> IPDef | None:
        """The first IPv4 with DHCP ranges, hosts or a TFTP root (libvirt's search)."""
        return next((ip for ip in self.ipv4s if ip.has_dhcp or ip.tftp_root), None)

    @property
    def checksum_ipv4(self) -> IPDef | None:
        """The first IPv4 with DHCP ranges or hosts: the iptables CHECKSUM rule needs one."""
        return next((ip for ip in self.ipv4s if ip.has_dhcp), None)

    @property
    def has_ipv6_rules(self) -> bool:
        """libvirt adds IPv6 reject/cross rules for an IPv6 address or <network ipv6='yes'>."""
        return bool(self.ipv6s) or self.ipv6


@dataclass(frozen=True)
class NetworkStatus:
    """``/run/libvirt/network/NAME.xml``: the running definition and its removal recipe."""

    network: Network
    removal: "RemovalRecipe | None" = None
    source: str = "<status>"
