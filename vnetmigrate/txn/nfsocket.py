"""One NETLINK_NETFILTER socket per network namespace, kept open while the process lives.

Closing such a socket right after one of our commits makes the closing process wait for the
kernel to free what the commit replaced or deleted (synchronize_rcu and all, 6-17 ms here),
docs/kernel-and-tools.md §13. The generation queries (txn/nftgen.py, some 190 per migration)
and the exact deletions (txn/nfdelete.py) therefore reuse one socket per namespace and never
close it on success: the process's exit closes it, long after the kernel finished.

A socket talks to the namespace it was made in, so the cache is keyed by the calling thread's
namespace (setns is per thread: vnetmigrate.netns.entered). The key is the namespace file's
(st_dev, st_ino): a cached socket holds a reference on its namespace, so that inode cannot be
reused by a new namespace while the socket is in the cache. Each use holds a lock (threads in
one namespace share the socket) and takes fresh sequence numbers. Any exception while a socket
is in use (OSError, a timeout, an answer that makes no sense, a refused batch) closes it and
forgets it: the next use starts on a clean socket, never reading a late answer of an earlier
request. A forked child forgets the parent's sockets (its copies of the descriptors are closed,
which leaves the parent's sockets open): two processes must not share one.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
from collections.abc import Iterator

from vnetmigrate.nfnetlink import NETLINK_NETFILTER

SO_NETNS_COOKIE = 71  # Linux 5.14
# Namespaces whose socket is kept: one for the host or --netns, more only in test processes that
# visit many throwaway namespaces; each kept socket keeps its namespace alive. The oldest is closed
# beyond this (it may wait for that namespace's destroy work, if a commit of ours is that recent).
KEEP = 8


class Kept:
    """A kept socket, the cookie of its namespace (unique for the system's lifetime, where inode
    numbers are reused; None before Linux 5.14) and the process that made it (a child forked
    without Python's fork hooks must not use it)."""

    __slots__ = ("sock", "cookie", "pid")

    def __init__(self, sock: socket.socket, cookie: int | None, pid: int) -> None:
        self.sock, self.cookie, self.pid = sock, cookie, pid


_lock = threading.Lock()
_kept: dict[tuple[int, int], Kept] = {}
_seq = 0


def _forget_after_fork() -> None:
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork
    for kept in _kept.values():
        kept.sock.close()  # the child's copy of the descriptor only: the parent's socket stays open
    _kept.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def _open() -> Kept:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_NETFILTER)
    try:
        sock.bind((0, 0))
    except OSError:
        sock.close()
        raise
    try:
        cookie = struct.unpack("=Q", sock.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8))[0]
    except OSError:  # before Linux 5.14: deletions still work, generations mean nothing (nftgen)
        cookie = None
    return Kept(sock, cookie, os.getpid())


@contextlib.contextmanager
def used(messages: int = 1) -> Iterator[tuple[Kept, int]]:
    """The calling thread's namespace's socket, for this caller alone, and the first of
    `messages` fresh sequence numbers. OSError when no socket can be made."""
    global _seq
    st = os.stat("/proc/thread-self/ns/net")
    key = (st.st_dev, st.st_ino)
    with _lock:
        kept = _kept.get(key)
        if kept is not None and kept.pid != os.getpid():  # forked without Python's fork hooks
            _kept.pop(key).sock.close()  # this child's copy of the descriptor: the parent's stays open
            kept = None
        if kept is None:
            while len(_kept) >= KEEP:
                _kept.pop(next(iter(_kept))).sock.close()
            kept = _kept[key] = _open()
        if _seq + messages > 0x7FFFFFFF:  # start again at 1, never inside one batch
            _seq = 0
        first = _seq + 1
        _seq += messages
        try:
            yield kept, first
        except BaseException:
            del _kept[key]
            kept.sock.close()
            raise

