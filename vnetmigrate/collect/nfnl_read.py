"""Read nftables rules and set elements over nfnetlink, without libnftables.

libnftables lists a chain only after fetching every set of its table and every set's
elements, one request per set; the kernel finds each set by name by walking the table's list
of sets, so a table with 10,000 anonymous sets (`tcp dport { 80, 443 }` in 10,000 rules) costs
seconds of kernel time whatever is listed (docs/kernel-and-tools.md). This module asks for
exactly one chain's rules (a rule dump filtered by table and chain) and, separately, for one
set's elements when they are needed. It returns the kernel's attributes, undecoded; turning
them into libnftables JSON is `vnetmigrate.collect.nfnl_rules`' job.

Runs in the network namespace of the calling thread (the socket is made here).
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator

from vnetmigrate.nfnetlink import FAMILIES, NETLINK_NETFILTER, NFNL_SUBSYS_NFTABLES
from vnetmigrate.nfnetlink import message as _message
from vnetmigrate.nfnetlink import name_attr as _name

NFT_MSG_GETTABLE, NFT_MSG_GETRULE, NFT_MSG_GETSET, NFT_MSG_GETSETELEM = 1, 7, 10, 13
NFT_MSG_GETOBJ, NFT_MSG_GETFLOWTABLE = 19, 23
NFTA_TABLE_NAME, NFTA_TABLE_FLAGS, NFTA_TABLE_HANDLE, NFTA_TABLE_USERDATA = 1, 2, 4, 6
NFTA_OBJ_TABLE, NFTA_FLOWTABLE_TABLE = 1, 1
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
NFTA_RULE_TABLE, NFTA_RULE_CHAIN, NFTA_RULE_HANDLE, NFTA_RULE_EXPRESSIONS, NFTA_RULE_USERDATA = 1, 2, 3, 4, 7
NFTA_SET_TABLE, NFTA_SET_NAME, NFTA_SET_FLAGS, NFTA_SET_KEY_TYPE, NFTA_SET_KEY_LEN = 1, 2, 3, 4, 5
NFTA_SET_ELEM_LIST_TABLE, NFTA_SET_ELEM_LIST_SET, NFTA_SET_ELEM_LIST_ELEMENTS = 1, 2, 3
NFTA_SET_ELEM_KEY, NFTA_SET_ELEM_FLAGS = 1, 3
NFTA_LIST_ELEM, NFTA_EXPR_NAME, NFTA_EXPR_DATA = 1, 1, 2
NFTA_DATA_VALUE = 1
NLA_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED / NLA_F_NET_BYTEORDER
RECV_SIZE = 1 << 20  # a big buffer lets the kernel fill bigger dump messages: fewer round trips
TIMEOUT = 30.0


class NetlinkError(Exception):
    """The kernel refused a request (errno) or netlink itself failed."""

    def __init__(self, code: int, what: str):
        super().__init__(f"{what}: {os.strerror(code)}")
        self.errno = code


def attrs(data: bytes | memoryview) -> dict[int, memoryview]:
    """The attributes of one level, by type (the last one wins; lists use `items`)."""
    out = {}
    start, end = 0, len(data)
    mv = data if isinstance(data, memoryview) else memoryview(data)
    while start + 4 <= end:
        size, kind = struct.unpack_from("=HH", mv, start)
        if size < 4:
            break
        out[kind & NLA_TYPE_MASK] = mv[start + 4:start + size]
        start += (size + 3) & ~3
    return out


def items(data: memoryview) -> list[memoryview]:
    """The elements of a nested list attribute, in order."""
    out = []
    start, end = 0, len(data)
    while start + 4 <= end:
        size, _kind = struct.unpack_from("=HH", data, start)
        if size < 4:
            break
        out.append(data[start + 4:start + size])
        start += (size + 3) & ~3
    return out


def text(value: memoryview) -> str:
    return bytes(value).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def be32(value: memoryview) -> int:
    return struct.unpack(">I", value)[0]


class Reader:
    """One netfilter netlink socket for a series of dumps (close() or use as a context manager)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_NETFILTER)
        self.sock.settimeout(TIMEOUT)
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "Reader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def request(self, kind: int, family: str, body: bytes, what: str, dump: bool = True) -> list[memoryview]:
        """Every reply message's payload (after the nfgenmsg header) of one request."""
        return list(self.replies(kind, family, body, what, dump))

    def replies(self, kind: int, family: str, body: bytes, what: str, dump: bool = True) -> Iterator[memoryview]:
        """The reply messages' payloads as they arrive (a dump of 50,000 rules is 16 MB: it is
        not kept whole). Read them all: the socket serves one request at a time."""
        self.seq += 1
        seq = self.seq
        flags = NLM_F_REQUEST | (NLM_F_DUMP if dump else 0)
        self.sock.sendall(_message(NFNL_SUBSYS_NFTABLES << 8 | kind, flags, seq, FAMILIES[family], body))
        while True:
            data = memoryview(self.sock.recv(RECV_SIZE))
            offset = 0
            while offset + 16 <= len(data):
                size, mtype, _flags, mseq, _pid = struct.unpack_from("=IHHII", data, offset)
                if mseq == seq:
                    if mtype == NLMSG_DONE:
                        return
                    if mtype == NLMSG_ERROR:
                        (code,) = struct.unpack_from("=i", data, offset + 16)
                        if code:
                            raise NetlinkError(-code, what)
                        return
                    yield data[offset + 20:offset + size]
                    if not dump:
                        return
                offset += (size + 3) & ~3

    def rules(self, family: str, table: str, chain: str) -> Iterator[memoryview]:
        """The chain's rules (each an NFTA_RULE_* attribute block), in order, as they arrive."""
        return self.replies(NFT_MSG_GETRULE, family, _name(NFTA_RULE_TABLE, table) + _name(NFTA_RULE_CHAIN, chain),
                            f"rules of {family} {table} {chain}")

    def table(self, family: str, name: str) -> dict[int, memoryview]:
        """One table's description (NFTA_TABLE_* attributes)."""
        (msg,) = self.request(NFT_MSG_GETTABLE, family, _name(NFTA_TABLE_NAME, name), f"table {family} {name}",
                              dump=False)
        return attrs(msg)

    def holds_other_objects(self, family: str, table: str) -> bool:
        """Whether the table has sets, stateful objects or flowtables (a table listing shows them)."""
        return bool(self.sets(family, table)
                    or self.request(NFT_MSG_GETOBJ, family, _name(NFTA_OBJ_TABLE, table), f"objects of {family} {table}")
                    or self.request(NFT_MSG_GETFLOWTABLE, family, _name(NFTA_FLOWTABLE_TABLE, table),
                                    f"flowtables of {family} {table}"))

    def set_info(self, family: str, table: str, name: str) -> dict[int, memoryview]:
        """One set's description (NFTA_SET_* attributes)."""
        (msg,) = self.request(NFT_MSG_GETSET, family, _name(NFTA_SET_TABLE, table) + _name(NFTA_SET_NAME, name),
                              f"set {family} {table} {name}", dump=False)
        return attrs(msg)

    def sets(self, family: str, table: str) -> list[memoryview]:
        """Every set of the table (NFTA_SET_* attribute blocks), in one dump."""
        return self.request(NFT_MSG_GETSET, family, _name(NFTA_SET_TABLE, table), f"sets of {family} {table}")

    def set_elements(self, family: str, table: str, name: str) -> list[tuple[bytes, int]]:
        """One set's elements: (key bytes, NFTA_SET_ELEM_FLAGS), in the kernel's order."""
        out = []
        body = _name(NFTA_SET_ELEM_LIST_TABLE, table) + _name(NFTA_SET_ELEM_LIST_SET, name)
        for msg in self.request(NFT_MSG_GETSETELEM, family, body, f"elements of set {family} {table} {name}"):
            top = attrs(msg)
            for elem in items(top.get(NFTA_SET_ELEM_LIST_ELEMENTS, memoryview(b""))):
                a = attrs(elem)
                key = attrs(a[NFTA_SET_ELEM_KEY])[NFTA_DATA_VALUE] if NFTA_SET_ELEM_KEY in a else memoryview(b"")
                out.append((bytes(key), be32(a[NFTA_SET_ELEM_FLAGS]) if NFTA_SET_ELEM_FLAGS in a else 0))
        return out
