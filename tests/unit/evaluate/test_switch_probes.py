"""The probes a host's facts give, and the ruleset after a simulated backend switch."""

import dataclasses

from vnetmigrate.evaluate import after_switch, evaluate, host_probes, of_facts
from vnetmigrate.evaluate.switch import libvirt_tables
from vnetmigrate.facts import build
from tests.unit.builders import DEFAULT_NET, LIBVIRT_IPT, ipt, make_evidence, status_xml

MASQ = "-A LIBVIRT_PRT -s 192.168.122.0/24 ! -d 192.168.122.0/24 -j MASQUERADE\n"
DNAT = "-A PREROUTING -p tcp -m tcp --dport 2222 -j DNAT --to-destination 192.168.122.10:22\n"


def with_dnat(save):
    return save.replace(MASQ, DNAT + MASQ)


def facts(save=None, conf=None, version="9.0.0"):
    files = {"/etc/libvirt/qemu/networks/default.xml": DEFAULT_NET,
             "/run/libvirt/network/default.xml": status_xml(backend="iptables")}
    if conf:
        files["/etc/libvirt/network.conf"] = conf
    return build(make_evidence(files=files, ipv4_save=save or ipt(LIBVIRT_IPT), libvirt_version=version))


def by_kind(probes):
    return {p.kind: p for p in probes}


def test_probes_of_an_active_nat_network():
    f = facts(with_dnat(ipt(LIBVIRT_IPT)))
    probes = by_kind(host_probes(f))
    assert set(probes) == {"dhcp", "dns-udp", "dns-tcp", "forward-tcp", "reply-tcp", "forward-udp", "reply-udp",
                           "forward-icmp", "reply-icmp", "port-forward"}
    dhcp = probes["dhcp"].packet
    assert (dhcp.hooks, str(dhcp.daddr), dhcp.dport, dhcp.pkttype) == (("prerouting", "input"), "255.255.255.255",
                                                                        (67, 67), "broadcast")
    out, back = probes["forward-tcp"].packet, probes["reply-tcp"].packet
    assert out.iif.name == "virbr0" and out.oif.name is None and "virbr0" in out.oif.no
    assert back.ct_state == "established" and back.ct_status["snat"] is True
    pf = probes["port-forward"].packet
    assert (str(pf.daddr), pf.dport, pf.ct_status["dnat"]) == ("192.168.122.10", (22, 22), True)
    assert probes["port-forward"].direction == "dnat" and probes["dns-tcp"].direction == "in"


def test_after_the_switch_libvirt_iptables_rules_are_gone_and_its_nft_tables_come_from_the_model():
    f = facts(ipt(LIBVIRT_IPT, policy="DROP"))
    rs = of_facts(f)
    probes = by_kind(host_probes(f))
    assert evaluate(rs, probes["forward-tcp"].packet).verdict == "accept"  # LIBVIRT_FWO accepts first, today
    tables = libvirt_tables(f)
    assert any(c.get("add", {}).get("table", {}).get("name") == "libvirt_network" for c in tables)
    after = after_switch(rs, tables)
    assert after.libvirt_modelled and "ip filter LIBVIRT_FWO" in after.removed
    r = evaluate(after.ruleset, probes["forward-tcp"].packet)
    assert r.verdict == "drop" and r.decided_by.base == "ip filter FORWARD"
    # libvirt's own table is there, and accepts: it cannot override the filter policy
    assert after.ruleset.lookup(("nft", "ip", "libvirt_network"), "guest_output").rules
    assert {b.base for b in r.blockers} == {"ip filter FORWARD"}


def test_the_models_table_rejects_new_connections_into_guests_after_the_switch():
    f = facts(with_dnat(ipt(LIBVIRT_IPT)))
    pf = by_kind(host_probes(f))["port-forward"]
    rs = of_facts(f)
    assert evaluate(rs, pf.packet).verdict == "reject"  # today: LIBVIRT_FWI's reject (no ACCEPT before it)
    after = after_switch(rs, libvirt_tables(f)).ruleset
    r = evaluate(after, pf.packet)
    assert r.verdict == "reject" and r.decided_by.end.chain == "ip libvirt_network guest_input"


def test_without_model_facts_the_switch_is_simulated_without_libvirts_tables():
    f = dataclasses.replace(facts(), ownership=None)
    assert libvirt_tables(f) is None
    after = after_switch(of_facts(f), None)
    assert not after.libvirt_modelled
    assert evaluate(after.ruleset, by_kind(host_probes(f))["forward-tcp"].packet).verdict == "accept"
