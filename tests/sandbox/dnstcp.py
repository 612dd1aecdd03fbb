"""DNS over TCP from a guest to its gateway's dnsmasq: the other half of what libvirt's
iptables backend accepts for guests (tcp 53 beside udp 53)."""

from __future__ import annotations

import socket
import struct
import time

from tests.sandbox import dns
from tests.sandbox.dnsmasq import PROBE_NAME
from tests.sandbox.probes import ProbeResult, _why, socket_in
from tests.sandbox.topology import Guest


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionResetError("connection closed by the server")
        data += chunk
    return data


def dns_tcp_probe(g: Guest, name: str = PROBE_NAME, timeout: float = 0.5) -> ProbeResult:
    server = g.network.gateway
    ident, msg = dns.query(name)
    src, target = f"guest{g.index} {g.ip}", f"{server}:53/tcp"
    start = time.monotonic()
    with socket_in(g.ns, socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((server, 53))
            sock.sendall(struct.pack("!H", len(msg)) + msg)
            size = struct.unpack("!H", _read(sock, 2))[0]
            rcode, addrs = dns.answers(_read(sock, size), ident)
        except (OSError, ValueError) as exc:
            return ProbeResult("dns-tcp", src, target, False, _why(exc, timeout), time.monotonic() - start)
    took = time.monotonic() - start
    if rcode != 0 or not addrs:
        return ProbeResult("dns-tcp", src, target, False, f"{name}: rcode {rcode}, answers {addrs}", took)
    return ProbeResult("dns-tcp", src, target, True, f"{name} -> {', '.join(addrs)}", took,
                       data={"name": name, "addresses": addrs})
