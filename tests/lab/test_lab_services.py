"""DHCP and DNS from a guest to the host's dnsmasq (configured like libvirt's), through each backend.

Under the iptables backend libvirt's LIBVIRT_INP rules let DHCP/DNS in past a DROP input
policy; under the nftables backend libvirt adds no such rule, so another table's input drop
(ufw, nftables.service samples) cuts guests off until that table allows them (the Fedora 41
change: "Manually add rules to the firewall mgmt tool to allow DHCP, DNS"; docs/other-firewalls.md §1).
"""

from __future__ import annotations

import ipaddress

import pytest

from tests.sandbox import fixtures
from tests.sandbox.dnsmasq import PROBE_NAME
from tests.sandbox.topology import REMOTE_IP

pytestmark = pytest.mark.lab
LOST = 0.3

HOST_FIREWALL = """table inet hostfw {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t\tiif "lo" accept
\t}
}
"""


@pytest.fixture
def served(lab):
    lab.start_dnsmasq(ping_check=False)
    return lab


def assert_services(lab, checksum=None):
    lease = lab.dhcp()
    assert lease.ok, lease
    assert lease.data["router"] == "192.168.122.1" and lease.data["dns"] == ["192.168.122.1"]
    lo, hi = (ipaddress.IPv4Address(a) for a in lab.guest(0).network.dhcp_range)
    assert lo <= ipaddress.IPv4Address(lease.data["address"]) <= hi, lease
    if checksum:
        assert lease.data["checksum"] == checksum, lease
    answer = lab.dns()
    assert answer.ok and answer.data == {"name": PROBE_NAME, "addresses": [REMOTE_IP]}, answer


def test_dhcp_and_dns_without_rules(served):
    # Nothing fills the UDP checksum of dnsmasq's reply: it crosses the veth still "partial".
    assert_services(served, checksum="partial")
    missing = served.dns("nonexistent.vnm.test")
    assert not missing.ok and "rcode" in missing.detail


def test_iptables_backend_lets_dhcp_dns_past_an_input_drop_policy(served):
    served.iptables_restore(fixtures.libvirt_iptables_v4())
    served.iptables("-P", "INPUT", "DROP")
    # The mangle CHECKSUM --checksum-fill rule fills the DHCP reply's checksum.
    assert_services(served, checksum="filled")


def test_nftables_backend_dhcp_dns_need_the_host_firewalls_consent(served):
    served.nft(fixtures.libvirt_nftables())
    served.nft(HOST_FIREWALL)
    assert not served.dhcp(timeout=LOST).ok
    dns = served.dns(timeout=LOST)
    assert not dns.ok and "no answer" in dns.detail, dns
    with served.trace(match="udp dport 53") as t:
        served.dns(timeout=LOST)
    assert t.result.verdict == "drop"
    assert (t.result.decided_by.where, t.result.decided_by.kind) == ("inet hostfw input", "policy")

    served.nft('add rule inet hostfw input iifname "virbr0" udp dport { 53, 67 } accept')
    assert_services(served, checksum="partial")  # libvirt 11's `tc ... csum` is not here
    assert served.tcp().ok  # forwarding was never affected by an input policy
