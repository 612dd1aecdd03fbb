"""The netlink chain reader (vnetmigrate/collect/nfnl_chain.py) against real nft, on real rulesets.

Real rulesets are loaded one after another into a throwaway namespace: the firewalld- and
Docker-style ruleset of test_nft_text_lab.py, nftables.service's (scenarios.py), libvirt's own
recorded ones (tests/data/libvirt/*-nftables), the benchmark's native shapes
(tests/bench/hostgen.py), and a few more shapes (ip and ip6 tables, sets of each key type).
Every chain is read over netlink and listed by `nft -j list chain`: each chain the reader
claims must be exactly nft's listing once its anonymous sets are read (the way a packet check
reads them); the others must be refused (the collector then lists them with libnftables).

libvirt's own tables (11.3's and 12.9's, several networks of each kind, from the project's
libvirt model, and the recorded ones) are read whole over netlink: the text recorded must be
libnftables' listing of the table byte for byte, and the rules handed to facts those it gives.

A scan of a host with 2,000 anonymous sets on the guests' path then reads only the sets a
packet check reaches, and its findings are those of the libnftables listing, and those of its
saved evidence analysed offline.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.bench.hostgen import build_host, native_forward_text
from tests.lab.scenarios import NFTABLES_CONF
from tests.lab.test_nft_text_lab import RULESET as FIREWALLD_DOCKER
from tests.sandbox import namespaces
from vnetmigrate.collect import nft as collect_nft
from vnetmigrate.collect.host import NftJson
from vnetmigrate.collect.nfnl_chain import ChainReader, SetFetcher
from vnetmigrate.evidence import Evidence
from vnetmigrate.facts import _listing
from vnetmigrate.facts.nftsets import AnonymousSets
from vnetmigrate.libvirt import nft_text, parse_network
from vnetmigrate.netns import entered
from vnetmigrate.rules.nft import NftRule, raw_jump_targets
from vnetmigrate.specs import NFT_SET_T

pytestmark = pytest.mark.lab
DATA = Path(__file__).parent.parent / "data" / "libvirt"

MORE = """
table ip plain {
    set __setnamed { type ipv4_addr; elements = { 192.0.2.9 } }
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 22 accept
        ip saddr 10.1.0.0/16 udp sport 53 accept
        meta l4proto udp accept
        ip daddr { 10.0.0.1, 10.0.0.2, 9.0.0.1 } accept
        iifname { "zz", "eth0", "a0", "b1", "eth10", "eth9", "e" } accept
        oifname != { "x1", "y2" } drop
        meta l4proto { tcp, udp } accept
        ct state { new, invalid, established } accept
        tcp dport { 443, 80, 22, 1, 65535, 256 } accept
        ip saddr 10.1.2.0/23 drop
        ip saddr != 10.1.0.0/16 drop
        iif "lo" accept
        oifname "vnet*" udp sport 53 return
        ip saddr 10.0.0.0/8 counter jump more comment "to more"
        ct state established,related accept
        ip saddr @__setnamed drop
    }
    chain more {
        udp dport != 53 continue
        goto last
    }
    chain last {
    }
    chain refused {
        ip protocol tcp tcp dport 80 drop
    }

}
table ip6 six {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 22 accept
        ip6 saddr fe80::/10 accept
        ip6 daddr ::ffff:1.2.3.4 accept
        ip6 saddr 2001:db8:0:1::1 accept
        ip6 daddr { 2001:db8::1, ::1 } drop
        ip6 daddr fd00::/64 meta l4proto udp drop
    }
}
table inet mixed {
    chain forward {
        type filter hook forward priority 0; policy accept;
        meta nfproto ipv6 ip6 saddr ::1 accept
        meta l4proto tcp ct state new tcp dport 80 accept
        meta l4proto tcp tcp dport 1028 ct state new accept
        ip daddr 10.96.0.3 tcp dport { 80, 443 } accept
        udp dport { 53, 67 } accept
        meta nfproto ipv4 accept
        iifname "eth0" meta nfproto ipv6 counter drop
    }
}
"""


def _rulesets() -> list[tuple[str, str]]:
    out = [("firewalld+docker", FIREWALLD_DOCKER), ("nftables.conf", NFTABLES_CONF), ("more", MORE),
           ("native 300", native_forward_text(300, 0)[0]), ("native 300 in 6 chains", native_forward_text(300, 6)[0])]
    for path in sorted(DATA.glob("*-nftables/*/nft-ruleset.nft")):
        out.append((str(path.relative_to(DATA)), path.read_text()))
    return out


def _inline(rule: dict, sets: AnonymousSets) -> dict:
    """The rule with its anonymous sets' elements read, as a packet check reads them."""
    expr = []
    for st in rule["expr"]:
        m = st.get("match") if isinstance(st, dict) else None
        if m and isinstance(m["right"], str) and m["right"].startswith("@__set"):
            value = sets(rule["family"], rule["table"], m["right"][1:], m["left"])
            if value is not None:  # None: a named set whose name looks anonymous, by name as nft lists it
                st = {"match": {**m, "right": value}}
        expr.append(st)
    return {**rule, "expr": expr}


def test_chains_read_over_netlink_are_nft_listings_or_refused():
    (ns,) = [namespaces.new_name("nfnl")]
    namespaces.create([ns])
    exact = refused = rules = loaded = 0
    claimed: set[str] = set()
    chains_claimed: set[tuple[str, str, str]] = set()
    try:
        namespaces.run(ns, ["ip", "link", "add", "virbr0", "type", "bridge"])  # libvirt's rules name it
        for name, text in _rulesets():
            namespaces.run(ns, ["nft", "flush", "ruleset"])
            if namespaces.run(ns, ["nft", "-f", "-"], input=text, check=False).returncode != 0:
                continue  # a recording naming devices this namespace lacks
            if name == "more":  # an xt match expression (iptables-nft 1.8.9's multiport): refused, not a failure
                namespaces.run(ns, ["iptables-nft", "-A", "FORWARD", "-p", "tcp", "-m", "multiport", "--dports",
                                    "80,443", "-j", "ACCEPT"])
            loaded += 1
            chains = [i["chain"] for i in json.loads(namespaces.run(ns, ["nft", "-j", "list", "chains"]).stdout)
                      ["nftables"] if "chain" in i]
            ev = Evidence(meta={"netns": ns})
            ev.live_sets = SetFetcher(NFT_SET_T, ns)
            sets = AnonymousSets(ev)
            with entered(ns):
                reader = ChainReader()
                try:
                    mine = [(c, reader.listing(c)) for c in chains]
                finally:
                    reader.close()
            for chain, got in mine:
                listed = json.loads(namespaces.run(ns, ["nft", "-j", "-a", "list", "chain", chain["family"],
                                                        chain["table"], chain["name"]]).stdout)["nftables"]
                if got is None:
                    refused += 1
                    continue
                text, targets, typed = got.text(), got.targets, got.typed
                want = [i for i in listed if "metainfo" not in i]
                as_read = list(_listing(text)["nftables"])  # as saved evidence is read
                got = [i if "rule" not in i else {"rule": _inline(i["rule"], sets)} for i in as_read]
                assert got == want, (name, chain)
                assert targets == [t for i in want if "rule" in i for t in raw_jump_targets(i["rule"]["expr"])]
                # each line is json.dumps' own text of what it holds (recorded evidence unchanged)
                lines = text.split("\n")[1:-1]
                assert all(line.rstrip(",") == json.dumps(json.loads(line.rstrip(","))) for line in lines)
                # the rules handed to facts are those its text gives
                assert typed.chain == as_read[0]["chain"]
                assert typed.rules == tuple(NftRule.from_json(i["rule"]) for i in as_read[1:]), (name, chain)
                exact += 1
                rules += len(got) - 1
                claimed.add(name)
                chains_claimed.add((chain["family"], chain["table"], chain["name"]))
    finally:
        namespaces.delete([ns])
    print(f"\n{loaded} rulesets: {exact} chains ({rules} rules) read over netlink exactly, {refused} refused")
    # what the reader exists for is never refused; what it does not write is
    assert {"more", "native 300", "native 300 in 6 chains", "nftables.conf"} <= claimed
    assert {("ip", "plain", "input"), ("ip", "plain", "more"), ("ip6", "six", "input"),
            ("ip", "dockerlike", "forward")} <= chains_claimed
    assert not {("ip", "plain", "refused"), ("inet", "mixed", "forward"), ("ip", "filter", "FORWARD")} & chains_claimed
    assert refused >= 4 and exact >= 40 and loaded >= 20


# libvirt networks of each kind the nftables backend writes rules for
NETWORKS = [
    "<network><name>nat</name><forward mode='nat'/><bridge name='lvnat'/>"
    "<ip address='10.70.0.1' netmask='255.255.255.0'/></network>",
    "<network><name>natports</name><forward mode='nat'><nat><port start='20000' end='29999'/></nat></forward>"
    "<bridge name='lvports'/><ip address='10.70.1.1' netmask='255.255.255.0'/></network>",
    "<network><name>nat6</name><forward mode='nat'><nat ipv6='yes'/></forward><bridge name='lvnat6'/>"
    "<ip address='10.70.2.1' netmask='255.255.255.0'/><ip family='ipv6' address='fd00:70:2::1' prefix='64'/>"
    "</network>",
    "<network><name>routed</name><forward mode='route'/><bridge name='lvroute'/>"
    "<ip address='10.70.3.1' netmask='255.255.255.0'/><ip family='ipv6' address='fd00:70:3::1' prefix='64'/>"
    "</network>",
    "<network><name>isolated</name><bridge name='lviso'/><ip address='10.70.4.1' netmask='255.255.255.0'/>"
    "<ip family='ipv6' address='fd00:70:4::1' prefix='64'/></network>",
    "<network><name>open</name><forward mode='open'/><bridge name='lvopen'/>"
    "<ip address='10.70.5.1' netmask='255.255.255.0'/></network>",
]


def _libvirt_rulesets() -> list[tuple[str, str]]:
    nets = [parse_network(x, "net.xml") for x in NETWORKS]
    out = [(f"model {v}, {len(nets)} networks", nft_text(nets, v)) for v in ("11.3", "12.9")]
    for path in sorted(DATA.glob("*-nftables/*/nft-ruleset.nft")):
        if "libvirt_network" in path.read_text():
            out.append((str(path.relative_to(DATA)), path.read_text()))
    return out


def test_libvirt_tables_read_over_netlink_are_libnftables_listings_byte_for_byte():
    (ns,) = [namespaces.new_name("nfnltab")]
    namespaces.create([ns])
    exact, refused = [], []
    other = None
    try:
        for name, text in _libvirt_rulesets():
            namespaces.run(ns, ["nft", "flush", "ruleset"])
            devices = set(re.findall(r'\b(?:iif|oif|iifname|oifname) "([^"*]+)"', text))
            devices |= {x.split("'")[1] for x in re.findall(r"<bridge name='[^']+'", "".join(NETWORKS))}
            links = "".join(f"link add {d} type bridge\n" for d in sorted(devices))
            namespaces.run(ns, ["ip", "-force", "-batch", "-"], input=links, check=False)
            namespaces.run(ns, ["nft", "-f", "-"], input=text)
            doc = json.loads(namespaces.run(ns, ["nft", "-j", "list", "chains"]).stdout)["nftables"]
            metainfo = next(i["metainfo"] for i in doc if "metainfo" in i)
            for family in ("ip", "ip6"):
                chains = [i["chain"] for i in doc if "chain" in i and i["chain"]["family"] == family
                          and i["chain"]["table"] == "libvirt_network"]
                with entered(ns):
                    want = NftJson().cmd(f"list table {family} libvirt_network")[1]  # as the collector lists it
                    reader = ChainReader()
                    try:
                        got = reader.table_listing(family, "libvirt_network", chains, metainfo)
                    finally:
                        reader.close()
                if got is None:
                    refused.append((name, family))
                    continue
                assert got.text() == want, (name, family)
                rules = [NftRule.from_json(i["rule"]) for i in json.loads(want)["nftables"] if "rule" in i]
                assert [r for chain in got.typed for r in chain.rules] == rules, (name, family)
                assert [chain.chain for chain in got.typed] == chains
                exact.append((name, family, len(rules)))
        # the interfaces by index are read once per reader, in its namespace: another namespace
        # whose same indexes are other bridges (made in the other order) lists its own names
        (other,) = [namespaces.new_name("nfnlidx")]
        namespaces.create([other])
        name, text = _libvirt_rulesets()[0]
        devices = sorted(set(re.findall(r'\b(?:iif|oif) "([^"*]+)"', text)), reverse=True)
        assert len(devices) >= 4
        namespaces.run(other, ["ip", "-batch", "-"], input="".join(f"link add {d} type bridge\n" for d in devices))
        namespaces.run(other, ["nft", "-f", "-"], input=text)
        for where in (ns, other, ns):
            if where == ns:
                namespaces.run(ns, ["nft", "flush", "ruleset"])
                namespaces.run(ns, ["nft", "-f", "-"], input=text)
            doc = json.loads(namespaces.run(where, ["nft", "-j", "list", "chains"]).stdout)["nftables"]
            metainfo = next(i["metainfo"] for i in doc if "metainfo" in i)
            chains = [i["chain"] for i in doc if "chain" in i and i["chain"]["family"] == "ip"
                      and i["chain"]["table"] == "libvirt_network"]
            with entered(where):
                want = NftJson().cmd("list table ip libvirt_network")[1]
                reader = ChainReader()
                try:
                    got = reader.table_listing("ip", "libvirt_network", chains, metainfo)
                finally:
                    reader.close()
            assert got is not None and got.text() == want, (where, name)
    finally:
        namespaces.delete([ns, other] if other else [ns])
    print(f"\n{len(exact)} libvirt tables ({sum(n for *_, n in exact)} rules) byte for byte, refused: {refused}")
    models = [e for e in exact if e[0].startswith("model")]
    assert len(models) == 4 and all(n >= 10 for *_, n in models), models  # both versions, both families
    # only SNAT to an address (`snat to A-A:1024-4095`) is not written by the reader
    assert all("snat" in name or "mixed-with-uplink" in name for name, _ in refused), refused
    assert len(exact) >= 60


@pytest.fixture(scope="module")
def sets_host(tmp_path_factory):
    """Two libvirt networks, 10,000 native rules (2,000 anonymous sets) in `inet filter` forward,
    and ahead of them a rule guests' packets reach whose set decides: vbr1's guests are dropped."""
    (ns,) = [namespaces.new_name("nfnlscan")]
    namespaces.create([ns])
    root = tmp_path_factory.mktemp("root")
    try:
        build_host(ns, root, networks=2, native_rules=10_000)
        namespaces.run(ns, ["nft", "insert", "rule", "inet", "filter", "forward",
                            'iifname { "vbr1", "vbr9" } drop'])
        yield ns, root
    finally:
        namespaces.delete([ns])


def _scan(ns: str, root: Path, netlink: bool, monkeypatch):
    from vnetmigrate.collect import collect_live
    from vnetmigrate.scan import analyse

    monkeypatch.setattr(collect_nft, "READ_OVER_NETLINK", netlink)
    ev = collect_live(root=str(root), netns=ns)
    result = analyse(ev)
    return ev, sorted((f.id, f.severity.value, f.title, tuple(map(str, f.evidence))) for f in result.findings)


def test_scan_reads_only_the_sets_packets_reach_and_finds_what_libnftables_finds(sets_host, monkeypatch, tmp_path):
    ns, root = sets_host
    ev, findings = _scan(ns, root, True, monkeypatch)
    old_ev, old = _scan(ns, root, False, monkeypatch)
    assert findings == old
    assert any("vbr1" in str(f) for f in findings)  # the set decided something a user sees
    via = {r.via for k, r in ev.commands.items() if k.startswith(("nft.chain.", "nft.table."))}
    assert via == {"netlink"}, via
    # libvirt's tables, read over netlink, are recorded as libnftables listed them, byte for byte
    tables = sorted(k for k in ev.commands if k.startswith("nft.table."))
    assert tables == sorted(k for k in old_ev.commands if k.startswith("nft.table.")) and tables
    assert [ev.commands[k].stdout for k in tables] == [old_ev.commands[k].stdout for k in tables]
    # the scan wrote no chain's text (10,000 rules of JSON): facts took the typed rules
    assert not any("stdout" in vars(r) for k, r in ev.commands.items() if k.startswith("nft.chain.")), \
        "a chain read over netlink was written as text during a plain scan"
    read = [r for k, r in ev.commands.items() if k.startswith("nft.set.")]
    assert 1 <= len(read) <= 10, [r.display for r in read]  # of 2,000 in the table
    assert not any(k.startswith("nft.set.") for k in old_ev.commands)
    # saved evidence (after the analysis: it holds the sets read) gives the same findings offline
    from vnetmigrate.scan import analyse

    ev.save(tmp_path / "ev")
    again = analyse(Evidence.load(tmp_path / "ev"))
    assert sorted((f.id, f.severity.value, f.title, tuple(map(str, f.evidence))) for f in again.findings) == findings
