"""input-forward-drop on builders-made facts: fires, stays quiet, defers to specific findings,
says what it cannot decide, and is skipped when its facts are missing."""

from vnetmigrate.checks import run_all
from vnetmigrate.facts import build
from vnetmigrate.findings import Severity
from tests.unit.builders import DEFAULT_NET, EMPTY_SAVE, LEFTOVER_IPT, LIBVIRT_IPT, ipt, make_evidence, status_xml
from tests.unit.test_checks import fail

NFT_CONF = 'firewall_backend = "nftables"\n'


def _m(key, value, op="=="):
    return {"match": {"op": op, "left": {"meta": {"key": key}}, "right": value}}


def _p(proto, field, value, op="=="):
    return {"match": {"op": op, "left": {"payload": {"protocol": proto, "field": field}}, "right": value}}


def _objects(family, table, chains):
    out = [{"table": {"family": family, "name": table, "handle": 1}}]
    for name, base, rules in chains:
        out.append({"chain": {"family": family, "table": table, "name": name, "handle": 1, **base}})
        out += [{"rule": {"family": family, "table": table, "chain": name, "handle": 10 + i, "expr": expr}}
                for i, expr in enumerate(rules)]
    return out


SUBNET = {"prefix": {"addr": "192.168.122.0", "len": 24}}
ESTABLISHED = {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}
LIBVIRT = _objects("ip", "libvirt_network", [
    ("forward", {"type": "filter", "hook": "forward", "prio": 0, "policy": "accept"},
     [[{"jump": {"target": "guest_cross"}}], [{"jump": {"target": "guest_input"}}],
      [{"jump": {"target": "guest_output"}}]]),
    ("guest_output", {}, [[_p("ip", "saddr", SUBNET), _m("iif", "virbr0"), {"accept": None}],
                          [_m("iif", "virbr0"), {"reject": None}]]),
    ("guest_input", {}, [[_m("oif", "virbr0"), _p("ip", "daddr", SUBNET), ESTABLISHED, {"accept": None}],
                         [_m("oif", "virbr0"), {"reject": None}]]),
    ("guest_cross", {}, [[_m("iif", "virbr0"), _m("oif", "virbr0"), {"accept": None}]]),
    ("guest_nat", {"type": "nat", "hook": "postrouting", "prio": 100, "policy": "accept"},
     [[_p("ip", "saddr", SUBNET), {"masquerade": None}]]),
])
DROPPING = [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}},
            {"accept": None}]
INET_FILTER = _objects("inet", "filter", [
    ("input", {"type": "filter", "hook": "input", "prio": 0, "policy": "drop"}, [DROPPING, [_m("iif", "lo"),
                                                                                       {"accept": None}]]),
    ("forward", {"type": "filter", "hook": "forward", "prio": 0, "policy": "drop"}, []),
])


def host(conf=NFT_CONF, backend="nftables", nft=(), ipv4=EMPTY_SAVE, version="11.3.0", files=None):
    f = {"/etc/libvirt/qemu/networks/default.xml": DEFAULT_NET,
         "/run/libvirt/network/default.xml": status_xml(backend=backend), **(files or {})}
    if conf:
        f["/etc/libvirt/network.conf"] = conf
    return make_evidence(files=f, nft_objects=tuple(nft), ipv4_save=ipv4, libvirt_version=version)


def find(ev):
    out = run_all(build(ev))
    assert not out.errors, out.errors
    return next((f for f in out.findings if f.id == "input-forward-drop"), None), out


def test_native_table_dropping_input_and_forward_is_a_blocker_with_exact_commands():
    f, _ = find(host(nft=LIBVIRT + INET_FILTER))
    assert f.severity == Severity.BLOCKER and f.title.startswith("inet filter input, inet filter forward drop")
    assert "now" in f.title
    where = {e.where for e in f.evidence}
    assert {"inet filter input policy", "inet filter forward policy"} <= where
    probes = " ".join(e.detail for e in f.evidence if e.kind == "probe")
    assert "dhcp" in probes and "dns-udp" in probes and "forward-tcp" in probes and "reply-tcp" in probes
    assert f.workarounds[0].commands == (
        """nft 'insert rule inet filter input iifname "virbr0" tcp dport 53 accept'""",
        """nft 'insert rule inet filter input iifname "virbr0" udp dport { 53, 67 } accept'""",
        """nft 'insert rule inet filter forward iifname "virbr0" accept'""",
        """nft 'insert rule inet filter forward oifname "virbr0" ct state established,related accept'""")
    assert len(f.workarounds) == 1  # the iptables backend would not help: the table drops either way


def test_the_accepts_of_the_fix_make_every_probe_pass():
    fixed = [dict(o) for o in INET_FILTER]
    ins = [[_m("iifname", "virbr0"), _p("udp", "dport", {"set": [53, 67]}), {"accept": None}],
           [_m("iifname", "virbr0"), _p("tcp", "dport", 53), {"accept": None}]]
    fwd = [[_m("iifname", "virbr0"), {"accept": None}],
           [_m("oifname", "virbr0"), ESTABLISHED, {"accept": None}]]
    fixed += [{"rule": {"family": "inet", "table": "filter", "chain": c, "handle": 50 + i, "expr": e}}
              for c, rules in (("input", ins), ("forward", fwd)) for i, e in enumerate(rules)]
    f, _ = find(host(nft=LIBVIRT + fixed))
    assert f is None


def test_drop_only_after_the_switch_offers_keeping_the_iptables_backend():
    # libvirt's iptables rules sit ahead of a final REJECT in the same FORWARD chain: fine today.
    save = ipt(LIBVIRT_IPT).replace("-A OUTPUT -j LIBVIRT_OUT\n",
                                    "-A FORWARD -j REJECT --reject-with icmp-host-prohibited\n"
                                    "-A OUTPUT -j LIBVIRT_OUT\n")
    f, _ = find(host(conf=None, backend="iptables", ipv4=save, version="9.0.0"))
    assert f.severity == Severity.BLOCKER and f.title.endswith("after the switch"), f.title
    assert f.workarounds[0].commands == (
        "iptables-nft -I FORWARD -i virbr0 -j ACCEPT",
        "iptables-nft -I FORWARD -o virbr0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
    assert "iptables backend" in f.workarounds[1].hint


def test_quiet_when_only_libvirt_filters():
    f, _ = find(host(nft=LIBVIRT))
    assert f is None


def test_docker_drop_is_left_to_docker_forward_drop():
    docker = ipt(LEFTOVER_IPT, policy="DROP", docker=True)
    ev = host(nft=LIBVIRT, ipv4=docker, files={"/etc/docker/daemon.json": "{}"})
    f, out = find(ev)
    assert f.severity == Severity.INFO and "docker-forward-drop" in f.title and not f.workarounds
    assert any(x.id == "docker-forward-drop" and x.severity == Severity.BLOCKER for x in out.findings)


def test_undecidable_drop_is_a_warning_with_the_reason():
    blocklist = _objects("inet", "t", [("forward", {"type": "filter", "hook": "forward", "prio": 0,
                                                    "policy": "accept"},
                                        [[_p("ip", "daddr", "@blocklist"), {"drop": None}]])])
    f, _ = find(host(nft=LIBVIRT + blocklist))
    assert f.severity == Severity.WARNING
    assert any("@blocklist" in e.detail for e in f.evidence)


def test_skipped_without_the_nftables_ruleset():
    ev = host(nft=LIBVIRT + INET_FILTER)
    fail(ev, "nft.chains")
    out = run_all(build(ev))
    assert any(s["check"] == "input-forward-drop" and "nft" in s["reason"] for s in out.skipped)


def test_quiet_without_active_networks():
    ev = make_evidence(files={"/etc/libvirt/qemu/networks/default.xml": DEFAULT_NET,
                              "/etc/libvirt/network.conf": NFT_CONF}, nft_objects=tuple(INET_FILTER))
    assert find(ev)[0] is None


def test_libvirts_own_reject_of_a_port_forward_after_the_switch_is_left_to_port_forward_nat_guest():
    masq = "-A LIBVIRT_PRT -s 192.168.122.0/24 ! -d 192.168.122.0/24 -j MASQUERADE\n"
    save = ipt(LIBVIRT_IPT).replace(masq, "-A PREROUTING -p tcp -m tcp --dport 2222 -j DNAT --to-destination "
                                          "192.168.122.10:22\n" + masq)
    save = save.replace("-A FORWARD -j LIBVIRT_FWX\n", "-A FORWARD -d 192.168.122.10/32 -o virbr0 -p tcp -m tcp "
                                                        "--dport 22 -j ACCEPT\n-A FORWARD -j LIBVIRT_FWX\n")
    f, out = find(host(conf=None, backend="iptables", ipv4=save, version="9.0.0"))
    assert f.severity == Severity.INFO and "port-forward-nat-guest" in f.title, f
    assert any(e.where == "after the switch" and "libvirt model" in e.detail for e in f.evidence)
    pf = next(x for x in out.findings if x.id == "port-forward-nat-guest")
    assert pf.severity == Severity.BLOCKER
