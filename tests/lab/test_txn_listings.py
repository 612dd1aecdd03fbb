"""How the transaction engine reads the kernel cheaply, held to what it reads for.

The fingerprint migrate compares before each kernel step (txn/snapshot.py `probe`) reuses its
listings while the namespace's nftables generation is unchanged (txn/nftgen.py): every change
to a touched object is still seen, also right after a reused listing, through nft,
iptables-nft and iptables-legacy; changes elsewhere are not; the generation is the kernel's,
per namespace. `iptables-nft -S CHAIN` outputs are reused the same way, and after a commit of
its own that moved the generation by exactly one, the engine keeps its listings of the tables
that commit did not touch."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.lab.txn_support import namespace, ns_run, skip_unless_lab

pytestmark = pytest.mark.lab

IPT = """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:LIBVIRT_FWX - [0:0]
:LIBVIRT_OUT - [0:0]
-A FORWARD -j LIBVIRT_FWX
-A OUTPUT -j LIBVIRT_OUT
-A LIBVIRT_OUT -p udp -j ACCEPT
-A LIBVIRT_FWX -i virbr0 -o virbr0 -j ACCEPT
COMMIT
"""


@pytest.fixture(scope="module")
def ns():
    skip_unless_lab()
    with namespace() as name:
        ns_run(name, ["iptables-nft-restore"], input=IPT)
        ns_run(name, ["nft", "add table ip libvirt_network; add chain ip libvirt_network forward; "
                            "add rule ip libvirt_network forward counter accept"])
        yield name


def probe(ns: str, touched) -> str:
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import snapshot

    with entered(ns):
        return snapshot.probe(touched)


def generation(ns: str):
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import nftgen

    with entered(ns):
        return nftgen.current()


def send_one_udp_packet(ns: str) -> None:
    import socket

    from vnetmigrate.netns import entered

    ns_run(ns, ["ip", "link", "set", "lo", "up"])
    with entered(ns), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"x", ("127.0.0.1", 9))


def touched(legacy: bool = False):
    from vnetmigrate.txn.snapshot import Touched

    chains = (("ipv4", "filter", "LIBVIRT_FWX"), ("ipv4", "filter", "LIBVIRT_OUT")) + ((("ipv4-legacy", "filter", "LIBVIRT_FWX"),) if legacy else ())
    return Touched((("ip", "libvirt_network"),), chains)


def test_generation_counts_commits_of_nft_and_iptables_nft_per_namespace(ns):
    cookie, gen = generation(ns)
    ns_run(ns, ["nft", "list", "ruleset"])  # listing commits nothing
    assert generation(ns) == (cookie, gen)
    ns_run(ns, ["nft", "add", "table", "inet", "elsewhere"])
    ns_run(ns, ["iptables-nft", "-A", "INPUT", "-j", "ACCEPT"])
    assert generation(ns) == (cookie, gen + 2)
    with namespace() as other:
        assert generation(other)[0] != cookie  # another namespace, another cookie
    ns_run(ns, ["iptables-nft", "-D", "INPUT", "-j", "ACCEPT"])
    ns_run(ns, ["nft", "delete", "table", "inet", "elsewhere"])


def test_every_change_to_a_touched_object_is_seen_right_after_a_reused_listing(ns):
    t = touched()
    first = probe(ns, t)
    assert probe(ns, t) == first  # reused: nothing committed
    ns_run(ns, ["iptables-nft", "-A", "LIBVIRT_FWX", "-i", "virbr9", "-j", "ACCEPT"])
    changed = probe(ns, t)
    assert changed != first
    ns_run(ns, ["iptables-nft", "-D", "LIBVIRT_FWX", "-i", "virbr9", "-j", "ACCEPT"])
    assert probe(ns, t) == first  # the same state gives the same fingerprint, listed afresh
    ns_run(ns, ["nft", "add", "rule", "ip", "libvirt_network", "forward", "drop"])
    assert probe(ns, t) not in (first, changed)
    ns_run(ns, ["nft", "flush chain ip libvirt_network forward; add rule ip libvirt_network forward counter accept"])
    assert probe(ns, t) == first


def test_changes_elsewhere_and_packet_counters_leave_the_fingerprint_alone(ns):
    t = touched()
    first = probe(ns, t)
    ns_run(ns, ["nft", "add table inet elsewhere; add chain inet elsewhere c; add rule inet elsewhere c accept"])
    ns_run(ns, ["iptables-nft", "-A", "INPUT", "-p", "tcp", "-j", "ACCEPT"])
    counted = "counter packets 1 "
    assert counted not in ns_run(ns, ["nft", "list", "chain", "ip", "filter", "LIBVIRT_OUT"])
    send_one_udp_packet(ns)  # counted by LIBVIRT_OUT's rule: its listing changes, no commit
    assert counted in ns_run(ns, ["nft", "list", "chain", "ip", "filter", "LIBVIRT_OUT"])
    assert probe(ns, t) == first
    ns_run(ns, ["nft", "delete", "table", "inet", "elsewhere"])
    ns_run(ns, ["iptables-nft", "-D", "INPUT", "-p", "tcp", "-j", "ACCEPT"])


def test_legacy_tables_have_no_generation_and_are_read_every_time(ns):
    if shutil.which("iptables-legacy") is None:
        pytest.skip("iptables-legacy is missing")
    ns_run(ns, ["iptables-legacy", "-N", "LIBVIRT_FWX"])
    try:
        t = touched(legacy=True)
        gen = generation(ns)
        first = probe(ns, t)
        subprocess.run(["ip", "netns", "exec", ns, "iptables-legacy", "-A", "LIBVIRT_FWX", "-j", "ACCEPT"], check=True)
        assert generation(ns) == gen  # x_tables commits nothing to nf_tables
        assert probe(ns, t) != first
    finally:
        ns_run(ns, ["iptables-legacy", "-F", "LIBVIRT_FWX"])
        ns_run(ns, ["iptables-legacy", "-X", "LIBVIRT_FWX"])


def test_one_listing_with_handles_gives_the_plain_text_byte_for_byte(ns):
    """kernel.nft_list_stable lists with handles once (iptexact.py takes them from the same
    listing the fingerprint saw) and cuts them: the text `nft list` prints, so fingerprints
    stay what they were; also for a comment that ends like a handle."""
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import kernel

    ns_run(ns, ["iptables-nft", "-A", "LIBVIRT_FWX", "-m", "comment", "--comment", "x # handle 7", "-j", "ACCEPT"])
    try:
        for what in ("table ip filter", "chain ip filter FORWARD", "chain ip filter LIBVIRT_FWX",
                     "table ip libvirt_network"):
            with entered(ns):
                gen, raw = kernel.nft_list_handles(what)
                text = kernel.nft_list_stable(what)
            assert gen is not None and "# handle " in raw
            assert text == kernel.without_counters(ns_run(ns, ["nft", "list", *what.split()]))
    finally:
        ns_run(ns, ["iptables-nft", "-D", "LIBVIRT_FWX", "-m", "comment", "--comment", "x # handle 7", "-j", "ACCEPT"])


def test_iptables_listings_are_reused_only_while_nothing_committed(ns):
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import kernel

    with entered(ns):
        first = kernel.ipt_show("ipv4", "filter", "LIBVIRT_OUT")
        assert kernel.ipt_show("ipv4", "filter", "LIBVIRT_OUT") is first  # reused
    ns_run(ns, ["iptables-nft", "-A", "LIBVIRT_OUT", "-p", "tcp", "-j", "ACCEPT"])
    try:
        with entered(ns):
            assert "-A LIBVIRT_OUT -p tcp -j ACCEPT" in kernel.ipt_show("ipv4", "filter", "LIBVIRT_OUT")
    finally:
        ns_run(ns, ["iptables-nft", "-D", "LIBVIRT_OUT", "-p", "tcp", "-j", "ACCEPT"])
    with entered(ns):
        assert kernel.ipt_show("ipv4", "filter", "LIBVIRT_OUT") == first


def test_our_own_commit_keeps_the_listings_of_other_tables_and_no_one_elses(ns):
    """kernel.committed_once: after one transaction of ours on table A, a listing of table B
    made just before it is still the kernel's (reused, and right); a commit by someone else in
    between, to B, is never hidden by it."""
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import kernel, nftgen

    add = [{"add": {"rule": {"family": "ip", "table": "libvirt_network", "chain": "forward",
                             "expr": [{"accept": None}]}}}]
    with entered(ns):
        chain = kernel.nft_list_stable("chain ip filter LIBVIRT_FWX")
        gen = nftgen.current()
        kernel.nft_apply(add)
        assert nftgen.current() == (gen[0], gen[1] + 1)
        assert kernel.nft_list_handles("chain ip filter LIBVIRT_FWX")[0] == nftgen.current()  # kept, not listed
        assert kernel.nft_list_stable("chain ip filter LIBVIRT_FWX") == chain
    ns_run(ns, ["iptables-nft", "-A", "LIBVIRT_FWX", "-i", "virbr7", "-j", "ACCEPT"])  # someone else, on B
    try:
        with entered(ns):
            kernel.nft_apply(add)  # ours, on A, right after
            assert "virbr7" in kernel.nft_list_stable("chain ip filter LIBVIRT_FWX")
    finally:
        ns_run(ns, ["iptables-nft", "-D", "LIBVIRT_FWX", "-i", "virbr7", "-j", "ACCEPT"])
        ns_run(ns, ["nft", "flush chain ip libvirt_network forward; add rule ip libvirt_network forward counter accept"])


def test_the_chain_list_is_reused_per_generation_and_sees_every_change(ns, monkeypatch):
    """kernel.chains() (every fingerprint and verification asks for it) lists again only when
    something committed: a chain made or removed through iptables-nft or nft is in the very
    next answer, which always equals a fresh listing; a caller changing its copy changes no one's."""
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import kernel

    real = kernel.nft_list

    def fresh():
        with entered(ns):
            return [item["chain"] for item in (real("chains") or {}).get("nftables", []) if "chain" in item]

    listings = []

    def counted(what):
        listings.append(what)
        return real(what)

    def listed():
        with entered(ns):
            return kernel.chains()

    first = listed()
    assert first == fresh()
    monkeypatch.setattr(kernel, "nft_list", counted)
    first[0]["name"] = "changed by a caller"
    assert listed() == listed() == fresh() and listings == []  # reused, not listed again
    for change in (["iptables-nft", "-t", "filter", "-N", "VNM_NEW"], ["nft", "add chain ip libvirt_network extra"],
                   ["iptables-nft", "-t", "filter", "-X", "VNM_NEW"], ["nft", "delete chain ip libvirt_network extra"]):
        before = listed()
        ns_run(ns, change)
        listings.clear()
        after = listed()
        assert listings == ["chains"] and after != before and after == fresh(), change


def test_a_commit_in_the_middle_of_a_probe_is_in_its_fingerprint(ns, monkeypatch):
    """snapshot.probe asks the generation once before and once after its listings (those kept
    at it are taken as they are): a change committed between the two, through iptables-nft,
    makes it list again, so its fingerprint is that of the changed chain, as a fresh one is."""
    from vnetmigrate.txn import kernel

    before = probe(ns, touched())  # every listing kept at the current generation
    real = kernel.nft_list_stable
    made = []

    def changing(what, at=None):
        if not made:  # the first listing of the probe, after it read the generation
            made.append(what)
            ns_run(ns, ["iptables-nft", "-A", "LIBVIRT_OUT", "-p", "icmp", "-j", "ACCEPT"])
        return real(what, at)

    monkeypatch.setattr(kernel, "nft_list_stable", changing)
    try:
        during = probe(ns, touched())
        monkeypatch.setattr(kernel, "nft_list_stable", real)
        kernel._STABLE.clear(), kernel._CHAINS.clear()
        assert made and during != before and during == probe(ns, touched())
    finally:
        ns_run(ns, ["iptables-nft", "-D", "LIBVIRT_OUT", "-p", "icmp", "-j", "ACCEPT"])
    assert probe(ns, touched()) == before
