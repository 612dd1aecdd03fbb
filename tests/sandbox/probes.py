"""Probes with real packets, sent from inside lab namespaces by this process.

A socket belongs to the network namespace of the thread that created it, so each probe
enters the source namespace only to create its socket and then uses it from anywhere: no
helper process per probe, timeouts as short as the caller wants (a lost packet costs exactly
the timeout; an answered one a fraction of a millisecond).
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from vnetmigrate.netns import entered

# Answered probes return in well under a millisecond; the timeout only bounds a probe that
# gets no answer. Tests that expect no answer pass a short timeout of their own; this
# default is for probes expected to succeed, and is generous so a loaded machine (two cores
# running the whole suite) does not turn a slow answer into a failure.
DEFAULT_TIMEOUT = 2.0


@dataclass(frozen=True)
class ProbeResult:
    kind: str            # icmp, tcp, udp, dhcp, dns
    src: str             # namespace and address the probe left from
    dst: str             # address[:port] it was sent to
    ok: bool
    detail: str
    duration: float      # seconds
    seen_as: str | None = None  # source address:port the far end saw (NAT evidence)
    data: dict[str, Any] = field(default_factory=dict, compare=False)  # e.g. the DHCP lease

    def __str__(self) -> str:
        state = "ok" if self.ok else "FAIL"
        return f"{self.kind} {self.src} -> {self.dst}: {state} ({self.detail}, {self.duration * 1000:.1f} ms)"


def socket_in(ns: str, family: int, kind: int, proto: int = 0) -> socket.socket:
    with entered(ns):
        return socket.socket(family, kind, proto)


def _why(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"no answer within {timeout:g} s (dropped somewhere)"
    if isinstance(exc, ConnectionRefusedError):
        return "refused (TCP RST or ICMP port unreachable: rejected or nothing listening)"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return f"{os.strerror(exc.errno)} (ICMP unreachable or no route)"
    return f"{type(exc).__name__}: {exc}"


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


_UNREACH = {0: "net", 1: "host", 2: "protocol", 3: "port", 9: "net prohibited",
            10: "host prohibited", 13: "administratively prohibited"}


def icmp_echo(ns: str, src: str, dst: str, timeout: float = DEFAULT_TIMEOUT) -> ProbeResult:
    """One ICMP echo request from namespace `ns` (raw socket: root, no ping binary needed)."""
    ident = int.from_bytes(os.urandom(2), "big")
    payload = b"vnm-probe" + os.urandom(8)
    header = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
    packet = header[:2] + struct.pack("!H", _checksum(header + payload)) + header[4:] + payload
    start = time.monotonic()
    with socket_in(ns, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        sock.sendto(packet, (dst, 0))
        deadline = start + timeout
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, (sender, _) = sock.recvfrom(2048)
            except (TimeoutError, socket.timeout):
                break
            ihl = (data[0] & 0x0F) * 4
            kind, code = data[ihl], data[ihl + 1]
            if kind == 0 and struct.unpack("!H", data[ihl + 4:ihl + 6])[0] == ident:
                return ProbeResult("icmp", src, dst, True, f"echo reply from {sender}",
                                   time.monotonic() - start)
            if kind in (3, 11) and len(data) >= ihl + 8 + 28:
                inner = data[ihl + 8:]  # the original IP header + 8 bytes of our ICMP header
                inner_ihl = (inner[0] & 0x0F) * 4
                if struct.unpack("!H", inner[inner_ihl + 4:inner_ihl + 6])[0] == ident:
                    what = f"{_UNREACH.get(code, code)} unreachable" if kind == 3 else "time exceeded"
                    return ProbeResult("icmp", src, dst, False, f"ICMP {what} from {sender}",
                                       time.monotonic() - start)
    return ProbeResult("icmp", src, dst, False, _why(TimeoutError(), timeout), time.monotonic() - start)


def _echo_reply(kind: str, src: str, target: str, token: bytes, reply: bytes, start: float) -> ProbeResult:
    line = reply.split(b"\n", 1)[0].decode("ascii", "replace")
    got, _, seen = line.partition(" ")
    ok = got == token.decode()
    detail = f"echoed, server saw {seen}" if ok else f"unexpected reply {line!r}"
    return ProbeResult(kind, src, target, ok, detail, time.monotonic() - start, seen or None)


def tcp_exchange(ns: str, src: str, dst: str, port: int, timeout: float = DEFAULT_TIMEOUT) -> ProbeResult:
    """Connect from `ns` to dst:port, send a line, expect it echoed (lab echo server)."""
    target = f"{dst}:{port}"
    token = os.urandom(6).hex().encode()
    start = time.monotonic()
    with socket_in(ns, socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((dst, port))
            sock.sendall(token + b"\n")
            reply = b""
            while b"\n" not in reply:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except OSError as exc:
            return ProbeResult("tcp", src, target, False, _why(exc, timeout), time.monotonic() - start)
    return _echo_reply("tcp", src, target, token, reply, start)


def udp_exchange(ns: str, src: str, dst: str, port: int, timeout: float = DEFAULT_TIMEOUT) -> ProbeResult:
    target = f"{dst}:{port}"
    token = os.urandom(6).hex().encode()
    start = time.monotonic()
    with socket_in(ns, socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((dst, port))  # connected: ICMP errors come back as exceptions
            sock.send(token + b"\n")
            reply = sock.recv(4096)
        except OSError as exc:
            return ProbeResult("udp", src, target, False, _why(exc, timeout), time.monotonic() - start)
    return _echo_reply("udp", src, target, token, reply, start)


class TcpSession:
    """A TCP connection held open from `ns` (to check that established connections survive)."""

    def __init__(self, ns: str, src: str, dst: str, port: int, timeout: float = DEFAULT_TIMEOUT):
        self.src, self.target, self.timeout = src, f"{dst}:{port}", timeout
        self.sock = socket_in(ns, socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect((dst, port))

    def roundtrip(self) -> ProbeResult:
        token = os.urandom(6).hex().encode()
        start = time.monotonic()
        try:
            self.sock.sendall(token + b"\n")
            reply = b""
            while b"\n" not in reply:
                chunk = self.sock.recv(4096)
                if not chunk:
                    raise ConnectionResetError("connection closed by peer")
                reply += chunk
        except OSError as exc:
            return ProbeResult("tcp", self.src, self.target, False, _why(exc, self.timeout),
                               time.monotonic() - start)
        return _echo_reply("tcp", self.src, self.target, token, reply, start)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "TcpSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
