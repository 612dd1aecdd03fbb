"""Traffic into a lab's guests: a DNAT port forward from the host's uplink, and the probe
that uses it from the outside (the wan namespace).

The port forward is the libvirt wiki's hook-script recipe for NAT guests: nat PREROUTING
DNATs HOST_PORT to the guest, and an ACCEPT inserted at the head of FORWARD lets the new
connection past libvirt's LIBVIRT_FWI reject (iptables backend). Loaded after libvirt's rules,
as the hook runs after the network started. Under libvirt's nftables backend the same rules
no longer help: `guest_input` rejects the connection (docs/libvirt-rules.md §3).
"""

from __future__ import annotations

from tests.sandbox import probes
from tests.sandbox.probes import ProbeResult
from tests.sandbox.topology import GUEST_TCP_PORT, UPLINK_HOST_IP, ECHO_UDP_PORT, Guest

HOST_PORT = 2222


def port_forward_rules(g: Guest, host_port: int = HOST_PORT, guest_port: int = GUEST_TCP_PORT) -> str:
    """iptables-restore --noflush fragment of the hook script's two rules."""
    return (f"*nat\n-A PREROUTING -p tcp -m tcp --dport {host_port} -j DNAT --to-destination {g.ip}:{guest_port}\n"
            f"COMMIT\n*filter\n-I FORWARD 1 -d {g.ip}/32 -o {g.network.bridge} -p tcp -m tcp --dport {guest_port} "
            f"-j ACCEPT\nCOMMIT\n")


def port_forward_probe(lab, guest: int | str = 0, host_port: int = HOST_PORT,
                       timeout: float = probes.DEFAULT_TIMEOUT) -> ProbeResult:
    """A TCP exchange from the outside (wan) to the host's uplink address:HOST_PORT."""
    g = lab.guest(guest)
    lab.ensure_server(g.ns, tcp=[GUEST_TCP_PORT], udp=[ECHO_UDP_PORT])
    return probes.tcp_exchange(lab.wan, "wan", UPLINK_HOST_IP, host_port, timeout)
