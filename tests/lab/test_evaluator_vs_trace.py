"""The evaluator against the kernel: in every scenario of the table (scenarios.py), under both
backends, as set up and again after the first workaround, each probe's verdict from
`vnetmigrate.evaluate` equals what `nft monitor trace` reports for the real packet, and for
drops the deciding rule or policy is the one the trace names.

Facts come from the real collector (`collect_live` in the lab's host namespace with the
scenario's root), exactly what `scan` evaluates. A reply is only observable when its request
passed; those that are not are counted, not compared.
"""

from __future__ import annotations

import pytest

from tests.lab.scenarios import SCENARIOS, build, probe
from vnetmigrate.collect import collect_live
from vnetmigrate.evaluate import Ports, evaluate, host_probes, of_facts
from vnetmigrate.facts import build as build_facts
from tests.sandbox.inbound import HOST_PORT
from tests.sandbox.topology import ECHO_UDP_PORT, REMOTE_IP, WAN_TCP_PORT
from tests.sandbox.trace import TABLE
from vnetmigrate.scan import analyse

pytestmark = pytest.mark.lab
LOST = 0.2
TALLY = {"agree": 0, "same deciding rule": 0, "not observable": 0}


def traced(guest: str) -> dict[str, tuple[str, str]]:
    """evaluator probe kind -> (lab probe that sends it, nft match selecting just that packet)."""
    syn, synack = "tcp flags & (syn|ack) == syn", "tcp flags & (syn|ack) == syn|ack"
    return {
        "dhcp": ("dhcp", "udp dport 67"),
        "dns-udp": ("dns", f"ip saddr {guest} udp dport 53"),
        "dns-tcp": ("dns-tcp", f"ip saddr {guest} tcp dport 53 {syn}"),
        "forward-icmp": ("ping", f"ip saddr {guest} icmp type echo-request"),
        "reply-icmp": ("ping", f"ip saddr {REMOTE_IP} icmp type echo-reply"),
        "forward-tcp": ("tcp", f"ip saddr {guest} tcp dport {WAN_TCP_PORT} {syn}"),
        "reply-tcp": ("tcp", f"ip saddr {REMOTE_IP} tcp sport {WAN_TCP_PORT} {synack}"),
        "forward-udp": ("udp", f"ip saddr {guest} udp dport {ECHO_UDP_PORT}"),
        "reply-udp": ("udp", f"ip saddr {REMOTE_IP} udp sport {ECHO_UDP_PORT}"),
        "port-forward": ("port-forward", f"tcp dport {HOST_PORT} {syn}"),
    }


@pytest.fixture(scope="module", autouse=True)
def tally(request):
    yield
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\nevaluator vs nft trace: {TALLY['agree']} probe verdicts agree ({TALLY['same deciding rule']} drops "
              f"decided by the same rule or policy), {TALLY['not observable']} replies not observable (their request "
              "was dropped)")


def compare(lab, root) -> list[str]:
    facts = build_facts(collect_live(root=str(root), netns=lab.host))
    rs = of_facts(facts)
    probes = {p.kind: p for p in host_probes(facts, remote={"ip": REMOTE_IP}, ports=Ports(WAN_TCP_PORT, ECHO_UDP_PORT))
              if p.packet.family == "ip"}
    table = traced(lab.guest(0).ip)
    kernel: dict[str, str | None] = {}
    problems = []
    for kind, p in probes.items():
        name, match = table[kind]
        result = evaluate(rs, p.packet)
        with lab.trace(match=match) as t:
            probe(lab, name, LOST)
        seen = t.result.first
        verdict = seen and (seen.verdict or ("accept" if all(p.packet.table == TABLE for p in seen.passes) else None))
        # (only the tracer's own chain saw it: no base chain on its path, the kernel lets it through)
        if seen is None or verdict is None:
            request = "forward-" + kind.split("-", 1)[1] if kind.startswith("reply-") else None
            if request and kernel.get(request) == "drop":
                TALLY["not observable"] += 1
                continue
            problems.append(f"{kind}: the kernel traced nothing ({t.result.lines})")
            continue
        kernel[kind] = verdict
        mine = "drop" if result.blocked else ("accept" if result.verdict == "accept" else None)
        if mine != verdict:
            problems.append(f"{kind}: evaluator {result.explain()}, kernel {verdict} by {seen.decided_by}")
            continue
        d = result.decided_by
        if mine == "drop" and d is not None:
            expected = (d.end.chain, "policy" if d.end.rule == "policy" else "rule")
            actual = (seen.decided_by.where, seen.decided_by.kind)
            if expected != actual:
                problems.append(f"{kind}: evaluator decided by {expected}, kernel by {actual}")
                continue
            TALLY["same deciding rule"] += 1
        TALLY["agree"] += 1
    return problems


@pytest.mark.parametrize("backend", ["nftables", "iptables"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_evaluator_verdicts_equal_the_kernels(lab, tmp_path, scenario, backend):
    host = build(lab, scenario, backend)
    root = host.write_root(tmp_path / "root")
    problems = compare(lab, root)
    if backend == "nftables" and scenario.workaround:
        doc = analyse(collect_live(root=str(root), netns=lab.host))
        f = next(f for f in doc.findings if f.id == scenario.workaround)
        for command in f.workarounds[0].commands:
            if command not in scenario.not_run:
                host.run(lab, command)
        problems += [f"after the workaround: {p}" for p in compare(lab, host.write_root(tmp_path / "fixed"))]
    assert not problems, "\n".join(problems)
