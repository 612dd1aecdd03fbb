"""parse_network / parse_status: the model of a network, and one clear error for bad input."""

import ipaddress

import pytest

from vnetmigrate.errors import InputError
from vnetmigrate.libvirt import Backend, ForwardMode, parse_network, parse_status

DEFAULT = """<network>
  <name>default</name>
  <uuid>22062794-6E53-482C-A819-1845F08E66F0</uuid>
  <forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>
  <bridge name='virbr0' stp='on' delay='0'/>
  <mac address='52:54:00:e3:61:57'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp>
  </ip>
</network>"""


def net(body: str, head: str = "<network>") -> str:
    return f"{head}<name>n</name><bridge name='br0'/>{body}</network>"


def test_default_network():
    n = parse_network(DEFAULT, "default.xml")
    assert (n.name, n.bridge, n.forward_mode) == ("default", "virbr0", ForwardMode.NAT)
    assert n.uuid == "22062794-6e53-482c-a819-1845f08e66f0"
    assert n.nat.port_start == 1024 and n.nat.port_end == 65535 and n.nat.ipv6 is None
    (ip,) = n.ips
    assert ip.effective_prefix == 24 and str(ip.network) == "192.168.122.0/24"
    assert ip.dhcp_ranges[0].start == ipaddress.ip_address("192.168.122.2")
    assert n.dhcp_ipv4 is ip and n.checksum_ipv4 is ip
    assert n.has_firewall and not n.has_ipv6_rules and n.source == "default.xml"


@pytest.mark.parametrize("forward,mode,rules", [
    ("", ForwardMode.NONE, True),
    ("<forward/>", ForwardMode.NAT, True),          # libvirt: <forward> without mode is NAT
    ("<forward mode='route'/>", ForwardMode.ROUTE, True),
    ("<forward mode='open'/>", ForwardMode.OPEN, False),
    ("<forward mode='bridge'/>", ForwardMode.BRIDGE, False),
    ("<forward mode='hostdev'/>", ForwardMode.HOSTDEV, False),
    ("<forward mode='passthrough'><interface dev='eth1'/><interface dev='eth2'/></forward>",
     ForwardMode.PASSTHROUGH, False),
])
def test_forward_modes(forward, mode, rules):
    n = parse_network(net(forward + "<ip address='10.0.0.1' prefix='24'/>"), "f.xml")
    assert n.forward_mode is mode and n.has_firewall is rules


def test_forward_dev_and_interface():
    n = parse_network(net("<forward mode='nat' dev='eth0'><interface dev='eth0'/></forward>"
                          "<ip address='10.0.0.1' prefix='24'/>"), "f.xml")
    assert n.forward_dev == "eth0" and n.forward_interfaces == ("eth0",)
    n = parse_network(net("<forward mode='route'><interface dev='eth1'/></forward>"
                          "<ip address='10.0.0.1' prefix='24'/>"), "f.xml")
    assert n.forward_dev == "eth1"


def test_nat_address_ports_ipv6_and_network_ipv6():
    n = parse_network(net("<forward mode='nat'><nat ipv6='yes'><address start='203.0.113.10' "
                          "end='203.0.113.20'/><port start='2000' end='3000'/></nat></forward>"
                          "<ip address='10.0.0.1' prefix='24'/><ip family='ipv6' address='fd00::1' prefix='64'/>",
                          head="<network ipv6='yes'>"), "f.xml")
    assert str(n.nat.address_start) == "203.0.113.10" and str(n.nat.address_end) == "203.0.113.20"
    assert (n.nat.port_start, n.nat.port_end, n.nat.ipv6, n.ipv6) == (2000, 3000, True, True)
    assert [ip.version for ip in n.ips] == [4, 6] and n.has_ipv6_rules


@pytest.mark.parametrize("attrs,prefix", [
    ("address='10.1.2.3'", 8), ("address='172.16.1.1'", 16), ("address='192.168.5.1'", 24),
    ("address='10.1.2.3' prefix='0'", 8),              # libvirt treats prefix 0 as unset
    ("address='10.1.2.3' prefix='30'", 30), ("address='10.1.2.3' netmask='255.255.0.0'", 16),
    ("address='fd00::1'", 64), ("address='fd00::1' prefix='48'", 48),
])
def test_prefix_rules(attrs, prefix):
    (ip,) = parse_network(net(f"<ip {attrs}/>"), "p.xml").ips
    assert ip.effective_prefix == prefix


def test_tftp_and_hosts():
    n = parse_network(net("<ip address='10.0.0.1' prefix='24'><tftp root='/srv/tftp'/>"
                          "<dhcp><host mac='52:54:00:00:00:01' ip='10.0.0.5'/></dhcp></ip>"), "t.xml")
    assert n.ips[0].tftp_root == "/srv/tftp" and n.ips[0].dhcp_hosts[0].mac == "52:54:00:00:00:01"


def test_bridge_template_parses():
    n = parse_network("<network><name>t</name><bridge name='virbr%d'/></network>", "t.xml")
    assert n.bridge == "virbr%d"


def test_status_with_recipe():
    text = ("<networkstatus><class_id bitmap='0-2'/><floor sum='0'/>" + DEFAULT +
            "<firewall name='fwRemoval' backend='nftables'><group ignoreErrors='yes'>"
            "<action layer='ipv4'><args><item>delete</item><item>rule</item><item>ip</item>"
            "<item>libvirt_network</item><item>guest_nat</item><item>handle</item><item>18</item></args></action>"
            "<action layer='tc'><args><item>filter</item><item>del</item><item>dev</item><item>virbr0</item>"
            "</args></action></group></firewall></networkstatus>")
    st = parse_status(text, "/run/libvirt/network/default.xml")
    assert st.network.name == "default" and st.removal.backend is Backend.NFTABLES
    first, tc = st.removal.actions
    assert first.nft_rule_ref == ("ip", "libvirt_network", "guest_nat", 18)
    assert tc.layer == "tc" and tc.tc_device == "virbr0" and st.removal.groups[0].ignore_errors
    # parse_network accepts a status file too, and returns its network
    assert parse_network(text, "s.xml").name == "default"


def test_status_without_recipe_is_libvirt_9():
    st = parse_status("<networkstatus>" + DEFAULT + "</networkstatus>", "s.xml")
    assert st.removal is None


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<network><name>&lol3;</name></network>"""

HOSTILE = [
    (BILLION_LAUGHS, "DOCTYPE"),
    ('<!DOCTYPE network SYSTEM "file:///etc/passwd"><network><name>x</name></network>', "DOCTYPE"),
    ('<!DOCTYPE network [<!ENTITY x SYSTEM "http://example.invalid/x">]><network><name>&x;</name></network>',
     "DOCTYPE"),
    ('<!DOCTYPE network [<!ENTITY % p SYSTEM "file:///etc/shadow"> %p;]><network/>', "DOCTYPE"),
    ("<network><name>&x;</name></network>", "undefined entity"),
    ("<a>" * 100 + "</a>" * 100, "nested deeper"),
    ("<network>" + " " * (9 * 1024 * 1024) + "</network>", "larger than"),
]


@pytest.mark.parametrize("text,msg", HOSTILE)
def test_hostile_xml_refused(text, msg):
    with pytest.raises(InputError, match=msg) as exc:
        parse_network(text, "/tmp/evil.xml")
    assert exc.value.message.startswith("/tmp/evil.xml: ")


MALFORMED = [
    ("not xml at all", "not well-formed"),
    ("", "not well-formed"),
    ("<domain><name>x</name></domain>", "expected <network>"),
    ("<network><bridge name='br0'/></network>", "no <name>"),
    ("<network><name>a/b</name></network>", "contains '/'"),
    ("<network><name>x</name><uuid>nope</uuid></network>", "not a UUID"),
    (net("<ip address='10.0.0.300' prefix='24'/>"), "not an IP address"),
    (net("<ip prefix='24'/>"), "<ip address> is missing"),
    (net("<ip address='10.0.0.1' prefix='33'/>"), "prefix '33'"),
    (net("<ip address='10.0.0.1' prefix='x'/>"), "prefix 'x'"),
    (net("<ip address='fd00::1' netmask='255.255.255.0'/>"), "only supported for IPv4"),
    (net("<ip address='10.0.0.1' prefix='24' netmask='255.255.255.0'/>"), "both a prefix and a netmask"),
    (net("<ip address='10.0.0.1' netmask='255.0.255.0'/>"), "not a contiguous mask"),
    (net("<ip family='ipv6' address='10.0.0.1'/>"), "does not match"),
    (net("<ip address='fe80::1%eth0'/>"), "scope id"),
    (net("<ip address='240.0.0.1'/>"), "no classful default"),
    (net("<ip address='10.0.0.1' prefix='24'><dhcp><range start='10.0.1.2' end='10.0.1.9'/></dhcp></ip>"),
     "not inside"),
    (net("<ip address='10.0.0.1' prefix='24'><dhcp><range start='10.0.0.9' end='10.0.0.2'/></dhcp></ip>"),
     "ends before"),
    (net("<ip address='fd00::1'><tftp root='/x'/></ip>"), "only supported for IPv4"),
    (net("<ip address='10.0.0.1' prefix='24'><dhcp><range start='10.0.0.2' end='10.0.0.3'/></dhcp></ip>"
         "<ip address='10.0.1.1' prefix='24'><dhcp><range start='10.0.1.2' end='10.0.1.3'/></dhcp></ip>"),
     "more than one IPv4"),
    (net("<forward mode='nat'/>"), "needs at least one <ip>"),
    (net("<forward mode='sideways'/><ip address='10.0.0.1'/>"), "unknown <forward mode"),
    (net("<forward mode='route'><nat/></forward><ip address='10.0.0.1'/>"), "only allowed with"),
    (net("<forward><nat><address start='fd00::1' end='fd00::2'/></nat></forward><ip address='10.0.0.1'/>"),
     "not an IPv4 address"),
    (net("<forward><nat><address start='10.9.0.1'/></nat></forward><ip address='10.0.0.1'/>"),
     "<address end> is missing"),
    (net("<forward><nat><port start='3000' end='2000'/></nat></forward><ip address='10.0.0.1'/>"),
     "start <= end"),
    (net("<forward><nat><port start='1' end='70000'/></nat></forward><ip address='10.0.0.1'/>"), "70000"),
    (net("<forward dev='eth0'><interface dev='eth1'/></forward><ip address='10.0.0.1'/>"), "must match"),
    (net("<forward mode='nat'><interface dev='eth1'/><interface dev='eth2'/></forward><ip address='10.0.0.1'/>"),
     "allows one forward interface"),
    (net("<ip address='10.0.0.1'/>", head="<network ipv6='maybe'>"), "'yes' or 'no'"),
    ("<network><name>x</name><bridge name='virbr0\"; flush ruleset'/></network>", "<bridge name>"),
    ("<network><name>x</name><bridge name='averyveryverylongbridgename'/></network>", "longer than 15"),
    (net("<forward mode='nat' dev='eth0;reboot'/><ip address='10.0.0.1'/>"), "<forward dev>"),
    (net("<forward mode='route'><interface dev='$(id)'/></forward><ip address='10.0.0.1'/>"), "interface dev"),
    (net("<forward mode='route'><interface/></forward><ip address='10.0.0.1'/>"), "has no name"),
]


@pytest.mark.parametrize("text,msg", MALFORMED)
def test_malformed_network(text, msg):
    with pytest.raises(InputError, match=msg) as exc:
        parse_network(text, "bad.xml")
    assert exc.value.message.startswith("bad.xml")


STATUS_ERRORS = [
    (DEFAULT, "expected <networkstatus>"),
    ("<networkstatus/>", "found 0"),
    ("<networkstatus>" + DEFAULT + DEFAULT + "</networkstatus>", "found 2"),
    ("<networkstatus>" + DEFAULT + "<firewall backend='pf'/></networkstatus>", "unknown backend"),
    ("<networkstatus>" + DEFAULT + "<firewall backend='iptables'/><firewall backend='iptables'/></networkstatus>",
     "more than one"),
    ("<networkstatus>" + DEFAULT + "<firewall backend='iptables'><group ignoreErrors='maybe'/></firewall>"
     "</networkstatus>", "yes/no"),
    ("<networkstatus>" + DEFAULT + "<firewall backend='iptables'><group><action layer='ipx'><args>"
     "<item>x</item></args></action></group></firewall></networkstatus>", "layer='ipx'"),
    ("<networkstatus>" + DEFAULT + "<firewall backend='iptables'><group><action layer='ipv4'/></group>"
     "</firewall></networkstatus>", "without <args>"),
    ("<networkstatus>" + DEFAULT + "<firewall backend='iptables'><group><action layer='ipv4'><args/>"
     "</action></group></firewall></networkstatus>", "no <item>"),
]


@pytest.mark.parametrize("text,msg", STATUS_ERRORS)
def test_malformed_status(text, msg):
    with pytest.raises(InputError, match=msg) as exc:
        parse_status(text, "/run/libvirt/network/x.xml")
    assert exc.value.message.startswith("/run/libvirt/network/x.xml")
