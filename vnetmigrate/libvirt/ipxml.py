"""``<ip>`` and ``<nat>`` elements, checked the way libvirt's network_conf.c checks them.

libvirt facts kept here:
- ``prefix`` and ``netmask`` are exclusive; ``netmask`` is IPv4 only; ``prefix='0'`` counts
  as absent (libvirt tests ``prefix > 0``), and an absent prefix falls back to the classful
  prefix for IPv4 and to 64 for IPv6 (virNetworkIPDefPrefix);
- ``family`` is optional and must agree with the address;
- ``<tftp>`` is IPv4 only; DHCP ranges must be of the address's family, ordered, and inside
  the subnet;
- ``<nat><address start end>`` is one IPv4 range (both ends required); ``<port start end>``
  is one range with start <= end <= 65535. libvirt itself only refuses start == end (and
  0-0 means the default 1024-65535) when the network starts; ``nat_port_range()`` in
  rules_common.py reproduces that.
"""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET

from vnetmigrate.errors import InputError
from vnetmigrate.libvirt.model import DhcpHost, DhcpRange, IPAddress, IPDef, Nat


def _address(text: str | None, what: str, where: str, version: int | None = None) -> IPAddress:
    if text is None:
        raise InputError(f"{where}: {what} is missing")
    try:
        addr = ipaddress.ip_address(text.strip())
    except ValueError:
        raise InputError(f"{where}: {what} {text!r} is not an IP address") from None
    if getattr(addr, "scope_id", None):
        raise InputError(f"{where}: {what} {text!r} has a scope id, which libvirt does not accept")
    if version is not None and addr.version != version:
        raise InputError(f"{where}: {what} {text!r} is not an IPv{version} address")
    return addr


def _uint(text: str | None, what: str, where: str, maximum: int) -> int | None:
    if text is None:
        return None
    value = text.strip()
    if not value.isdigit() or int(value) > maximum:
        raise InputError(f"{where}: {what} {text!r} is not a number from 0 to {maximum}")
    return int(value)


def parse_ip(el: ET.Element, where: str) -> IPDef:
    addr = _address(el.get("address"), "<ip address>", where)
    family = el.get("family")
    if family is not None and family not in ("ipv4", "ipv6"):
        raise InputError(f"{where}: <ip family={family!r}> is not ipv4 or ipv6")
    if family is not None and family != f"ipv{addr.version}":
        raise InputError(f"{where}: <ip family={family!r}> does not match address {addr}")
    here = f"{where} <ip address='{addr}'>"
    prefix = _uint(el.get("prefix"), "prefix", here, 32 if addr.version == 4 else 128)
    netmask = None
    if el.get("netmask") is not None:
        if prefix is not None:
            raise InputError(f"{here}: has both a prefix and a netmask")
        if addr.version != 4:
            raise InputError(f"{here}: netmask is only supported for IPv4 (use prefix)")
        netmask = _address(el.get("netmask"), "netmask", here, 4)
        try:
            ipaddress.IPv4Network(f"0.0.0.0/{netmask}")
        except ValueError:
            raise InputError(f"{here}: netmask {netmask} is not a contiguous mask") from None
    ipdef = IPDef(address=addr, prefix=prefix or None, netmask=netmask)
    if ipdef.effective_prefix is None:
        raise InputError(f"{here}: no prefix or netmask, and {addr} has no classful default")
    ranges, hosts = [], []
    for dhcp in el.findall("dhcp"):
        for rel in dhcp.findall("range"):
            start = _address(rel.get("start"), "<range start>", here, addr.version)
            end = _address(rel.get("end"), "<range end>", here, addr.version)
            if end < start:
                raise InputError(f"{here}: DHCP range {start} - {end} ends before it starts")
            net = ipdef.network
            if net is not None and (start not in net or end not in net):
                raise InputError(f"{here}: DHCP range {start} - {end} is not inside {net}")
            ranges.append(DhcpRange(start, end))
        for hel in dhcp.findall("host"):
            ip_text = hel.get("ip")
            hip = _address(ip_text, "<host ip>", here, addr.version) if ip_text is not None else None
            if hel.get("mac") is None and hel.get("name") is None and hel.get("id") is None:
                raise InputError(f"{here}: a DHCP <host> needs a mac, id or name")
            hosts.append(DhcpHost(hip, hel.get("mac"), hel.get("name")))
    tftp_root = None
    tftp = el.find("tftp")
    if tftp is not None:
        if addr.version != 4:
            raise InputError(f"{here}: <tftp> is only supported for IPv4")
        tftp_root = tftp.get("root")
        if not tftp_root:
            raise InputError(f"{here}: <tftp> has no root")
    return IPDef(address=addr, prefix=prefix or None, netmask=netmask, dhcp_ranges=tuple(ranges),
                 dhcp_hosts=tuple(hosts), tftp_root=tftp_root)


def parse_nat(el: ET.Element, where: str) -> Nat:
    here = f"{where} <nat>"
    ipv6_text = el.get("ipv6")
    if ipv6_text not in (None, "yes", "no"):
        raise InputError(f"{here}: ipv6={ipv6_text!r} must be 'yes' or 'no'")
    addrs = el.findall("address")
    if len(addrs) > 1:
        raise InputError(f"{here}: only one <address> range is allowed")
    start = end = None
    if addrs:
        start = _address(addrs[0].get("start"), "<address start>", here, 4)
        end = _address(addrs[0].get("end"), "<address end>", here, 4)
        if end < start:
            raise InputError(f"{here}: address range {start} - {end} ends before it starts")
    ports = el.findall("port")
    if len(ports) > 1:
        raise InputError(f"{here}: only one <port> range is allowed")
    pstart = pend = 0
    if ports:
        ps = _uint(ports[0].get("start"), "<port start>", here, 65535)
        pe = _uint(ports[0].get("end"), "<port end>", here, 65535)
        if ps is None or pe is None or pe < ps:
            raise InputError(f"{here}: <port> needs start and end with start <= end <= 65535")
        pstart, pend = ps, pe
    return Nat(address_start=start, address_end=end, port_start=pstart, port_end=pend,
               ipv6=None if ipv6_text is None else ipv6_text == "yes")
