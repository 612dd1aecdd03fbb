"""The benchmark's host builders (tests/bench/hostgen.py) build what bench_scan says they do.

One small host holds every kind of rule the big shapes are made of: Docker/kube-proxy chains
off the guests' path, native rules in chains `inet filter` forward jumps to, iptables-nft rules
in a chain FORWARD jumps to, beside three libvirt networks. The kernel lists them back, and the
evaluator decides every guest's packet without any generated rule deciding it: the big shapes
make every probe get past all their rules (the worst case the benchmark means to time), and a
rule that matched a guest would measure an early exit instead.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.bench.hostgen import build_host, iptables_text
from vnetmigrate.collect import collect_live
from vnetmigrate.collect import nft as collect_nft
from vnetmigrate.collect import host as host_module
from vnetmigrate.collect.host import LiveHost, NftJson
from vnetmigrate.evaluate import evaluate, host_probes, index, of_facts
from vnetmigrate.evaluate.engine import at, start_state
from vnetmigrate.facts import build
from vnetmigrate.specs import NFT_TABLE_T, prefix

pytestmark = pytest.mark.lab

GENERATED = ("rules0", "HOST-FORWARD")  # the chains holding generated rules on the path


def test_bench_host_builders_make_the_rules_they_promise(lab_ready, tmp_path, monkeypatch):
    from tests.sandbox import namespaces

    ns = namespaces.new_name("bench")
    namespaces.create([ns])
    try:
        counts = build_host(ns, tmp_path, networks=3, offpath_rules=300, native_rules=60, native_chains=3,
                            iptables_path_rules=50)
        chains = json.loads(namespaces.run(ns, ["nft", "-j", "list", "chains"]).stdout)["nftables"]
        native = [c["chain"]["name"] for c in chains if "chain" in c and c["chain"]["table"] == "filter"
                  and c["chain"]["family"] == "inet"]
        assert sorted(native) == ["forward", "rules0000", "rules0001", "rules0002"]
        listed = namespaces.run(ns, ["iptables-nft", "-S", "HOST-FORWARD"]).stdout.splitlines()
        assert sum(line.startswith("-A HOST-FORWARD ") for line in listed) == 50
        assert counts["networks"] == 3 and counts["rules"] == iptables_text(300)[1] + 60 + 3 + 50 + 1

        ev = collect_live(root=str(tmp_path), netns=ns)
        facts = build(ev)
        rs = of_facts(facts)
        probes = host_probes(facts)
        assert len(probes) == 3 * 9
        for probe in probes:
            result = evaluate(rs, probe.packet)
            assert result.known, f"{probe.id}: {result.reasons}"
            decided = [p.end.chain for p in result.path]
            assert not any(g in chain for chain in decided for g in GENERATED), f"{probe.id}: {decided}"

        # a chain's candidates are remembered by what its index reads: the same as worked out
        # afresh, also for packets alike but for a port a generated rule names, or the protocol
        variants = [replace(probe.packet, **change) for probe in probes for change in
                    ({}, {"l4proto": "tcp", "dport": (1028, 1028)}, {"l4proto": "udp", "dport": (1028, 1028)})]
        for pkt in variants:
            for chain in rs.chains.values():
                if chain.rules:
                    for st in (at(start_state(pkt), chain, {"iif": pkt.iif, "oif": pkt.oif}),
                               start_state(pkt).with_(iif=pkt.oif, oif=pkt.iif)):
                        assert index.candidates(rs, chain, st) == index._candidates(rs, chain, st,
                                                                                   index._index(rs, chain))

        # iptables-nft listings run several at a time, in a window that moves on as each is
        # collected (2 at a time: fewer than the listings): the same records as one by one
        at_once = LiveHost.AT_ONCE
        monkeypatch.setattr(LiveHost, "AT_ONCE", 2)
        windowed = collect_live(root=str(tmp_path), netns=ns)
        monkeypatch.setattr(LiveHost, "AT_ONCE", 1)
        one_by_one = collect_live(root=str(tmp_path), netns=ns)
        for got in (ev, windowed):
            listed = [k for k in got.commands if k.startswith("ipt.")]
            assert len(listed) > 5 and listed == [k for k in one_by_one.commands if k.startswith("ipt.")]
            assert [(got.commands[k].argv, got.commands[k].returncode, got.commands[k].stdout) for k in listed] == \
                [(one_by_one.commands[k].argv, one_by_one.commands[k].returncode, one_by_one.commands[k].stdout)
                 for k in listed]

        # work done while a listing runs (here at the first command, however quick): scan's
        # imports, and libvirt's tables listed ahead of their turn, change no record and leave
        # them in their order
        # every command counts as slow: with a 0 s wait, a listing that had already answered
        # when it was collected was not (2 runs in 20 failed so at integ ed01248)
        monkeypatch.setattr(host_module, "_answers", lambda proc, within: False)
        waited: list[int] = []
        ahead: list[tuple[str, str]] = []  # (when, family) of each netlink read of a libvirt table
        phase = ["in turn"]
        prefetch = collect_nft.prefetch_libvirt_tables
        monkeypatch.setattr(collect_nft, "prefetch_libvirt_tables",
                            lambda host: (phase.__setitem__(0, "ahead"), prefetch(host), phase.__setitem__(0, "in turn"))[1])
        read = collect_nft._read_table
        monkeypatch.setattr(collect_nft, "_read_table", lambda *a: (ahead.append((phase[0], a[1])), read(*a))[1])
        listed: list[str] = []
        cmd = NftJson.cmd
        monkeypatch.setattr(NftJson, "cmd", lambda nft, text, **kw: (listed.append(text), cmd(nft, text, **kw))[1])
        with_work = collect_live(root=str(tmp_path), netns=ns, while_waiting=[lambda: waited.append(1)])
        tables = [k for k in ev.commands if k.startswith(prefix(NFT_TABLE_T))]
        # libvirt's ip and ip6 tables, read over netlink once, ahead (libnftables lists neither)
        assert waited == [1] and len(tables) == 2 and ahead == [("ahead", "ip"), ("ahead", "ip6")]
        assert not any(text.startswith("list table") for text in listed)
        assert list(with_work.commands) == list(ev.commands)
        assert [(r.argv, r.returncode, r.stdout, r.stderr, r.via) for r in with_work.commands.values()] == \
            [(r.argv, r.returncode, r.stdout, r.stderr, r.via) for r in ev.commands.values()]

        # migrate's `eager`: the same work as soon as a batch of listings is started, though no
        # command is slow: the same records, in the same order
        monkeypatch.setattr(host_module, "_answers", lambda proc, within: True)
        monkeypatch.setattr(LiveHost, "AT_ONCE", at_once)
        waited.clear(), ahead.clear(), listed.clear()
        eager = collect_live(root=str(tmp_path), netns=ns, while_waiting=[lambda: waited.append(1)], eager=True)
        assert waited == [1] and ahead == [("ahead", "ip"), ("ahead", "ip6")]
        assert not any(text.startswith("list table") for text in listed)
        assert list(eager.commands) == list(ev.commands)
        assert [(r.argv, r.returncode, r.stdout, r.stderr, r.via) for r in eager.commands.values()] == \
            [(r.argv, r.returncode, r.stdout, r.stderr, r.via) for r in ev.commands.values()]
    finally:
        namespaces.delete([ns])
