"""The lab's trace parser and topology checks, on lines recorded from a real `nft monitor`."""

from __future__ import annotations

import pytest

from vnetmigrate.errors import InputError
from tests.sandbox import topology
from tests.sandbox.topology import LabNetwork
from tests.sandbox.trace import parse

PKT = ('iif "virbr0" oif "eth0" ether saddr 52:54:00:76:6e:00 ether daddr a2:f8:09:b9:73:dd '
       'ip saddr 192.168.122.10 ip daddr 198.51.100.1 ip dscp cs0 ip ecn not-ect ip ttl 63 ip id 45132 '
       'ip length 45 icmp type echo-request icmp code net-unreachable icmp id 64531 icmp sequence 1')
# Recorded: libvirt's nftables table + Docker's FORWARD DROP, libvirt's table created last.
DROPPED = f"""\
trace id 67cdcf0c inet vnm_trace pre packet: {PKT}
trace id 67cdcf0c inet vnm_trace pre rule ip saddr 192.168.122.10 meta nftrace set 1 (verdict continue)
trace id 67cdcf0c inet vnm_trace pre policy accept
trace id 67cdcf0c ip nat PREROUTING packet: {PKT}
trace id 67cdcf0c ip nat PREROUTING policy accept
trace id 922eed50 ip libvirt_network forward packet: {PKT}
trace id 922eed50 ip libvirt_network forward rule counter packets 1 bytes 45 jump guest_cross (verdict jump guest_cross)
trace id 922eed50 ip libvirt_network forward rule counter packets 1 bytes 45 jump guest_input (verdict jump guest_input)
trace id 922eed50 ip libvirt_network forward rule counter packets 1 bytes 45 jump guest_output (verdict jump guest_output)
trace id 922eed50 ip libvirt_network guest_output rule ip saddr 192.168.122.0/24 iif "virbr0" counter packets 1 bytes 45 accept (verdict accept)
trace id 922eed50 ip filter FORWARD packet: {PKT}
trace id 922eed50 ip filter FORWARD rule counter packets 0 bytes 0 jump DOCKER-USER (verdict jump DOCKER-USER)
trace id 922eed50 ip filter FORWARD rule counter packets 0 bytes 0 jump DOCKER-FORWARD (verdict jump DOCKER-FORWARD)
trace id 922eed50 ip filter FORWARD policy drop
add chain inet vnm_trace sync1
"""


def test_drop_is_attributed_to_the_policy_that_dropped():
    packets = parse(DROPPED.splitlines())
    assert len(packets) == 1 and packets[0].ip_id == "45132"
    pkt = packets[0]
    assert [p.packet.where for p in pkt.passes] == [
        "inet vnm_trace pre", "ip nat PREROUTING", "ip libvirt_network forward", "ip filter FORWARD"]
    assert pkt.verdict == "drop"
    assert (pkt.decided_by.where, pkt.decided_by.kind, pkt.decided_by.text) == ("ip filter FORWARD", "policy", "drop")
    assert pkt.end_in("ip libvirt_network forward").chain == "guest_output"
    assert pkt.end_in("ip libvirt_network forward").verdict == "accept"
    assert pkt.end_in("ip mangle FORWARD") is None


def test_accept_is_the_last_base_chain_and_our_trace_table_does_not_count():
    lines = [line for line in DROPPED.splitlines() if "ip filter" not in line]
    pkt = parse(lines)[0]
    assert pkt.verdict == "accept"
    assert pkt.decided_by.where == "ip libvirt_network guest_output"


def test_packets_are_told_apart_by_ip_id_and_unknown_rules_still_count():
    other = DROPPED.replace("ip id 45132", "ip id 7").replace("67cdcf0c", "aaaa0001").replace("922eed50", "aaaa0002")
    other = other.replace("policy drop", "unknown rule handle 9 (verdict drop)")
    packets = parse((DROPPED + other).splitlines())
    assert [p.ip_id for p in packets] == ["45132", "7"]
    assert packets[1].decided_by.kind == "rule" and packets[1].verdict == "drop"


def test_topology_rejects_overlaps_and_bad_names():
    with pytest.raises(InputError):
        topology.check_networks([LabNetwork(), LabNetwork("b", "virbr1", "192.168.122.128/25")], "eth0")
    with pytest.raises(InputError):
        topology.check_networks([LabNetwork()], "virbr0")
    with pytest.raises(InputError):
        LabNetwork("x", "a-very-long-bridge-name", "10.0.0.0/24")
    with pytest.raises(InputError):
        LabNetwork("x", "br0", "10.0.0.0/30")
    net = LabNetwork("x", "br0", "10.9.0.0/24")
    assert (net.gateway, net.guest_ip, net.dhcp_range) == ("10.9.0.1", "10.9.0.10", ("10.9.0.2", "10.9.0.254"))
    with pytest.raises(InputError):
        LabNetwork("x", "br0", "10.9.0.1/24")  # host bits set
