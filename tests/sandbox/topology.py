"""The lab's shape as data: networks, guests, addresses, and the iproute2 batches that build it.

Pure functions (no kernel access), so the layout can be read and checked without root.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from vnetmigrate.errors import InputError

# Documentation ranges (RFC 5737): they never collide with a real network on the machine,
# and lab traffic never leaves the lab's namespaces anyway.
UPLINK_CIDR = "203.0.113.0/24"
UPLINK_HOST_IP = "203.0.113.2"   # the host's address on its uplink
WAN_IP = "203.0.113.1"           # the host's default gateway, inside the wan namespace
REMOTE_IP = "198.51.100.1"       # "the internet": an address behind the gateway, on wan's lo
WAN_TCP_PORT = 80
ECHO_UDP_PORT = 7
GUEST_TCP_PORT = 22              # the Fedora change's "SSH to the guest" test
GUEST_HOST_PART = 10             # guest address = network address + 10 (outside DHCP use)

_IFNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")


def _ifname(name: str) -> str:
    if not _IFNAME_RE.match(name) or name in (".", ".."):
        raise InputError(f"invalid interface name {name!r}")
    return name


@dataclass(frozen=True)
class LabNetwork:
    """One libvirt-style NAT network: a bridge with the first address of `cidr`."""

    name: str = "default"
    bridge: str = "virbr0"
    cidr: str = "192.168.122.0/24"

    def __post_init__(self) -> None:
        _ifname(self.bridge)
        try:
            net = ipaddress.IPv4Network(self.cidr)
        except ValueError as exc:  # bad text, or host bits set
            raise InputError(f"network {self.name}: {exc}")
        if net.prefixlen > 28:
            raise InputError(f"network {self.cidr} is too small for a gateway, guest and DHCP range")

    @property
    def net(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.cidr)

    @property
    def gateway(self) -> str:
        return str(self.net[1])

    @property
    def guest_ip(self) -> str:
        return str(self.net[GUEST_HOST_PART])

    @property
    def dhcp_range(self) -> tuple[str, str]:
        return str(self.net[2]), str(self.net[-2])

    @property
    def pair(self) -> tuple[str, str]:
        """(bridge, cidr): the form `tests.sandbox.fixtures` takes."""
        return self.bridge, self.cidr


DEFAULT_NETWORK = LabNetwork()


@dataclass(frozen=True)
class Guest:
    """A synthetic guest: its own namespace, `eth0` plugged into the bridge via `tap`."""

    index: int
    network: LabNetwork
    ns: str
    tap: str       # host side of the veth, on the bridge (named like libvirt's vnetN)
    mac: str
    ifname: str = "eth0"

    @property
    def ip(self) -> str:
        return self.network.guest_ip


def guest_mac(index: int) -> str:
    return f"52:54:00:76:6e:{index:02x}"  # libvirt's QEMU prefix, then "vn" and the index


def host_batch(networks: list[LabNetwork], guests: list[Guest], uplink: str, wan_ns: str) -> list[str]:
    lines = ["link set lo up"]
    for net in networks:
        lines += [f"link add {net.bridge} type bridge stp_state 0",
                  f"addr add {net.gateway}/{net.net.prefixlen} dev {net.bridge}",
                  f"link set {net.bridge} up"]
    for g in guests:
        lines += [f"link add {g.tap} type veth peer name {g.ifname} netns {g.ns}",
                  f"link set {g.tap} master {g.network.bridge} up"]
    prefix = ipaddress.IPv4Network(UPLINK_CIDR).prefixlen
    lines += [f"link add {_ifname(uplink)} type veth peer name eth0 netns {wan_ns}",
              f"addr add {UPLINK_HOST_IP}/{prefix} dev {uplink}",
              f"link set {uplink} up",
              f"route add default via {WAN_IP}"]
    return lines


def guest_batch(g: Guest) -> list[str]:
    return ["link set lo up",
            f"link set {g.ifname} address {g.mac}",
            f"addr add {g.ip}/{g.network.net.prefixlen} dev {g.ifname}",
            f"link set {g.ifname} up",
            f"route add default via {g.network.gateway}"]


def wan_batch() -> list[str]:
    # No route to any guest subnet: a guest's packet only gets an answer if the host
    # masqueraded it to its uplink address. That is what makes guest->wan a NAT test.
    prefix = ipaddress.IPv4Network(UPLINK_CIDR).prefixlen
    return ["link set lo up",
            f"addr add {WAN_IP}/{prefix} dev eth0",
            f"addr add {REMOTE_IP}/32 dev lo",
            "link set eth0 up"]


def check_networks(networks: list[LabNetwork], uplink: str) -> None:
    names = [n.bridge for n in networks] + [_ifname(uplink)]
    if len(set(names)) != len(names):
        raise InputError(f"bridge/uplink names must differ: {names}")
    nets = [n.net for n in networks] + [ipaddress.IPv4Network(UPLINK_CIDR),
                                        ipaddress.IPv4Network(f"{REMOTE_IP}/32")]
    for i, a in enumerate(nets):
        for b in nets[i + 1:]:
            if a.overlaps(b):
                raise InputError(f"lab networks overlap: {a} and {b}")
