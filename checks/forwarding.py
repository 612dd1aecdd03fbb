"""IP forwarding: without it no NAT or routed network forwards anything, in either backend."""

from __future__ import annotations

from vnetmigrate import specs
from vnetmigrate.checks._context import FORWARDING_MODES
from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity, Workaround


@check("ip-forwarding-off", "IP forwarding is off while NAT or routed networks are active", Severity.BLOCKER,
       needs=("system", "libvirt"))
def ip_forwarding_off(facts: HostFacts):
    active = [n for n in facts.libvirt.active_networks if n.forward_mode in FORWARDING_MODES]
    v4 = [n for n in active if n.ipv4_subnets]
    v6 = [n for n in active if n.ipv6_subnets]
    if v4 and facts.system.ip_forward is False:
        yield Finding(
            "ip-forwarding-off", Severity.BLOCKER,
            "net.ipv4.ip_forward is 0: guests of " + ", ".join(n.name for n in v4) + " cannot reach anything",
            "libvirt turns forwarding on when it starts a NAT or routed network; something turned it off "
            "since (a sysctl.d file applied later, a firewall script).",
            evidence=(Citation("file", specs.IP_FORWARD, "0"),),
            workarounds=(Workaround("Turn forwarding on now and at boot", (
                "sysctl -w net.ipv4.ip_forward=1",
                "echo 'net.ipv4.ip_forward = 1' > /etc/sysctl.d/90-libvirt-forward.conf")),))
    if v6 and facts.system.ipv6_forwarding is False:
        yield Finding(
            "ip-forwarding-off", Severity.BLOCKER,
            "net.ipv6.conf.all.forwarding is 0: IPv6 guests of " + ", ".join(n.name for n in v6) + " are cut off",
            "libvirt turns IPv6 forwarding on when it starts a network with an IPv6 address.",
            evidence=(Citation("file", specs.IPV6_FORWARDING, "0"),),
            workarounds=(Workaround("Turn IPv6 forwarding on now and at boot", (
                "sysctl -w net.ipv6.conf.all.forwarding=1",
                "echo 'net.ipv6.conf.all.forwarding = 1' > /etc/sysctl.d/90-libvirt-forward6.conf")),))
