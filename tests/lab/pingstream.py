"""A 100-per-second ICMP echo stream from a lab guest, counting every lost packet.

Each echo request has its own identifier, so each is a new connection for conntrack and
needs the NAT and forward rules present at the moment it crosses the host: a gap of a few
milliseconds anywhere in a migration loses packets here. (An established connection is
checked separately with a held TCP session.) Raw socket: root, no ping binary needed.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time

from tests.sandbox.probes import _checksum, socket_in


class PingStream:
    def __init__(self, ns: str, dst: str, interval: float = 0.01, grace: float = 1.0):
        self.dst, self.interval, self.grace = dst, interval, grace
        self.sock = socket_in(ns, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.sock.settimeout(0.05)
        self.sent: dict[int, float] = {}
        self.answered: set[int] = set()
        self._stop = threading.Event()
        self._done_sending = threading.Event()
        self._base = int.from_bytes(os.urandom(2), "big")
        self._threads = [threading.Thread(target=self._send, daemon=True),
                         threading.Thread(target=self._receive, daemon=True)]

    def _ident(self, seq: int) -> int:
        return (self._base + seq) & 0xFFFF

    def _send(self) -> None:
        seq, start = 0, time.monotonic()
        while not self._stop.is_set():
            header = struct.pack("!BBHHH", 8, 0, 0, self._ident(seq), seq & 0xFFFF)
            payload = b"vnm-stream"
            packet = header[:2] + struct.pack("!H", _checksum(header + payload)) + header[4:] + payload
            self.sent[self._ident(seq)] = time.monotonic()
            self.sock.sendto(packet, (self.dst, 0))
            seq += 1
            time.sleep(max(0.0, start + seq * self.interval - time.monotonic()))
        self._done_sending.set()

    def _receive(self) -> None:
        deadline = None
        while deadline is None or time.monotonic() < deadline:
            if deadline is None and self._done_sending.is_set():
                deadline = time.monotonic() + self.grace
            try:
                data = self.sock.recv(2048)
            except (TimeoutError, socket.timeout):
                continue
            ihl = (data[0] & 0x0F) * 4
            if data[ihl] == 0:
                self.answered.add(struct.unpack("!H", data[ihl + 4:ihl + 6])[0])

    def __enter__(self) -> "PingStream":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()
        self.sock.close()

    @property
    def lost(self) -> list[float]:
        """When (monotonic seconds) each unanswered request was sent."""
        return sorted(t for ident, t in self.sent.items() if ident not in self.answered)
