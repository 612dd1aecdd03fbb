"""Where libvirt would refuse to start a network, the model refuses to invent rules."""

import dataclasses

import pytest

from vnetmigrate.errors import InputError
from vnetmigrate.libvirt import (Backend, get_version, iptables_restore, nft_commands, nft_text, parse_network, tc_commands,
                                 tc_removal)


def nat(port: str = "", bridge: str = "virbr7") -> str:
    return (f"<network><name>n</name><forward mode='nat'><nat>{port}</nat></forward>"
            f"<bridge name='{bridge}'/><ip address='10.7.0.1' prefix='24'/></network>")


RULES = [
    lambda nets: nft_text(nets, "11.3"),
    lambda nets: nft_commands(nets, "11.3"),
    lambda nets: iptables_restore(nets, "11.3", "ipv4"),
    lambda nets: iptables_restore(nets, "9.0", "ipv6"),
]
TC = [
    lambda nets: tc_commands(nets, "11.3"),
    lambda nets: tc_removal(nets, "11.3"),
]
ALL = RULES + TC


@pytest.mark.parametrize("build", RULES)
def test_port_range_with_start_equal_end_is_refused(build):
    # libvirt's *AddForwardMasquerade: "Invalid port range" unless start < end < 65536.
    net = parse_network(nat("<port start='2000' end='2000'/>"), "n.xml")
    with pytest.raises(InputError, match="invalid NAT port range '2000-2000'"):
        build([net])


@pytest.mark.parametrize("build", ALL)
def test_bridge_template_or_missing_bridge_is_refused(build):
    tmpl = parse_network(nat(bridge="virbr%d"), "t.xml")
    with pytest.raises(InputError, match="no bridge name yet"):
        build([tmpl])
    with pytest.raises(InputError, match="no bridge name yet"):
        build([dataclasses.replace(tmpl, bridge=None)])


@pytest.mark.parametrize("build", ALL)
def test_injected_bridge_name_never_reaches_output(build):
    # Networks built in code (not parsed) are validated again before any rule is made.
    good = parse_network(nat(), "n.xml")
    evil = dataclasses.replace(good, bridge='virbr0"; flush ruleset')
    with pytest.raises(InputError, match="flush ruleset"):
        build([evil])

@pytest.mark.parametrize("build", RULES)
def test_injected_forward_dev_never_reaches_output(build):
    good = parse_network(nat(), "n.xml")
    evil_dev = dataclasses.replace(good, forward_interfaces=("eth0 counter accept;",))
    with pytest.raises(InputError, match="forward interface"):
        build([evil_dev])


@pytest.mark.parametrize("mode", ["bridge", "open", "private", "vepa", "passthrough", "hostdev"])
@pytest.mark.parametrize("build", ALL)
def test_modes_without_rules_produce_nothing(mode, build):
    xml = (f"<network><name>m</name><forward mode='{mode}'/><bridge name='br9'/>"
           "<ip address='10.9.0.1' prefix='24'/></network>")
    out = build([parse_network(xml, "m.xml")])
    assert not out


def test_backend_not_in_version():
    net = parse_network(nat(), "n.xml")
    with pytest.raises(InputError, match="libvirt 9.0 has no nftables backend"):
        nft_text([net], "9.0")
    with pytest.raises(InputError, match="not modelled"):
        iptables_restore([net], "8.0", "ipv4")
    with pytest.raises(InputError, match="unknown address family"):
        iptables_restore([net], "11.3", "ipx")
    with pytest.raises(InputError, match="unknown firewall backend"):
        tc_commands([net], get_version("11.3", "pf"))
    assert Backend("nftables") is Backend.NFTABLES
