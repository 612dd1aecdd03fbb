"""A minimal DHCPv4 client (DISCOVER/OFFER/REQUEST/ACK) for lab probes.

Why our own: Debian 12 has no DHCP client installed by default (no busybox, no dhclient),
and a probe needs sub-second timeouts and a structured answer, not a configured interface.
It sends from 0.0.0.0 like a real client, through an AF_PACKET socket on the guest's
interface (a UDP socket would use the guest's static address as source), and sets the
broadcast flag so the server's answers reach an unconfigured client.

The answer's UDP checksum state is reported too: dnsmasq's replies leave the host with a
checksum the NIC is supposed to fill (CHECKSUM_PARTIAL) and the veth never fills it; libvirt
fills it for DHCP with iptables' CHECKSUM target or (11.x, nftables backend) `tc ... csum`.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import time
from dataclasses import dataclass

from vnetmigrate.netns import entered

ETH_P_IP = 0x0800
SOL_PACKET, PACKET_AUXDATA = 263, 8
TP_STATUS_CSUMNOTREADY, TP_STATUS_CSUM_VALID = 1 << 3, 1 << 7
_MAGIC = b"\x63\x82\x53\x63"
DISCOVER, OFFER, REQUEST, ACK, NAK = 1, 2, 3, 5, 6


@dataclass(frozen=True)
class Lease:
    address: str
    server: str
    router: str | None
    dns: list[str]
    lease_time: int | None
    checksum: str  # "filled", "partial" (left for a NIC to fill), or "bad"


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    return ~(s + (s >> 16)) & 0xFFFF


def _packet(mac: bytes, xid: int, kind: int, extra: bytes = b"") -> bytes:
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000, bytes(4), bytes(4),
                        bytes(4), bytes(4), mac, b"", b"")
    options = _MAGIC + bytes([53, 1, kind]) + extra + bytes([55, 4, 1, 3, 6, 51, 255])
    payload = bootp + options
    src, dst = bytes(4), b"\xff" * 4
    udp_len = 8 + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", 68, 67, udp_len, 0) + payload
    udp = udp[:6] + struct.pack("!H", _csum(pseudo + udp) or 0xFFFF) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0, 64, 17, 0, src, dst)
    return ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:] + udp


def _options(data: bytes) -> dict[int, bytes]:
    opts, i = {}, 0
    while i < len(data) and data[i] != 255:
        if data[i] == 0:
            i += 1
            continue
        opts[data[i]] = data[i + 2:i + 2 + data[i + 1]]
        i += 2 + data[i + 1]
    return opts


def _checksum_state(ip: bytes, udp: bytes, status: int) -> str:
    if status & TP_STATUS_CSUMNOTREADY:
        return "partial"
    if struct.unpack("!H", udp[6:8])[0] == 0:
        return "bad"  # "no checksum" is legal for UDP/IPv4, but old DHCP clients reject it
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, len(udp))
    return "filled" if _csum(pseudo + udp) == 0 else "bad"


def _receive(sock: socket.socket, xid: int, deadline: float) -> tuple[dict[int, bytes], str, str] | None:
    """The next BOOTREPLY for `xid`: (options, yiaddr, checksum state), or None on timeout."""
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            data, anc, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(20))
        except (TimeoutError, socket.timeout):
            return None
        ihl = (data[0] & 0x0F) * 4
        if data[9] != 17 or len(data) < ihl + 8 + 240:
            continue
        udp = data[ihl:ihl + struct.unpack("!H", data[ihl + 4:ihl + 6])[0]]
        bootp = udp[8:]
        if struct.unpack("!H", udp[2:4])[0] != 68 or bootp[0] != 2 or struct.unpack("!I", bootp[4:8])[0] != xid:
            continue
        status = next((struct.unpack("I", d[:4])[0] for lvl, typ, d in anc
                       if lvl == SOL_PACKET and typ == PACKET_AUXDATA), 0)
        yiaddr = socket.inet_ntoa(bootp[16:20])
        return _options(bootp[240:]), yiaddr, _checksum_state(data[:ihl], udp, status)
    return None


def request_lease(ns: str, ifname: str, mac: str, timeout: float) -> tuple[Lease | None, str]:
    """Run DISCOVER..ACK on `ifname` in `ns`; (lease, "") or (None, why it failed)."""
    hw = bytes.fromhex(mac.replace(":", ""))
    xid = int.from_bytes(os.urandom(4), "big")
    deadline = time.monotonic() + timeout
    with entered(ns):
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
    with sock:
        sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        sock.bind((ifname, ETH_P_IP))
        bcast = (ifname, ETH_P_IP, 0, 0, b"\xff" * 6)
        sock.sendto(_packet(hw, xid, DISCOVER), bcast)
        got = _receive(sock, xid, deadline)
        if got is None or got[0].get(53) != bytes([OFFER]):
            return None, "no DHCPOFFER" if got is None else f"unexpected reply type {got[0].get(53)!r}"
        opts, offered, _ = got
        server = opts.get(54, b"")
        extra = bytes([50, 4]) + socket.inet_aton(offered) + (bytes([54, 4]) + server if server else b"")
        sock.sendto(_packet(hw, xid, REQUEST, extra), bcast)
        got = _receive(sock, xid, deadline)
    if got is None:
        return None, f"offered {offered}, but no DHCPACK"
    opts, address, checksum = got
    if opts.get(53) != bytes([ACK]):
        return None, f"offered {offered}, then DHCPNAK"
    ips = lambda raw: [str(ipaddress.IPv4Address(raw[i:i + 4])) for i in range(0, len(raw), 4)]  # noqa: E731
    return Lease(address=address, server=(ips(opts.get(54, b"")) or ["?"])[0],
                 router=(ips(opts.get(3, b"")) or [None])[0], dns=ips(opts.get(6, b"")),
                 lease_time=struct.unpack("!I", opts[51])[0] if len(opts.get(51, b"")) == 4 else None,
                 checksum=checksum), ""
