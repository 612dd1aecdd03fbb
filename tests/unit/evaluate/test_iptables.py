"""iptables rules (iptables-nft and legacy x_tables) through the evaluator."""

from vnetmigrate.evaluate import evaluate, from_facts
from tests.sandbox import fixtures
from tests.unit.evaluate.nftspec import chain, pkt, ruleset, save

FILTER_CHAINS = ("ip", "filter", [chain("INPUT", hook="input"), chain("FORWARD", hook="forward", policy="drop"),
                                  chain("OUTPUT", hook="output")])

def docker(user="", nft=True):
    """Docker 28's rules (the lab's fixture), with `user` rules in DOCKER-USER."""
    nftrs = ruleset(FILTER_CHAINS) if nft is True else (ruleset() if nft == "empty" else None)
    text = fixtures.DOCKER_28.replace("COMMIT\n*nat", user + "COMMIT\n*nat", 1)
    return from_facts(nftrs, (save(text),))


def test_docker_forward_policy_drops_guests_and_names_the_policy():
    r = evaluate(docker(), pkt())
    assert r.verdict == "drop" and (r.decided_by.base, r.decided_by.end.rule) == ("ip filter FORWARD", "policy")
    assert [p.base for p in r.path] == ["ip nat PREROUTING", "ip filter FORWARD"]  # nat: a new connection
    assert [(s.chain, s.verdict) for s in r.path[1].steps] == [
        ("ip filter FORWARD", "jump DOCKER-USER"), ("ip filter FORWARD", "jump DOCKER-FORWARD"),
        ("ip filter DOCKER-FORWARD", "jump DOCKER-CT"), ("ip filter DOCKER-FORWARD", "jump DOCKER-INTERNAL"),
        ("ip filter DOCKER-FORWARD", "jump DOCKER-BRIDGE"), ("ip filter FORWARD", "drop")]


def test_docker_user_accepts_fix_it_in_both_directions():
    user = ("-A DOCKER-USER -o virbr0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
            "-A DOCKER-USER -i virbr0 -j ACCEPT\n")
    rs = docker(user)
    assert evaluate(rs, pkt()).verdict == "accept"
    assert evaluate(rs, pkt("reply")).verdict == "accept"
    r = evaluate(rs, pkt(iif="virbr1"))
    assert r.verdict == "drop"


def test_without_nft_chain_list_iptables_standard_hooks_are_used():
    assert evaluate(docker(nft="empty"), pkt()).verdict == "drop"
    r = evaluate(docker(nft=False), pkt())  # nft unreadable: other tables could drop too
    assert r.verdict == "unknown" and "nftables ruleset could not be read" in r.reasons[0]


def test_wildcards_multiport_conntrack_reject_and_goto():
    text = """*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:GUESTS - [0:0]
:SVC - [0:0]
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -i virbr+ -g GUESTS
-A INPUT -j REJECT --reject-with icmp-host-prohibited
-A GUESTS -p udp -m multiport --dports 53,67:68 -j ACCEPT
-A GUESTS -p tcp -m tcp --dport 53 -m comment --comment "dns over tcp" -j SVC
-A SVC -m state --state NEW -j ACCEPT
COMMIT
"""
    rs = from_facts(None, (save(text),))
    assert rs.problems  # no nft listing: other tables unknown
    rs = from_facts(ruleset(), (save(text),))
    assert evaluate(rs, pkt("input", proto="udp", dport=67)).verdict == "accept"
    assert evaluate(rs, pkt("input", proto="tcp", dport=53)).verdict == "accept"
    r = evaluate(rs, pkt("input", proto="tcp", dport=22))
    # GUESTS was reached by goto: its end returns to INPUT's caller, i.e. the policy
    assert r.verdict == "drop" and r.decided_by.end.rule == "policy"
    r = evaluate(rs, pkt("input", iif="eth1", proto="tcp", dport=22))
    assert r.verdict == "reject" and r.decided_by.end.rule == "rule 3"


def test_legacy_tables_are_their_own_hooks_at_iptables_priorities():
    legacy = save("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
                  source="legacy")
    libvirt_ok = save("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                      "-A FORWARD -i virbr0 -j ACCEPT\nCOMMIT\n")
    rs = from_facts(ruleset(("ip", "filter", [chain("FORWARD", hook="forward")])), (libvirt_ok, legacy))
    r = evaluate(rs, pkt())
    assert r.verdict == "drop" and r.decided_by.base == "iptables-legacy ip filter FORWARD"
    assert [p.base for p in r.path] == ["ip filter FORWARD", "iptables-legacy ip filter FORWARD"]
    # a legacy mangle rule runs earlier (-150) than filter (0)
    mangle = save("*mangle\n:PREROUTING ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n-A FORWARD -i virbr0 -j DROP\n"
                  "COMMIT\n", source="legacy")
    r = evaluate(from_facts(ruleset(), (mangle, legacy)), pkt())
    assert r.decided_by.base == "iptables-legacy ip mangle FORWARD"


def test_marks_addrtype_and_unmodelled_matches():
    text = """*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -i virbr0 -j MARK --set-xmark 0x10/0xff
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
-A INPUT -m addrtype --dst-type BROADCAST -j ACCEPT
-A INPUT -m mark --mark 0x10/0x10 -j DROP
-A FORWARD -m limit --limit 3/min --limit-burst 10 -j LOG --log-prefix "[X] "
-A FORWARD -m set --match-set blocked dst -j DROP
COMMIT
"""
    rs = from_facts(ruleset(), (save(text),))
    dhcp = pkt("input", proto="udp", dport=67, daddr="255.255.255.255", daddr_type="broadcast")
    assert evaluate(rs, dhcp).verdict == "accept"
    assert evaluate(rs, pkt("input", proto="udp", dport=53, daddr_type="local")).verdict == "drop"
    r = evaluate(rs, pkt())  # the LOG behind a rate limit does not matter; the ipset does
    assert r.verdict == "unknown" and r.reasons == ("match `-m set`",)


def test_unlisted_chain_is_unknown_only_when_its_jump_can_match():
    from vnetmigrate.rules.iptables import IptRule

    from vnetmigrate.rules.iptables_save import IptChain, IptablesSave, IptTable

    fwd = IptChain("ipv4", "filter", "FORWARD", "ACCEPT", (
        IptRule("ipv4", "filter", "FORWARD", 1, ("-o", "docker0", "-j", "DOCKER")),
        IptRule("ipv4", "filter", "FORWARD", 2, ("-j", "KUBE-FORWARD"))))
    chains = (fwd, IptChain("ipv4", "filter", "DOCKER", None, (), listed=False),
              IptChain("ipv4", "filter", "KUBE-FORWARD", None, (), listed=False))
    s = IptablesSave("ipv4", "nft", (IptTable("ipv4", "filter", chains),))
    r = evaluate(from_facts(ruleset(), (s,)), pkt())
    assert r.verdict == "unknown" and r.reasons == ("the rules of ip filter KUBE-FORWARD were not read",)


def test_an_unread_nat_chain_can_neither_drop_nor_reject():
    from vnetmigrate.rules.iptables import IptRule

    from vnetmigrate.rules.iptables_save import IptChain, IptablesSave, IptTable

    pre = IptChain("ipv4", "nat", "PREROUTING", "ACCEPT", (IptRule("ipv4", "nat", "PREROUTING", 1,
                                                                   ("-j", "KUBE-SERVICES")),))
    nat = IptTable("ipv4", "nat", (pre, IptChain("ipv4", "nat", "KUBE-SERVICES", None, (), listed=False)))
    r = evaluate(from_facts(ruleset(), (IptablesSave("ipv4", "nft", (nat,)),)), pkt())
    assert r.verdict == "accept"  # iptables refuses DROP in nat; the kernel REJECT outside filter
