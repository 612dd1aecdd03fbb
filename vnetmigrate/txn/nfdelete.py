"""Delete nftables rules, chains and tables exactly: one kernel transaction that fails whole if
anything it does not name is in them.

`nft delete chain` and `delete table` are recursive (nft 1.0.6, kernel 6.18): they take every
rule of the chain, every chain of the table, with them, so a rule another program added after
the plan was made would go unseen. The kernel has a flag for the opposite, NLM_F_NONREC: a
chain (table) that still holds anything when its deletion comes is refused with EBUSY, and the
whole batch with it. libnftables never sets it, so this module speaks nfnetlink itself: each
rule by handle, then each chain and the table with NLM_F_NONREC, in one batch. A rule added to
one of the chains at any moment before the batch makes the kernel refuse it, and nothing of it
happens (docs/kernel-and-tools.md §7).

Only `delete` commands of libnftables JSON (rule with handle, chain by name, table) are taken.

Given the ruleset generation the caller checked the state at (txn/nftgen.py), the batch also
carries it (NFNL_BATCH_GENID): the kernel then refuses the whole batch if anything at all was
committed since, under the same lock it commits with (ERESTART). That binds rule handles to
what was checked: a rule replaced in place (`iptables -R`, `nft replace rule`) keeps its handle.
"""

from __future__ import annotations

import errno
import functools
import os
import socket
import struct
from typing import Any

from vnetmigrate.nfnetlink import FAMILIES, NFNL_SUBSYS_NFTABLES
from vnetmigrate.nfnetlink import attr as _attr
from vnetmigrate.nfnetlink import message as _message
from vnetmigrate.nfnetlink import name_attr as _name
from vnetmigrate.txn import kernel, nfsocket, nftgen
from vnetmigrate.txn.kernel import KernelError, NothingChanged

NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END = 16, 17
NFNL_BATCH_GENID = 1   # attribute of the batch's begin message (linux/netfilter/nfnetlink.h)
NFT_MSG_DELTABLE, NFT_MSG_DELCHAIN, NFT_MSG_DELRULE = 2, 5, 8
NLM_F_REQUEST, NLM_F_ACK, NLM_F_NONREC = 0x1, 0x4, 0x100
NLMSG_ERROR = 2
# Attribute numbers (linux/netfilter/nf_tables.h).
NFTA_TABLE_NAME = 1
NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME = 1, 3
NFTA_RULE_TABLE, NFTA_RULE_CHAIN, NFTA_RULE_HANDLE = 1, 2, 3
REPLY_TIMEOUT = 10.0   # seconds: the kernel answers a batch at once; never wait forever
# The whole batch goes in one datagram, which netlink refuses beyond the socket's send buffer,
# and the kernel queues one acknowledgement per message before we read any: both buffers are
# sized to the batch (as root, past the system's defaults: SO_SNDBUFFORCE, SO_RCVBUFFORCE).
SO_SNDBUFFORCE, SO_RCVBUFFORCE = 32, 33
ACK_ROOM = 1024        # bytes of receive buffer per acknowledgement (an skb each)


def _encode(command: dict[str, Any], seq: int) -> bytes:
    """One libnftables `delete` command as a netlink message (_named says which, in an error)."""
    (verb, what), = command.items()
    (kind, obj), = what.items()
    if verb != "delete" or kind not in ("rule", "chain", "table"):
        raise ValueError(f"not a deletion this module makes: {command}")
    family = FAMILIES[obj["family"]]
    if kind == "rule":
        attrs = _rule_names(obj["table"], obj["chain"]) + _attr(NFTA_RULE_HANDLE, struct.pack(">Q", int(obj["handle"])))
        return _message(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELRULE, NLM_F_REQUEST | NLM_F_ACK, seq, family, attrs)
    if kind == "chain":
        attrs = _name(NFTA_CHAIN_TABLE, obj["table"]) + _name(NFTA_CHAIN_NAME, obj["name"])
        return _message(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELCHAIN, NLM_F_REQUEST | NLM_F_ACK | NLM_F_NONREC, seq,
                        family, attrs)
    return _message(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELTABLE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_NONREC, seq,
                    family, _name(NFTA_TABLE_NAME, obj["name"]))


@functools.lru_cache(maxsize=256)
def _rule_names(table: str, chain: str) -> bytes:
    """A rule's table and chain attributes: the same for every rule of a chain (1,928 rules of
    100 networks in 14 chains)."""
    return _name(NFTA_RULE_TABLE, table) + _name(NFTA_RULE_CHAIN, chain)


def _named(command: dict[str, Any]) -> str:
    """How an error names one command _encode made (written only when the kernel refuses it)."""
    (kind, obj), = command["delete"].items()
    if kind == "rule":
        return f"delete rule {obj['family']} {obj['table']} {obj['chain']} handle {obj['handle']}"
    if kind == "chain":
        return f"delete chain {obj['family']} {obj['table']} {obj['name']}"
    return f"delete table {obj['family']} {obj['name']}"


def delete_exactly(commands: list[dict[str, Any]], generation: int | None = None) -> None:
    """Run libnftables `delete` commands as one batch, chains and tables non-recursively.

    NothingChanged when the kernel refuses it (one transaction: nothing of it happened): EBUSY
    names the chain or table that holds something the commands do not name, ENOENT an object
    already gone, ERESTART a `generation` that is no longer the namespace's. KernelError when
    netlink itself failed.
    Runs in the network namespace of the calling thread (its socket in txn/nfsocket.py).
    """
    if not commands:
        return
    before = nftgen.current()
    try:
        # The namespace's kept socket (txn/nfsocket.py), not a new one closed after the batch:
        # that close would wait for the kernel to free the deleted rules and chains (6-12 ms at
        # 100 networks, docs/kernel-and-tools.md §13). Anything going wrong in here drops it.
        with nfsocket.used(len(commands) + 2) as (kept, seq0):
            named: dict[int, dict[str, Any]] = {}
            genid = _attr(NFNL_BATCH_GENID, struct.pack(">I", generation)) if generation else b""
            parts = [_message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, seq0, 0, genid, res_id=NFNL_SUBSYS_NFTABLES)]
            for i, command in enumerate(commands, seq0 + 1):
                parts.append(_encode(command, i))
                named[i] = command
            end = seq0 + len(commands) + 1
            parts.append(_message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, end, 0, res_id=NFNL_SUBSYS_NFTABLES))
            sock = kept.sock
            sock.settimeout(REPLY_TIMEOUT)
            batch = b"".join(parts)
            _size_buffers(sock, len(batch), len(parts))
            sock.sendall(batch)
            errors = _replies(sock, set(named), seq0, end)
            if errors:
                raise NothingChanged("nftables refused the change, nothing of it was made: " + "; ".join(
                    f"{_named(named[seq]) if seq in named else 'the batch'}: {_why(code)}"
                    for seq, code in sorted(errors.items())))
    except OSError as exc:
        raise KernelError(f"nftables could not be changed over netlink: {exc.strerror or exc}")
    kernel.committed_once(before, kernel.tables_of(commands))


def _size_buffers(sock: socket.socket, batch: int, messages: int) -> None:
    for option, fallback, size in ((SO_SNDBUFFORCE, socket.SO_SNDBUF, batch + 65536),
                                   (SO_RCVBUFFORCE, socket.SO_RCVBUF, messages * ACK_ROOM + 65536)):
        if sock.getsockopt(socket.SOL_SOCKET, fallback) >= size:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, size)
        except OSError:  # without CAP_NET_ADMIN: as far as the system allows
            sock.setsockopt(socket.SOL_SOCKET, fallback, size)


def _replies(sock: socket.socket, expected: set[int], first: int, last: int) -> dict[int, int]:
    """Every acknowledgement of the batch (sequence numbers first..last): {sequence number:
    errno} of those that failed. Messages for other sequence numbers are not this batch's."""
    errors: dict[int, int] = {}
    waiting = set(expected)
    while waiting:
        data = sock.recv(65536)
        offset = 0
        while offset + 16 <= len(data):
            size, kind, _flags, seq, _pid = struct.unpack_from("=IHHII", data, offset)
            if kind == NLMSG_ERROR and first <= seq <= last:
                (code,) = struct.unpack_from("=i", data, offset + 16)
                if code:
                    errors[seq] = -code
                if seq not in waiting:  # the batch as a whole was refused (e.g. EPERM)
                    return errors
                waiting.discard(seq)
            offset += max(16, (size + 3) & ~3)
    return errors


ERESTART = 85  # Linux; not in every Python's errno module


def _why(code: int) -> str:
    if code == errno.EBUSY:
        return f"{os.strerror(code)}: it holds something this change does not name (added after the plan was made?)"
    if code == ERESTART:
        return "the ruleset changed after this change was checked against it"
    return os.strerror(code)
