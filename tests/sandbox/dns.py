"""A minimal DNS A-record query over UDP (what a guest asks its gateway's dnsmasq)."""

from __future__ import annotations

import os
import socket
import struct


def query(name: str) -> tuple[int, bytes]:
    ident = int.from_bytes(os.urandom(2), "big")
    qname = b"".join(bytes([len(p)]) + p.encode("ascii") for p in name.rstrip(".").split(".")) + b"\0"
    return ident, struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 1, 1)


def _skip_name(msg: bytes, i: int) -> int:
    while msg[i]:
        if msg[i] & 0xC0 == 0xC0:  # compression pointer: two bytes end the name
            return i + 2
        i += 1 + msg[i]
    return i + 1


def answers(msg: bytes, ident: int) -> tuple[int, list[str]]:
    """(rcode, A addresses) of a reply to `ident`; raises ValueError on a foreign/garbled reply."""
    rid, flags, qd, an = struct.unpack("!HHHH", msg[:8])
    if rid != ident or not flags & 0x8000:
        raise ValueError("not a reply to our query")
    i = 12
    for _ in range(qd):
        i = _skip_name(msg, i) + 4
    out = []
    for _ in range(an):
        i = _skip_name(msg, i)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[i:i + 10])
        i += 10
        if rtype == 1 and rdlen == 4:
            out.append(socket.inet_ntoa(msg[i:i + 4]))
        i += rdlen
    return flags & 0x0F, out
