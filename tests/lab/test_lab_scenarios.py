"""The lab proves itself with packets: NAT only through the host, each libvirt backend, Docker.

Expected failures use a short timeout: a dropped packet costs exactly that long.
"""

from __future__ import annotations

import pytest

from tests.sandbox import fixtures
from tests.sandbox.topology import UPLINK_HOST_IP, LabNetwork

pytestmark = pytest.mark.lab
LOST = 0.25  # seconds to wait for a packet we expect to be dropped


def load_libvirt_iptables(lab, networks=None) -> None:
    pairs = [n.pair for n in networks or lab.networks]
    lab.iptables_restore(fixtures.libvirt_iptables_v4(pairs))
    lab.iptables_restore(fixtures.libvirt_iptables_v6(), family=6)


def load_libvirt_nftables(lab, networks=None) -> None:
    lab.nft(fixtures.libvirt_nftables([n.pair for n in networks or lab.networks]))


def assert_nat_works(lab, guest=0) -> None:
    for probe in (lab.ping(guest=guest), lab.tcp(guest=guest), lab.udp(guest=guest)):
        assert probe.ok, probe
    tcp = lab.tcp(guest=guest)
    assert tcp.seen_as and tcp.seen_as.split(":")[0] == UPLINK_HOST_IP, tcp  # masqueraded


def assert_guest_cut_off(lab, guest=0) -> None:
    for probe in (lab.ping(guest=guest, timeout=LOST), lab.tcp(guest=guest, timeout=LOST)):
        assert not probe.ok, probe


def test_without_rules_guest_has_no_nat_but_host_reaches_guest(lab):
    # Forwarding is on and nothing filters: packets reach wan un-NATed and wan cannot answer.
    for probe in (lab.ping(timeout=LOST), lab.tcp(timeout=LOST), lab.udp(timeout=LOST)):
        assert not probe.ok and "no answer" in probe.detail, probe
    ssh = lab.ssh()
    assert ssh.ok, ssh
    assert ssh.seen_as.startswith("192.168.122.1:"), ssh


def test_libvirt_iptables_backend_gives_guests_nat(lab):
    load_libvirt_iptables(lab)
    assert_nat_works(lab)
    assert lab.ssh().ok
    assert "-A LIBVIRT_PRT -o virbr0 -p udp -m udp --dport 68 -j CHECKSUM --checksum-fill" in lab.iptables_save()


def test_libvirt_nftables_backend_gives_guests_nat(lab):
    load_libvirt_nftables(lab)
    assert_nat_works(lab)
    assert lab.ssh().ok
    tables = {t["table"]["family"] + " " + t["table"]["name"]
              for t in lab.ruleset()["nftables"] if "table" in t}
    assert tables == {"ip libvirt_network", "ip6 libvirt_network"}


def test_libvirt_nftables_tables_load_as_libnftables_json(lab):
    load_libvirt_nftables(lab)
    doc = lab.ruleset()  # counters stripped: a loadable document
    lab.nft("flush ruleset")
    assert_guest_cut_off(lab)
    commands = [{"add": item} for item in doc["nftables"] if "metainfo" not in item]
    lab.nft_json({"nftables": commands})
    assert_nat_works(lab)


def test_libvirt_rules_with_legacy_iptables(lab):
    lab.iptables_restore(fixtures.libvirt_iptables_v4(), legacy=True)
    assert_nat_works(lab)
    from tests.sandbox import rules

    assert rules.legacy_tables(lab.host)["ip_tables_names"] == ["filter", "mangle", "nat"]


@pytest.mark.parametrize("docker", [fixtures.DOCKER_28, fixtures.DOCKER_28_0], ids=["docker28", "docker28.0"])
@pytest.mark.parametrize("docker_first", [True, False], ids=["docker-first", "libvirt-first"])
def test_nftables_backend_and_docker_forward_drop_cut_guests_off(lab, docker, docker_first):
    for load in ((lambda: lab.iptables_restore(docker)), (lambda: load_libvirt_nftables(lab)))[::1 if docker_first else -1]:
        load()
    assert_guest_cut_off(lab)
    assert lab.ssh().ok  # host -> guest is not forwarded: unaffected
    with lab.trace() as t:
        lab.ping(timeout=LOST)
    trace = t.result
    assert trace.verdict == "drop", trace.lines
    assert trace.decided_by.where == "ip filter FORWARD", trace.decided_by
    assert trace.decided_by.kind == "policy", trace.decided_by
    # Equal-priority base chains run newest first. When libvirt's table came last it sees
    # the packet first and accepts it, and the drop still wins: accept ends only its own
    # base chain. When it came first, the drop ends the packet before libvirt's chain runs.
    libvirt = trace.first.end_in("ip libvirt_network forward")
    if docker_first:
        assert libvirt is not None and libvirt.verdict == "accept", trace.lines
    else:
        assert libvirt is None, trace.lines

    for argv in fixtures.DOCKER_USER_WORKAROUND:  # docs/other-firewalls.md §2, workaround 1
        lab.iptables(*argv)
    assert_nat_works(lab)
    with lab.trace() as t:
        assert lab.ping().ok
    assert t.result.verdict == "accept", t.result.lines


def test_iptables_backend_survives_docker_forward_drop(lab):
    load_libvirt_iptables(lab)
    lab.iptables_restore(fixtures.DOCKER_28)
    assert "-P FORWARD DROP" in lab.iptables("-S", "FORWARD").stdout
    assert_nat_works(lab)
    with lab.trace() as t:
        lab.tcp()
    assert t.result.verdict == "accept"
    # Same table, same chain: libvirt's ACCEPT (reached before the policy) decides.
    forward = t.result.first.end_in("ip filter FORWARD")
    assert forward.chain == "LIBVIRT_FWO" and forward.verdict == "accept", t.result.lines


TWO = [LabNetwork(), LabNetwork("second", "virbr1", "192.168.100.0/24")]


@pytest.mark.parametrize("lab", [{"networks": TWO}], indirect=True)
@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_two_networks_each_guest_nat_and_libvirt_isolation(lab, backend):
    (load_libvirt_iptables if backend == "iptables" else load_libvirt_nftables)(lab)
    for guest in (0, 1):
        assert_nat_works(lab, guest)
        assert lab.ssh(guest).ok
    # A new connection into another NAT network hits libvirt's reject (FWI / guest_input).
    cross = lab.tcp(dst=lab.guest(1).ip, port=22, guest=0)
    assert not cross.ok and "refused" in cross.detail, cross
