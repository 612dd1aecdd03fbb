import pytest

from vnetmigrate.errors import InputError
from vnetmigrate.libvirt.summary import summarize
from tests.unit.builders import status_xml


def test_status_file_summary():
    net = summarize(status_xml(backend="nftables"), "/run/libvirt/network/default.xml", status=True)
    assert (net.name, net.active, net.bridge, net.forward_mode, net.subnets, net.status_backend) == (
        "default", True, "virbr0", "nat", ("192.168.122.0/24",), "nftables")


def test_isolated_network_has_no_forward():
    xml = "<network><name>iso</name><bridge name='virbr9'/><ip address='10.9.0.1' prefix='24'/></network>"
    net = summarize(xml, "iso.xml", status=False)
    assert net.forward_mode == "isolated" and net.creates_rules


@pytest.mark.parametrize("xml, message", [
    ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><network><name>&lol;</name></network>',
     "DOCTYPE declaration is not allowed"),
    ("<network><name>x</name>", "not well-formed XML"),
    ("<network><name>&ext;</name></network>", "undefined entity"),
    ("<domain><name>x</name></domain>", "expected <network>"),
    ("<network><bridge name='virbr0'/></network>", "no <name>"),
    ("""<network><name>x</name><bridge name='virbr0"; flush ruleset'/></network>""", "interface name"),
    ("""<network><name>x</name><bridge name='vbr";flush'/></network>""", "contains characters other than"),
    ("<network><name>x</name><bridge name='averyveryverylongname'/></network>", "longer than 15 bytes"),
    ("<network><name>x</name><forward mode='nat' dev='eth0 ; reboot'/></network>", "contains characters other"),
    ("<network><name>x</name><ip address='300.1.1.1' prefix='24'/></network>", "is not an IP address"),
])
def test_hostile_or_malformed_xml_is_refused(xml, message):
    with pytest.raises(InputError) as err:
        summarize(xml, "/etc/libvirt/qemu/networks/x.xml", status=False)
    assert message in err.value.message and err.value.message.startswith("/etc/libvirt/qemu/networks/x.xml")
