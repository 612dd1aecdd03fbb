"""Probes of the host's own services for guests: a DHCP lease and a DNS answer from dnsmasq.

These are the packets that need the host firewall's consent under the nftables backend
(libvirt adds no rules for them there: docs/libvirt-rules.md §3), so they are the ones to watch.
"""

from __future__ import annotations

import dataclasses
import socket
import time

from tests.sandbox import dhcp, dns
from tests.sandbox.probes import ProbeResult, socket_in
from tests.sandbox.topology import Guest


def dhcp_probe(g: Guest, timeout: float) -> ProbeResult:
    start = time.monotonic()
    src = f"guest{g.index} 0.0.0.0 ({g.mac})"
    lease, why = dhcp.request_lease(g.ns, g.ifname, g.mac, timeout)
    took = time.monotonic() - start
    if lease is None:
        detail = why + (f" within {timeout:g} s (dropped somewhere)" if "no DHCP" in why else "")
        return ProbeResult("dhcp", src, "255.255.255.255:67", False, detail, took)
    detail = (f"lease {lease.address} from {lease.server}, router {lease.router}, "
              f"dns {','.join(lease.dns) or '-'}, udp checksum {lease.checksum}")
    return ProbeResult("dhcp", src, "255.255.255.255:67", True, detail, took,
                       data=dataclasses.asdict(lease))


def dns_probe(g: Guest, server: str, name: str, timeout: float) -> ProbeResult:
    ident, msg = dns.query(name)
    target = f"{server}:53"
    src = f"guest{g.index} {g.ip}"
    start = time.monotonic()
    with socket_in(g.ns, socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((server, 53))
            sock.send(msg)
            while True:
                try:
                    rcode, addrs = dns.answers(sock.recv(4096), ident)
                    break
                except (ValueError, IndexError):  # not ours or garbled: keep listening
                    continue
        except (TimeoutError, socket.timeout):
            return ProbeResult("dns", src, target, False, f"no answer within {timeout:g} s (dropped somewhere)",
                               time.monotonic() - start)
        except OSError as exc:
            return ProbeResult("dns", src, target, False, f"{type(exc).__name__}: {exc}", time.monotonic() - start)
    took = time.monotonic() - start
    if rcode != 0 or not addrs:
        return ProbeResult("dns", src, target, False, f"{name}: rcode {rcode}, answers {addrs}", took)
    return ProbeResult("dns", src, target, True, f"{name} -> {', '.join(addrs)}", took,
                       data={"name": name, "addresses": addrs})
