"""The nftables ruleset generation of the current network namespace, straight from netlink.

The kernel counts every committed nf_tables transaction per network namespace (NFT_MSG_GETGEN
answers with that count; `nft monitor` prints it as "new generation N"). Whatever changes a
table, chain or rule — nft, libnftables, iptables-nft — commits, so while the generation stays
the same no nftables object has changed: a fingerprint listed at generation N still holds
(txn/snapshot.py). Packet counters change without a commit; fingerprints cut them out anyway.
Legacy x_tables are not nf_tables and have no generation (docs/kernel-and-tools.md §8).

Python 3.11 has no netlink helpers for nfnetlink: one request, one answer, packed by hand.
"""

from __future__ import annotations

import socket
import struct

NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_GETGEN = 16
NFT_MSG_NEWGEN = 15
NFTA_GEN_ID = 1
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
SO_NETNS_COOKIE = 71  # Linux 5.14


def current() -> tuple[int, int] | None:
    """(the namespace's cookie, its ruleset generation) for the calling thread's network
    namespace, or None when the kernel cannot say (no nf_tables, an old kernel).

    The cookie names the namespace for the lifetime of the system (inode numbers of deleted
    namespaces are reused): a generation means something only together with it.
    """
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_NETFILTER) as sock:
            cookie = struct.unpack("=Q", sock.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8))[0]
            sock.settimeout(2)
            body = struct.pack("=BBH", socket.AF_UNSPEC, 0, 0)  # nfgenmsg: family, version 0, res_id
            sock.send(struct.pack("=IHHII", 16 + len(body), NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETGEN,
                                  NLM_F_REQUEST, 1, 0) + body)
            answer = sock.recv(4096)
    except OSError:
        return None
    generation = _generation(answer)
    return None if generation is None else (cookie, generation)


def _generation(answer: bytes) -> int | None:
    if len(answer) < 20:
        return None
    length, kind = struct.unpack_from("=IH", answer)
    if kind != (NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWGEN):  # NLMSG_ERROR or anything unexpected
        return None
    offset = 20  # nlmsghdr, nfgenmsg
    while offset + 4 <= min(length, len(answer)):
        size, attr = struct.unpack_from("=HH", answer, offset)
        if size < 4:
            return None
        if attr & 0x3FFF == NFTA_GEN_ID and size >= 8:
            return struct.unpack_from(">I", answer, offset + 4)[0]
        offset += (size + 3) & ~3
    return None
