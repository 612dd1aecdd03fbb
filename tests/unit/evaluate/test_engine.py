"""The evaluator against the kernel's semantics: hooks, priorities, jumps, policies, unknowns."""

from vnetmigrate.evaluate import evaluate, from_facts
from tests.unit.evaluate.nftspec import (ACCEPT, COUNTER, DROP, REJECT, RETURN, chain, ct, goto, jump, meta, nset,
                                         payload, pkt, prefix, ruleset)

LIBVIRT = ("ip", "libvirt_network", [
    chain("forward", [COUNTER, jump("guest_output")], [COUNTER, jump("guest_input")], hook="forward"),
    chain("guest_output", [payload("ip", "saddr", prefix("192.168.122.0", 24)), meta("iif", "virbr0"), ACCEPT],
          [meta("iif", "virbr0"), REJECT]),
    chain("guest_input", [meta("oif", "virbr0"), ct("state", ["established", "related"]), ACCEPT],
          [meta("oif", "virbr0"), REJECT]),
])


def run(*tables, packet=None, unread=()):
    return evaluate(from_facts(ruleset(*tables, unread=unread), ()), packet or pkt())


def test_accept_in_one_table_does_not_save_the_packet_from_another_tables_drop():
    other = ("inet", "filter", [chain("forward", hook="forward", prio=10, policy="drop")])
    r = run(LIBVIRT, other)
    assert r.verdict == "drop" and r.blocked is True
    assert (r.decided_by.base, r.decided_by.end.rule) == ("inet filter forward", "policy")
    assert [p.verdict for p in r.path] == ["accept", "drop"]  # libvirt's chain accepted first
    assert r.path[0].end.chain == "ip libvirt_network guest_output"


def test_lower_priority_runs_first_and_its_drop_is_final():
    early = ("inet", "early", [chain("fwd", [meta("iifname", "virbr0"), DROP], hook="forward", prio=-10)])
    r = run(LIBVIRT, early)
    assert r.decided_by.base == "inet early fwd" and len(r.path) == 1


def test_accept_in_a_jumped_chain_ends_the_base_chain_and_return_goes_back():
    t = ("inet", "t", [chain("fwd", [jump("a")], [DROP], hook="forward"),
                       chain("a", [meta("oifname", "nomatch0"), RETURN], [meta("iifname", "virbr*"), jump("b")]),
                       chain("b", [RETURN])])
    r = run(t)  # a -> b returns -> a ends -> back in fwd -> drop
    assert r.verdict == "drop" and r.decided_by.end.rule == "handle 101"
    t2 = ("inet", "t", [chain("fwd", [jump("a")], [DROP], hook="forward"), chain("a", [ACCEPT])])
    assert run(t2).verdict == "accept"


def test_goto_returns_to_the_caller_of_the_chain_that_went():
    t = ("inet", "t", [chain("fwd", [jump("a")], [ACCEPT], hook="forward", policy="drop"),
                       chain("a", [goto("b")], [DROP]), chain("b", [COUNTER])])
    assert run(t).verdict == "accept"  # b ends -> back to fwd (not to a's drop)


def test_vmap_with_inline_elements():
    t = ("inet", "t", [chain("fwd", [{"vmap": {"key": {"ct": {"key": "state"}}, "data": nset(
        ["established", ACCEPT], ["new", {"jump": {"target": "n"}}])}}], hook="forward", policy="drop"),
        chain("n", [meta("iifname", nset("virbr0", "virbr1")), ACCEPT])])
    assert run(t).verdict == "accept"
    assert run(t, packet=pkt(iif="eth9")).verdict == "drop"
    assert run(t, packet=pkt("reply")).decided_by.end.text.startswith("ct state vmap")


def test_policy_and_final_reject():
    t = ("ip", "f", [chain("input", [payload("udp", "dport", 67), REJECT], hook="input")])
    r = run(t, packet=pkt("input", proto="udp", dport=67))
    assert r.verdict == "reject" and r.blocked
    assert run(t, packet=pkt("input", proto="udp", dport=53)).verdict == "accept"


def test_transport_match_needs_its_protocol_even_negated():
    t = ("inet", "t", [chain("input", [payload("tcp", "dport", 22, "!="), DROP], hook="input")])
    assert run(t, packet=pkt("input", proto="udp", dport=53)).verdict == "accept"
    assert run(t, packet=pkt("input", proto="tcp", dport=53)).verdict == "drop"


def test_a_device_the_hook_does_not_have_reads_as_the_empty_name():
    # input has no output device: `oifname != "x"` matches, `oifname "x*"` does not (seen on 6.18)
    t = ("inet", "t", [chain("inp", [meta("oifname", "virbr*"), ACCEPT], [meta("oifname", "nothere", "!="), DROP],
                             hook="input")])
    assert run(t, packet=pkt("input", proto="udp", dport=53)).verdict == "drop"
    # postrouting knows the input device of a forwarded packet
    post = ("inet", "t", [chain("post", [meta("iif", "virbr0"), DROP], hook="postrouting", prio=100)])
    assert run(post).verdict == "drop"


def test_the_uplink_is_symbolic_unknown_only_when_it_matters():
    same = ("inet", "t", [chain("fwd", [meta("oifname", "eth1"), ACCEPT], [ACCEPT], hook="forward")])
    assert run(same).verdict == "accept"
    differs = ("inet", "t", [chain("fwd", [meta("oifname", "eth1"), ACCEPT], hook="forward", policy="drop")])
    r = run(differs)
    assert r.verdict == "unknown" and r.blocked is None
    assert any('oifname "eth1"' in why for why in r.reasons), r.reasons
    # once assumed to be eth1, it is not eth2: no contradictory combinations
    two = ("inet", "t", [chain("fwd", [meta("oifname", "eth1"), jump("x")], hook="forward"),
                         chain("x", [meta("oifname", "eth2"), DROP])])
    assert run(two).verdict == "accept"
    bridges = ("inet", "t", [chain("fwd", [meta("oifname", "docker0"), ACCEPT], hook="forward", policy="drop")])
    assert run(bridges).verdict == "drop"  # a container bridge is never the uplink


def test_unread_chain_is_unknown_unless_the_jump_cannot_match():
    t = ("inet", "t", [chain("fwd", [meta("iifname", "docker0"), jump("big")], [meta("iifname", "virbr0"),
                                                                                jump("other")], hook="forward"),
                       chain("big"), chain("other")])
    assert run(t, unread=("big",)).verdict == "accept"
    r = run(t, unread=("other",))
    assert r.verdict == "unknown" and "the rules of inet t other were not read" in r.reasons


def test_unread_base_chain_behind_a_definite_drop_still_blocks():
    t = ("inet", "a", [chain("fwd", hook="forward", prio=-5, policy="drop")])
    u = ("inet", "u", [chain("fwd", hook="forward", prio=10)])
    r = run(t, u, unread=("fwd",))
    # `fwd` of both tables is unread here: the -5 one too -> not definite
    assert r.verdict == "unknown"
    r = evaluate(from_facts(ruleset(t), ()), pkt())
    assert r.verdict == "drop"


def test_conntrack_state_before_and_after_conntrack():
    raw = ("inet", "raw", [chain("pre", [ct("state", "invalid"), DROP], hook="prerouting", prio=-300)])
    assert run(raw).verdict == "drop"  # before conntrack (-200) every packet is "invalid"
    late = ("inet", "raw", [chain("pre", [ct("state", "invalid"), DROP], hook="prerouting", prio=-150)])
    assert run(late).verdict == "accept"


def test_nat_chains_see_only_new_connections_and_nat_accepts():
    nat = ("ip", "n", [chain("post", [{"masquerade": None}], [DROP], hook="postrouting", type="nat", prio=100)])
    assert run(nat).verdict == "accept"
    nat2 = ("ip", "n", [chain("post", [DROP], hook="postrouting", type="nat", prio=100)])
    assert run(nat2).verdict == "drop" and run(nat2, packet=pkt("reply")).verdict == "accept"


def test_mark_set_then_matched():
    t = ("inet", "t", [chain("fwd", [{"mangle": {"key": {"meta": {"key": "mark"}}, "value": 16}}],
                             [meta("mark", 16), DROP], hook="forward")])
    assert run(t).verdict == "drop"


def test_mark_writer_sharing_a_priority_with_a_reader_makes_order_matter():
    a = ("inet", "a", [chain("fwd", [{"mangle": {"key": {"meta": {"key": "mark"}}, "value": 1}}], hook="forward")])
    b = ("inet", "b", [chain("fwd", [meta("mark", 1), DROP], hook="forward")])
    r = run(a, b)
    assert r.verdict == "unknown" and "not listed anywhere" in r.reasons[0]


def test_drop_and_reject_at_the_same_priority_in_two_tables():
    a = ("inet", "a", [chain("fwd", hook="forward", policy="drop")])
    b = ("inet", "b", [chain("fwd", [REJECT], hook="forward")])
    r = run(a, b)
    assert r.verdict == "unknown" and r.blocked is True
    assert {p.base for p in r.blockers} == {"inet a fwd", "inet b fwd"}


def test_unmodelled_expression_is_unknown_only_when_reached_and_relevant():
    named = payload("ip", "saddr", "@blocklist")
    harmless = ("inet", "t", [chain("fwd", [named, COUNTER], hook="forward")])
    assert run(harmless).verdict == "accept"
    relevant = ("inet", "t", [chain("fwd", [named, DROP], hook="forward")])
    r = run(relevant)
    assert r.verdict == "unknown" and any("@blocklist" in x for x in r.reasons)
    queue = ("inet", "t", [chain("fwd", [{"queue": {"num": 1}}], hook="forward")])
    assert "userspace" in run(queue).reasons[0]


def test_addresses_ports_sets_ranges():
    t = ("ip", "t", [chain("fwd", [payload("ip", "daddr", nset("10.0.0.1", prefix("198.51.100.0", 24))),
                                   payload("tcp", "dport", nset(22, {"range": [400, 500]})), DROP],
                           hook="forward")])
    assert run(t).verdict == "drop"
    assert run(t, packet=pkt(dport=80)).verdict == "accept"
    sport = ("ip", "t", [chain("fwd", [payload("tcp", "sport", 40000), DROP], hook="forward")])
    assert run(sport).verdict == "unknown"  # an ephemeral port: maybe 40000, maybe not


def test_bridge_family_chain_that_can_drop_makes_the_verdict_unknown():
    br = ("bridge", "filter", [chain("fwd", [meta("iifname", "vnet0"), DROP], hook="forward")])
    assert run(br).verdict == "unknown"
    harmless = ("bridge", "filter", [chain("fwd", [COUNTER], hook="forward")])
    assert run(harmless).verdict == "accept"


def test_indexed_rules_by_interface_and_subnet_keep_the_kernels_order():
    rules = []
    for n in range(9, 0, -1):  # one rule per bridge and per subnet, as libvirt writes them
        rules.append([meta("iif", f"virbr{n}"), REJECT])
        rules.append([payload("ip", "saddr", prefix(f"192.168.{100 + n}.0", 24)), REJECT])
    rules.insert(5, [payload("ip", "saddr", {"range": ["192.168.122.5", "192.168.122.20"]}), DROP])
    rules.insert(3, [meta("iifname", "virbr*"), COUNTER])  # ungated: always a candidate
    t = ("inet", "t", [chain("fwd", *rules, hook="forward")])
    assert run(t).verdict == "drop"  # the range rule, though it is listed after virbr9's
    r = run(t, packet=pkt(iif="virbr5", saddr="10.1.1.1"))
    assert r.verdict == "reject" and r.decided_by.end.text.startswith('iif "virbr5" reject')
    r = run(t, packet=pkt(iif="virbr0", saddr="192.168.104.7"))
    assert r.decided_by.end.text.startswith("ip saddr 192.168.104.0/24 reject")
