"""Parse libvirt network XML (definitions and /run/libvirt/network status files).

``parse_network(text, source)`` reads a ``<network>`` definition (``virsh net-dumpxml``,
/etc/libvirt/qemu/networks/*.xml) or the ``<network>`` inside a status file;
``parse_status(text, source)`` reads a ``<networkstatus>`` file with its removal recipe.

Everything malformed or hostile becomes one ``InputError`` naming `source`: DTDs and
entities are refused (safexml.py), addresses and prefixes are checked the way libvirt's
network_conf.c checks them, and every interface name passes ``validate_ifname`` before it
can reach a rule or a command. Elements that do not affect the firewall (dns, mac, domain,
portgroup, bandwidth, route, mtu, ...) are ignored.

libvirt facts used here: ``<forward>`` without ``mode`` means NAT; ``<forward dev='X'>``
is the same as a first ``<interface dev='X'/>`` (both given must agree); ``<nat>`` is only
valid in NAT mode, and its ``<address>`` range is IPv4 only; a bridge name may be a template
like ``virbr%d`` in a definition that was never defined (libvirt fills it in).

Both parsers remember their recent results (the same text and source give the same frozen
object): in one run the collectors read each network's bridge (to prune what they list) and
the facts read the whole network, from the same file, and the XML is parsed once.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET

from vnetmigrate.errors import InputError
from vnetmigrate.libvirt.fwremoval import parse_removal
from vnetmigrate.libvirt.ipxml import parse_ip, parse_nat
from vnetmigrate.libvirt.model import ForwardMode, Nat, Network, NetworkStatus
from vnetmigrate.libvirt.names import InvalidName, validate_ifname
from vnetmigrate.libvirt.safexml import parse_xml

__all__ = ["parse_network", "parse_status", "validate_ifname", "network_from_element"]


# A bound well above a host's networks (two files each); entries are small frozen objects.
_REMEMBERED = 4096


@functools.lru_cache(maxsize=_REMEMBERED)
def parse_network(text: str | bytes, source: str = "<network>") -> Network:
    """Parse a network definition; a status file is accepted too (its <network> is used)."""
    root = parse_xml(text, source)
    if root.tag == "networkstatus":
        return parse_status(text, source).network
    if root.tag != "network":
        raise InputError(f"{source}: root element is <{root.tag}>, expected <network>")
    return network_from_element(root, source)


@functools.lru_cache(maxsize=_REMEMBERED)
def parse_status(text: str | bytes, source: str = "<status>") -> NetworkStatus:
    root = parse_xml(text, source)
    if root.tag != "networkstatus":
        raise InputError(f"{source}: root element is <{root.tag}>, expected <networkstatus>")
    nets = root.findall("network")
    if len(nets) != 1:
        raise InputError(f"{source}: expected one <network> in <networkstatus>, found {len(nets)}")
    network = network_from_element(nets[0], source)
    firewalls = root.findall("firewall")
    if len(firewalls) > 1:
        raise InputError(f"{source}: more than one <firewall> removal recipe")
    removal = parse_removal(firewalls[0], source) if firewalls else None
    return NetworkStatus(network=network, removal=removal, source=source)


def _ifname(name: str | None, what: str, source: str) -> str:
    if name is None:
        raise InputError(f"{source}: {what} has no name")
    try:
        return validate_ifname(name)
    except InvalidName as exc:
        raise InputError(f"{source}: {what}: {exc}") from None


def _yes_no(elem: ET.Element, attr: str, source: str) -> bool | None:
    value = elem.get(attr)
    if value is None:
        return None
    if value not in ("yes", "no"):
        raise InputError(f"{source}: <{elem.tag} {attr}={value!r}> must be 'yes' or 'no'")
    return value == "yes"


def uuid_string(text: str) -> str:
    """str(uuid.UUID(text)), as uuid.UUID reads a UUID's hex form (ValueError if it is not
    one), without importing uuid: it imports platform, a few ms of every scan's start-up."""
    digits = text.replace("urn:", "").replace("uuid:", "").strip("{}").replace("-", "")
    if len(digits) != 32:
        raise ValueError("badly formed hexadecimal UUID string")
    h = "%032x" % int(digits, 16)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def network_from_element(root: ET.Element, source: str) -> Network:
    name = (root.findtext("name") or "").strip()
    if not name:
        raise InputError(f"{source}: <network> has no <name>")
    if "/" in name or any(ord(c) < 32 for c in name):
        raise InputError(f"{source}: network name {name!r} contains '/' or control characters")
    uuid_text = root.findtext("uuid")
    uuid = None
    if uuid_text is not None:
        try:
            uuid = uuid_string(uuid_text.strip())
        except ValueError:
            raise InputError(f"{source}: <uuid> {uuid_text.strip()!r} is not a UUID") from None
    where = f"{source}: network {name!r}"
    mode, interfaces, nat = _parse_forward(root.find("forward"), where)
    bridge_el = root.find("bridge")
    bridge = zone = None
    if bridge_el is not None:
        raw = bridge_el.get("name")
        if raw is not None:
            # A template such as "virbr%d" is filled in by libvirt at define time.
            _ifname(raw.replace("%d", "0", 1), f"network {name!r} <bridge name>", source)
            bridge = raw
        zone = bridge_el.get("zone")
    ips = tuple(parse_ip(el, where) for el in root.findall("ip"))
    for version in (4, 6):
        with_dhcp = [ip for ip in ips if ip.version == version and ip.has_dhcp]
        if len(with_dhcp) > 1:
            raise InputError(f"{where}: more than one IPv{version} <ip> has <dhcp> "
                             "(libvirt supports DHCP on one address per family)")
    if mode in (ForwardMode.NAT, ForwardMode.ROUTE, ForwardMode.OPEN):
        if not ips:
            raise InputError(f"{where}: forward mode {mode.value} needs at least one <ip>")
        if len(interfaces) > 1:
            raise InputError(f"{where}: forward mode {mode.value} allows one forward interface, "
                             f"found {len(interfaces)}")
    ipv6 = _yes_no(root, "ipv6", where) or False
    return Network(name=name, uuid=uuid, forward_mode=mode, forward_interfaces=interfaces,
                   bridge=bridge, bridge_zone=zone, ips=ips, nat=nat, ipv6=ipv6, source=source)


def _parse_forward(fwd: ET.Element | None, where: str) -> tuple[ForwardMode, tuple[str, ...], Nat]:
    if fwd is None:
        return ForwardMode.NONE, (), Nat()
    mode_text = fwd.get("mode", "nat")  # libvirt: <forward> without mode is NAT
    try:
        mode = ForwardMode(mode_text)
    except ValueError:
        raise InputError(f"{where}: unknown <forward mode={mode_text!r}>") from None
    if mode is ForwardMode.NONE:
        raise InputError(f"{where}: <forward mode='none'> is not valid (omit <forward> instead)")
    interfaces: list[str] = []
    dev = fwd.get("dev")
    if dev is not None:
        interfaces.append(_ifname(dev, "<forward dev>", where))
    for i, iel in enumerate(fwd.findall("interface")):
        idev = _ifname(iel.get("dev"), "<forward><interface dev>", where)
        if i == 0 and dev is not None:
            if idev != dev:
                raise InputError(f"{where}: <forward dev={dev!r}> must match the first "
                                 f"<interface dev={idev!r}>")
            continue
        interfaces.append(idev)
    for pel in fwd.findall("pf"):
        _ifname(pel.get("dev"), "<forward><pf dev>", where)
    nat = Nat()
    nat_els = fwd.findall("nat")
    if len(nat_els) > 1:
        raise InputError(f"{where}: more than one <nat> in <forward>")
    if nat_els:
        if mode is not ForwardMode.NAT:
            raise InputError(f"{where}: <nat> is only allowed with <forward mode='nat'>")
        nat = parse_nat(nat_els[0], where)
    return mode, tuple(interfaces), nat
