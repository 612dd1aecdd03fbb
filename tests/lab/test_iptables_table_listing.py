"""A table whose every chain the collector lists anyway is listed whole (`iptables-nft -t T -S`,
one process) and each chain's record made from that listing: the records are those of one
`iptables-nft -t T -S CHAIN` per chain, in content and order, on real kernel states.

The states: libvirt's iptables rules for NAT, routed and isolated networks (both families);
then hand-added rules in its chains with comments, negations and odd spacing in quotes; then
a comment holding a line break (the table is read chain by chain again); then Docker's chains beside them in filter (that table is read chain by chain again, the others
still whole); then legacy tables, whose warning every listing prints on stderr (no split).
"""

from __future__ import annotations

import pytest

from tests.sandbox import namespaces
from vnetmigrate.collect import collect_live
from vnetmigrate.collect import iptables as collect_iptables
from vnetmigrate.libvirt import iptables_restore, parse_network

pytestmark = pytest.mark.lab

NETWORKS = [
    "<network><name>nat</name><forward mode='nat'/><bridge name='lvnat'/>"
    "<ip address='10.71.0.1' netmask='255.255.255.0'><dhcp><range start='10.71.0.2' end='10.71.0.9'/></dhcp></ip>"
    "<ip family='ipv6' address='fd00:71::1' prefix='64'/></network>",
    "<network><name>routed</name><forward mode='route'/><bridge name='lvroute'/>"
    "<ip address='10.71.1.1' netmask='255.255.255.0'/></network>",
    "<network><name>isolated</name><bridge name='lviso'/><ip address='10.71.2.1' netmask='255.255.255.0'/></network>",
]

HAND_RULES = [
    ["iptables-nft", "-A", "LIBVIRT_FWI", "-o", "lvnat", "-m", "comment", "--comment", 'by hand: "a  b" -A X',
     "-j", "ACCEPT"],
    ["iptables-nft", "-I", "FORWARD", "1", "!", "-i", "lvnat", "-s", "192.0.2.0/24", "-j", "DROP"],
    ["iptables-nft", "-t", "nat", "-A", "LIBVIRT_PRT", "-p", "tcp", "--dport", "25", "-j", "RETURN"],
    ["ip6tables-nft", "-A", "LIBVIRT_INP", "-i", "lvnat", "-p", "udp", "--dport", "547", "-j", "ACCEPT"],
]
DOCKER = ["iptables-nft", "-N", "DOCKER"], ["iptables-nft", "-N", "DOCKER-USER"], \
    ["iptables-nft", "-A", "FORWARD", "-o", "docker0", "-j", "DOCKER"], \
    ["iptables-nft", "-A", "FORWARD", "-j", "DOCKER-USER"], \
    ["iptables-nft", "-A", "DOCKER", "-d", "172.17.0.2/32", "-p", "tcp", "--dport", "80", "-j", "ACCEPT"]


def _collected(ns: str, root: str, whole: bool, monkeypatch) -> tuple[list[tuple], set[tuple[str, str]]]:
    """The iptables records in order, and the (family, table) of those made from whole listings."""
    monkeypatch.setattr(collect_iptables, "WHOLE_TABLES", whole)
    ev = collect_live(root=root, netns=ns)
    recs = [(k, r) for k, r in ev.commands.items() if k.startswith("ipt.")]
    split = {(k.split(".")[1], r.argv[2]) for k, r in recs if r.via == collect_iptables.VIA_TABLE}
    return [(k, r.argv, r.returncode, r.stdout, r.stderr, r.error) for k, r in recs], split


def test_whole_table_listings_give_each_chains_own_listing(lab_ready, tmp_path, monkeypatch):
    nets = [parse_network(x, "net.xml") for x in NETWORKS]
    (ns,) = [namespaces.new_name("ipttab")]
    namespaces.create([ns])
    try:
        namespaces.ip_batch(ns, [f"link add {n.bridge} type bridge" for n in nets])
        for family, cmd in (("ipv4", "iptables-nft-restore"), ("ipv6", "ip6tables-nft-restore")):
            namespaces.run(ns, [cmd, "--noflush"], input=iptables_restore(nets, "11.3", family))
        line_break = [["iptables-nft", "-A", "LIBVIRT_FWX", "-m", "comment", "--comment", "one\n-A LIBVIRT_INP -j DROP",
                       "-j", "ACCEPT"]]
        states = [("libvirt's rules", None), ("hand-added rules", HAND_RULES), ("a comment's line break", line_break),
                  ("Docker's chains", DOCKER),
                  ("legacy tables", [["iptables-legacy", "-N", "OLD"], ["ip6tables-legacy", "-N", "OLD"]])]
        splits = {}
        for state, commands in states:
            for argv in commands or ():
                namespaces.run(ns, argv)
            exact, _ = _collected(ns, str(tmp_path), False, monkeypatch)
            fast, split = _collected(ns, str(tmp_path), True, monkeypatch)
            assert len(exact) >= 20, state
            assert fast == exact, state
            splits[state] = split
        tables = {(f, t) for f in ("ipv4", "ipv6") for t in ("filter", "nat", "mangle")}
        assert splits["libvirt's rules"] == splits["hand-added rules"] == tables
        # iptables prints the line break as it is: the comment's second line looks like a rule
        assert splits["a comment's line break"] == tables - {("ipv4", "filter")}
        assert splits["Docker's chains"] == tables - {("ipv4", "filter")}  # DOCKER is not listed
        assert splits["legacy tables"] == set()  # iptables-nft warns of them on stderr
    finally:
        namespaces.delete([ns])


def test_a_whole_listing_that_cannot_be_split_exactly_is_refused():
    def listing(stdout: str, stderr: str = "", rc: int = 0):
        from vnetmigrate.evidence import CommandRecord
        return CommandRecord("t", ("iptables-nft", "-t", "filter", "-S"), rc, stdout=stdout, stderr=stderr)

    text = "-P INPUT ACCEPT\n-N LIBVIRT_INP\n-A INPUT -j LIBVIRT_INP\n-A LIBVIRT_INP -i b -j ACCEPT\n"
    assert collect_iptables.split_listing(listing(text), ["INPUT", "LIBVIRT_INP"]) == {
        "INPUT": "-P INPUT ACCEPT\n-A INPUT -j LIBVIRT_INP\n",
        "LIBVIRT_INP": "-N LIBVIRT_INP\n-A LIBVIRT_INP -i b -j ACCEPT\n"}
    assert collect_iptables.split_listing(listing(text), ["INPUT", "LIBVIRT_OUT"]) is None  # a chain gone
    assert collect_iptables.split_listing(listing(text, "# Warning: iptables-legacy tables present"), ["INPUT"]) is None
    assert collect_iptables.split_listing(listing(text, rc=1), ["INPUT"]) is None
    assert collect_iptables.split_listing(listing("# Table `filter' is incompatible\n" + text), ["INPUT"]) is None
    assert collect_iptables.split_listing(listing(text.rstrip("\n")), ["INPUT"]) is None
    # a comment holding a line break (iptables prints it as it is): its second line is no rule
    broken = text + '-A INPUT -m comment --comment "one\n-A LIBVIRT_INP -j DROP" -j ACCEPT\n'
    assert collect_iptables.split_listing(listing(broken), ["INPUT", "LIBVIRT_INP"]) is None
    quoted = text + '-A INPUT -m comment --comment "a \\"b\\" \\\\" -j ACCEPT\n'
    assert collect_iptables.split_listing(listing(quoted), ["INPUT"])["INPUT"].endswith('\\\\" -j ACCEPT\n')
