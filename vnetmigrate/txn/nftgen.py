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

from vnetmigrate.txn import nfsocket

NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_GETGEN = 16
NFT_MSG_NEWGEN = 15
NFTA_GEN_ID = 1
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
TIMEOUT = 2.0  # seconds: the kernel answers at once


class _Malformed(OSError):
    """An answer to our request that is not a generation: the socket is dropped (nfsocket)."""


def current() -> tuple[int, int] | None:
    """(the namespace's cookie, its ruleset generation) for the calling thread's network
    namespace, or None when the kernel cannot say (no nf_tables, an old kernel).

    The cookie names the namespace for the lifetime of the system (inode numbers of deleted
    namespaces are reused): a generation means something only together with it. The socket is
    the namespace's kept one (txn/nfsocket.py: a migration asks some 190 times, and closing a
    socket right after a commit of ours waits for the kernel's clean-up).
    """
    for _attempt in range(2):  # a kept socket that failed is dropped: ask once more on a new one
        try:
            return _ask()
        except OSError:
            continue
    return None


def _ask() -> tuple[int, int] | None:
    """Raises OSError (the kept socket is then dropped) when the answer is not a generation."""
    with nfsocket.used() as (kept, seq):
        if kept.cookie is None:  # Linux before 5.14: a generation would name no namespace
            return None
        kept.sock.settimeout(TIMEOUT)
        body = struct.pack("=BBH", socket.AF_UNSPEC, 0, 0)  # nfgenmsg: family, version 0, res_id
        kept.sock.send(struct.pack("=IHHII", 16 + len(body), NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETGEN,
                                   NLM_F_REQUEST, seq, 0) + body)
        answer = None
        while answer is None:
            answer = _for_request(kept.sock.recv(4096), seq)
        generation = _generation(answer)
        if generation is None:
            raise _Malformed("no generation in the answer")
        return kept.cookie, generation


def _for_request(datagram: bytes, seq: int) -> bytes | None:
    """The message of `datagram` answering request `seq`; None when none is (a late answer to an
    earlier request is skipped: read on)."""
    offset = 0
    while offset + 16 <= len(datagram):
        size, _kind, _flags, mseq = struct.unpack_from("=IHHI", datagram, offset)
        if size < 16:
            raise _Malformed("a netlink message shorter than its header")
        if mseq == seq:
            return datagram[offset:offset + size]
        offset += (size + 3) & ~3
    return None


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
