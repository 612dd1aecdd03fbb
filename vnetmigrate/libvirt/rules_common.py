"""What both backends' rule builders need from a network, with libvirt's failure modes.

Where libvirt would refuse to start a network (and so create no rules), we raise an
InputError saying so instead of inventing rules.
"""

from __future__ import annotations

from collections.abc import Collection

from vnetmigrate.errors import InputError
from vnetmigrate.libvirt.model import IPDef, Network
from vnetmigrate.libvirt.names import InvalidName, validate_ifname
from vnetmigrate.libvirt.versions import LibvirtVersion

# Destinations never masqueraded (network_iptables.c / network_nftables.c).
LOCAL_MULTICAST = {4: "224.0.0.0/24", 6: "ff02::/16"}
LOCAL_BROADCAST = "255.255.255.255/32"
DEFAULT_NAT_PORTS = (1024, 65535)


def bridge_of(net: Network) -> str:
    """The bridge name, validated; a template or a missing name cannot have rules yet."""
    if not net.bridge or "%" in net.bridge:
        raise InputError(
            f"{net.source}: network {net.name!r} has no bridge name yet ({net.bridge or 'none'}); "
            "libvirt picks one when the network is defined: use `virsh net-dumpxml` or its status file")
    try:
        return validate_ifname(net.bridge)
    except InvalidName as exc:
        raise InputError(f"{net.source}: network {net.name!r}: {exc}") from None


def forward_dev_of(net: Network) -> str | None:
    dev = net.forward_dev
    if not dev:
        return None
    try:
        return validate_ifname(dev)
    except InvalidName as exc:
        raise InputError(f"{net.source}: network {net.name!r}: forward interface: {exc}") from None


def subnet(ip: IPDef, net: Network) -> str:
    """The subnet as libvirt formats it: masked address / prefix (IPv4 /32 kept)."""
    network = ip.network
    if network is None:
        raise InputError(f"{net.source}: network {net.name!r}: invalid prefix or netmask for "
                         f"{ip.address} (libvirt refuses to start it)")
    return f"{network.network_address}/{network.prefixlen}"


def nat_port_range(net: Network) -> tuple[int, int]:
    """The source-port range of the tcp/udp masquerade rules (libvirt's checks at start)."""
    start, end = net.nat.port_start, net.nat.port_end
    if start == 0 and end == 0:
        return DEFAULT_NAT_PORTS
    if not (start < end and end < 65536):
        raise InputError(f"{net.source}: network {net.name!r}: invalid NAT port range "
                         f"'{start}-{end}' (libvirt refuses to start the network)")
    return start, end


def snat_range(net: Network, ip: IPDef) -> tuple[str, str | None] | None:
    """The <nat><address> range if it applies to this address family (it is IPv4 only)."""
    if net.nat.address_start is None or ip.version != 4:
        return None
    end = str(net.nat.address_end) if net.nat.address_end is not None else None
    return str(net.nat.address_start), end


def ip_rule_kind(net: Network, ip: IPDef) -> str | None:
    """"masquerade", "route" or None for one <ip> (libvirt's *AddIPSpecificFirewallRules).

    In NAT mode an IPv6 address is routed, not masqueraded, unless <nat ipv6='yes'>.
    """
    mode = net.forward_mode.value
    if mode == "nat":
        if ip.version == 4 or net.nat.ipv6:
            return "masquerade"
        return "route"
    if mode == "route":
        return "route"
    return None


def firewalled(networks, failed: Collection[str] = ()) -> list[Network]:
    """Networks that get rules, in start order; others (bridge, hostdev, open...) get none,
    and neither do the networks named in `failed` (their start failed)."""
    return [n for n in networks if n.has_firewall and n.name not in failed]


def failed_after_setup(net: Network, failed: Collection[str], version: LibvirtVersion) -> bool:
    """Whether a network whose start failed got as far as libvirt's private chains/tables.

    Seen with real libvirt: a network asking for a firewalld zone fails (no firewalld) after
    9.0 set up its chains but before 11.3 does; any later failure (dnsmasq refusing a
    missing TFTP root) comes after the firewall was added, which libvirt then rolls back,
    leaving the private chains/tables. We assume a failure is one of these two kinds.
    """
    if net.name not in failed or not net.has_firewall:
        return False
    return not net.bridge_zone or version.setup_before_zone_check


def private_setup(networks, failed: Collection[str], version: LibvirtVersion) -> bool:
    """Whether libvirt creates its private chains/tables at all for this start sequence."""
    nets = list(networks)
    return bool(firewalled(nets, failed)) or any(failed_after_setup(n, failed, version) for n in nets)
