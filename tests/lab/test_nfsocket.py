"""The kept NETLINK_NETFILTER sockets (txn/nfsocket.py) answer what a fresh socket would.

Generation queries (txn/nftgen.py) and exact deletions (txn/nfdelete.py) reuse one socket per
network namespace instead of closing one after each request (closing right after a commit waits
for the kernel's clean-up, docs/kernel-and-tools.md §13). Held here against a fresh socket made
for each question, on real namespaces: alternating between two, after a commit in one, for a
namespace deleted and another made, in a forked child, after the kept socket broke behind its
back, and with a late answer to an earlier request still queued on it."""

from __future__ import annotations

import os
import socket
import struct
import sys

import pytest

from tests.lab.txn_support import namespace, ns_run, skip_unless_lab

pytestmark = pytest.mark.lab

GETGEN = 10 << 8 | 16


def getgen_request(seq: int) -> bytes:
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, 0)
    return struct.pack("=IHHII", 16 + len(body), GETGEN, 1, seq, 0) + body


def fresh(ns: str) -> tuple[int, int]:
    """(cookie, generation) of `ns` through a socket made for this question alone."""
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import nftgen

    with entered(ns), socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12) as sock:
        cookie = struct.unpack("=Q", sock.getsockopt(socket.SOL_SOCKET, 71, 8))[0]
        sock.settimeout(2)
        sock.send(getgen_request(1))
        return cookie, nftgen._generation(sock.recv(4096))


def kept(ns: str) -> tuple[int, int] | None:
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import nftgen

    with entered(ns):
        return nftgen.current()


def kept_socket(ns: str) -> socket.socket:
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import nfsocket

    with entered(ns):
        st = os.stat("/proc/thread-self/ns/net")
    return nfsocket._kept[(st.st_dev, st.st_ino)].sock


@pytest.fixture(scope="module")
def two():
    skip_unless_lab()
    with namespace() as a, namespace() as b:
        yield a, b


def commit(ns: str) -> None:
    ns_run(ns, ["nft", "add table inet t; delete table inet t"])  # one batch: one commit


def test_alternating_namespaces_each_answer_their_own_generation(two):
    a, b = two
    for _ in range(3):
        assert kept(a) == fresh(a)
        assert kept(b) == fresh(b)
    before_a, before_b = kept(a), kept(b)
    assert before_a[0] != before_b[0]
    commit(a)
    assert kept(b) == before_b  # a commit in A is not B's
    assert kept(a) == (before_a[0], before_a[1] + 1) == fresh(a)
    commit(b)
    assert kept(a) == (before_a[0], before_a[1] + 1)
    assert kept(b) == (before_b[0], before_b[1] + 1) == fresh(b)


def test_a_new_namespace_gets_its_own_cookie_and_socket(two):
    a, _b = two
    with namespace() as gone:
        old = kept(gone)
        old_sock = kept_socket(gone)
        assert old == fresh(gone)
    with namespace() as new:
        assert kept(new) == fresh(new)
        assert kept(new)[0] != old[0]
        assert kept_socket(new) is not old_sock
    assert kept(a) == fresh(a)


def test_a_forked_child_asks_through_its_own_socket(two):
    a, b = two
    assert kept(a) == fresh(a)
    parent_port = kept_socket(a).getsockname()[0]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, never return into pytest
        ok = False
        try:
            commit(b)
            ok = (kept(a) == fresh(a) and kept(b) == fresh(b)
                  and kept_socket(a).getsockname()[0] != parent_port)
        finally:
            os.write(write, b"1" if ok else b"0")
            os._exit(0)
    os.close(write)
    try:
        assert os.read(read, 1) == b"1"
    finally:
        os.close(read)
        os.waitpid(pid, 0)
    commit(a)
    assert kept(a) == fresh(a)  # the parent's socket still works after the child closed its copy
    assert kept(b) == fresh(b)
    assert kept_socket(a).getsockname()[0] == parent_port


def test_a_broken_kept_socket_is_replaced_and_answers_right(two):
    a, _b = two
    assert kept(a) == fresh(a)
    broken = kept_socket(a)
    null = os.open(os.devnull, os.O_RDWR)
    try:
        os.dup2(null, broken.fileno())  # its descriptor is no socket any more
    finally:
        os.close(null)
    commit(a)
    assert kept(a) == fresh(a)
    assert kept_socket(a) is not broken
    assert kept(a) == fresh(a)


def test_a_late_answer_to_an_earlier_request_is_not_taken(two):
    a, _b = two
    assert kept(a) == fresh(a)
    kept_socket(a).send(getgen_request(0x7FFFFFF0))  # answered now, read by no one (a timed-out request)
    commit(a)  # the late answer holds the old generation
    assert kept(a) == fresh(a)
    assert kept(a) == fresh(a)


def test_exact_deletions_reuse_the_socket_also_after_a_refused_batch(two):
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import nfdelete
    from vnetmigrate.txn.kernel import NothingChanged

    a, b = two
    for ns in (a, b):
        ns_run(ns, ["nft", "add table ip x; add chain ip x c; add rule ip x c accept"])
    drop = [{"delete": {"chain": {"family": "ip", "table": "x", "name": "c"}}},
            {"delete": {"table": {"family": "ip", "name": "x"}}}]
    with entered(a), pytest.raises(NothingChanged, match="delete chain ip x c: Device or resource busy"):
        nfdelete.delete_exactly(drop)  # the rule is not named: refused whole
    with entered(b):
        rule = ns_run(b, ["nft", "-a", "list", "chain", "ip", "x", "c"]).split("# handle ")[-1].split()[0]
        nfdelete.delete_exactly([{"delete": {"rule": {"family": "ip", "table": "x", "chain": "c", "handle": rule}}},
                                 *drop])
    assert "table ip x" in ns_run(a, ["nft", "list", "tables"])
    assert "table ip x" not in ns_run(b, ["nft", "list", "tables"])
    assert kept(a) == fresh(a) and kept(b) == fresh(b)
    ns_run(a, ["nft", "delete", "table", "ip", "x"])


def test_threads_in_one_namespace_and_in_another_each_get_their_answers(two):
    """setns is per thread: threads share the kept socket of their namespace, one at a time."""
    import threading

    from vnetmigrate.netns import entered
    from vnetmigrate.txn import nftgen

    a, b = two
    want = {a: fresh(a), b: fresh(b)}
    sockets = {ns: (kept(ns), kept_socket(ns))[1] for ns in (a, b)}
    got: dict[str, list] = {a: [], b: []}
    start = threading.Barrier(4)

    def ask(ns: str) -> None:
        with entered(ns):
            start.wait()
            got[ns].extend(nftgen.current() for _ in range(1000))

    threads = [threading.Thread(target=ask, args=(ns,)) for ns in (a, a, b, b)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often: between a request and its answer too
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert got == {a: [want[a]] * 2000, b: [want[b]] * 2000}
    assert {ns: kept_socket(ns) for ns in (a, b)} == sockets  # no request failed (a stolen answer times out)


def test_beyond_the_kept_namespaces_the_oldest_socket_is_closed(two, monkeypatch):
    from vnetmigrate.txn import nfsocket

    a, _b = two
    monkeypatch.setattr(nfsocket, "KEEP", 1)
    with namespace() as third:
        for _ in range(2):
            old = (kept(a), kept_socket(a))[1]
            assert kept(third) == fresh(third)
            assert old.fileno() == -1  # closed to make room for the third's
            old = kept_socket(third)
            assert kept(a) == fresh(a)
            assert old.fileno() == -1
