"""A network's scan-level summary: name, state, bridge, forward mode, subnets, rule backend."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from vnetmigrate.errors import InputError

NO_RULE_MODES = ("open", "bridge", "private", "vepa", "passthrough", "hostdev")
_FORBIDDEN = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# Interface names end up in commands we print or run: accept only what the kernel accepts
# (1-15 bytes, no '/', no whitespace) and, stricter, only characters no shell or nft parser
# treats specially.
_IFNAME = re.compile(r"^[A-Za-z0-9_.:@+-]{1,15}$")


def check_ifname(name: str | None, origin: str) -> str | None:
    if name is None:
        return None
    if not _IFNAME.match(name) or name in (".", ".."):
        raise InputError(f"{origin}: interface name {name!r} is not a valid Linux interface name")
    return name


def safe_xml(text: str, origin: str) -> ET.Element:
    """Parse XML with no DTD at all, so entity tricks (billion laughs, external entities) fail."""
    if _FORBIDDEN.search(text):
        raise InputError(f"{origin}: XML with a DOCTYPE or ENTITY declaration is refused")
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise InputError(f"{origin}: malformed XML: {exc}")


@dataclass(frozen=True)
class NetworkSummary:
    name: str
    active: bool
    bridge: str | None
    forward_mode: str  # "isolated" when there is no <forward>
    forward_dev: str | None
    subnets: tuple[str, ...]  # "192.168.122.0/24", "2001:db8::/64"
    bridge_addresses: tuple[str, ...]  # "192.168.122.1/24"
    status_backend: str | None = None  # backend of the saved fwRemoval recipe (status files)
    autostart: bool = False
    definition_path: str | None = None
    status_path: str | None = None

    def with_(self, **changes) -> "NetworkSummary":
        return dataclasses.replace(self, **changes)

    @property
    def creates_rules(self) -> bool:
        return self.forward_mode not in NO_RULE_MODES

    @property
    def ipv4_subnets(self) -> tuple[str, ...]:
        return tuple(s for s in self.subnets if ":" not in s)

    @property
    def ipv6_subnets(self) -> tuple[str, ...]:
        return tuple(s for s in self.subnets if ":" in s)


def summarize(text: str, origin: str, status: bool) -> NetworkSummary:
    root = safe_xml(text, origin)
    backend = None
    if status:
        if root.tag != "networkstatus":
            raise InputError(f"{origin}: expected <networkstatus>, found <{root.tag}>")
        fw = root.find("firewall[@name='fwRemoval']")
        backend = fw.get("backend") if fw is not None else None
        root = root.find("network")
        if root is None:
            raise InputError(f"{origin}: <networkstatus> has no <network>")
    if root.tag != "network":
        raise InputError(f"{origin}: expected <network>, found <{root.tag}>")
    name = (root.findtext("name") or "").strip()
    if not name:
        raise InputError(f"{origin}: network has no <name>")
    fwd = root.find("forward")
    mode = "isolated" if fwd is None else fwd.get("mode", "nat")
    bridge = root.find("bridge")
    subnets, addrs = [], []
    for ip in root.findall("ip"):
        try:
            iface = _interface(ip)
        except ValueError as exc:
            raise InputError(f"{origin}: network {name!r}: bad <ip>: {exc}")
        if iface is not None:
            subnets.append(str(iface.network))
            addrs.append(str(iface))
    return NetworkSummary(
        name=name, active=status,
        bridge=check_ifname(bridge.get("name") if bridge is not None else None, origin),
        forward_mode=mode, forward_dev=check_ifname(fwd.get("dev") if fwd is not None else None, origin),
        subnets=tuple(subnets), bridge_addresses=tuple(addrs), status_backend=backend,
        definition_path=None if status else origin, status_path=origin if status else None)


def _interface(ip: ET.Element):
    address = ip.get("address")
    if not address:
        return None
    if ip.get("prefix"):
        return ipaddress.ip_interface(f"{address}/{int(ip.get('prefix'))}")
    if ip.get("netmask"):
        return ipaddress.ip_interface(f"{address}/{ip.get('netmask')}")
    default = 24 if ":" not in address else 64
    return ipaddress.ip_interface(f"{address}/{default}")
