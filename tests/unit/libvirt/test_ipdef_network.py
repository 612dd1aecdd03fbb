"""IPDef.network is kept once computed and the netmask's prefix looked up once per mask: both must
equal libvirt's virNetworkIPDefPrefix() worked out from scratch, for every way <ip> gives it."""

from __future__ import annotations

import ipaddress

import pytest

from vnetmigrate.libvirt import parse_network

IPS = ("<ip address='192.168.122.1' netmask='255.255.255.0'/>",
       "<ip address='10.1.2.3' netmask='255.255.0.0'/>",
       "<ip address='10.1.2.3' netmask='255.255.255.252'/>",
       "<ip address='10.1.2.3' prefix='20'/>",
       "<ip address='10.1.2.3'/>",                    # class A: /8
       "<ip address='172.16.5.1'/>",                  # class B: /16
       "<ip address='192.0.2.1'/>",                   # class C: /24
       "<ip family='ipv6' address='2001:db8:ca2:2::1' prefix='64'/>",
       "<ip family='ipv6' address='2001:db8::1'/>")   # /64


def _exact(ip) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if ip.prefix:
        prefix = ip.prefix
    elif ip.netmask is not None:
        prefix = bin(int(ip.netmask)).count("1")
    elif ip.version == 6:
        prefix = 64
    else:
        first = int(ip.address) >> 24
        prefix = 8 if first < 128 else 16 if first < 192 else 24 if first < 224 else None
    return None if prefix is None else ipaddress.ip_network(f"{ip.address}/{prefix}", strict=False)


@pytest.mark.parametrize("ip_xml", IPS)
def test_network_equals_the_prefix_worked_out_again(ip_xml):
    net = parse_network(f"<network><name>n</name><bridge name='virbr9'/>{ip_xml}</network>")
    (ip,) = net.ips
    assert ip.network == _exact(ip)
    assert ip.network is ip.network  # kept
    assert ip.effective_prefix == (None if _exact(ip) is None else _exact(ip).prefixlen)


def test_class_d_has_no_network():  # the parser refuses it; the model says None as libvirt fails the start
    from vnetmigrate.libvirt.model import IPDef

    ip = IPDef(address=ipaddress.IPv4Address("230.0.0.1"))
    assert ip.network is None and _exact(ip) is None


def test_kept_value_does_not_follow_into_a_changed_copy():
    from dataclasses import replace

    (ip,) = parse_network("<network><name>n</name><ip address='10.1.2.3' prefix='24'/></network>").ips
    assert str(ip.network) == "10.1.2.0/24"
    assert str(replace(ip, prefix=16).network) == "10.1.0.0/16"
    assert replace(ip, prefix=24) == ip and hash(replace(ip, prefix=24)) == hash(ip)  # fields only
