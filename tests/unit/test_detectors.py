"""Detectors of other firewall managers: the case each fires on, stays quiet on, lacks facts for.

Unit states: no systemd runs on the machines these tests run on, so `systemctl show` output is
written here in the shape systemd documents (key=value lines, a blank line between units); the
file-based path (unit symlinks in *.wants) is what scans of other roots use.
"""

import pytest

from vnetmigrate.checks import run_all
from vnetmigrate.evidence import CommandRecord
from vnetmigrate.facts import build
from vnetmigrate.findings import Severity
from tests.unit.builders import DEFAULT_NET, LEFTOVER_IPT, ipt, libvirt_nft, make_evidence, status_xml

NFT = 'firewall_backend = "nftables"\n'
IPT = 'firewall_backend = "iptables"\n'


def scan(files=None, conf=NFT, wants=(), show=None, **kw):
    base = {"/etc/libvirt/network.conf": conf, "/etc/libvirt/qemu/networks/default.xml": DEFAULT_NET,
            "/run/libvirt/network/default.xml": status_xml(backend="nftables" if conf == NFT else "iptables")}
    base.update(files or {})
    kw.setdefault("nft_objects", tuple(libvirt_nft()))
    kw.setdefault("ipv4_save", ipt(LEFTOVER_IPT))
    ev = make_evidence(files=base, **kw)
    ev.listings["/etc/systemd/system/multi-user.target.wants"] = list(wants)
    if show is not None:
        ev.add_command(CommandRecord("systemctl.show", ("systemctl", "show"), 0, stdout=show))
    return build(ev), run_all(build(ev))


def found(outcome, fid):
    return [f for f in outcome.findings if f.id == fid]


# -- ufw ----------------------------------------------------------------------------------------
UFW_ON = {"/etc/ufw/ufw.conf": "# /etc/ufw/ufw.conf\nENABLED=yes\nLOGLEVEL=low\n",
          "/etc/default/ufw": 'IPV6=yes\nDEFAULT_INPUT_POLICY="DROP"\nDEFAULT_OUTPUT_POLICY="ACCEPT"\n'
                              'DEFAULT_FORWARD_POLICY="DROP"\n'}
UFW_ALLOWED = "\n".join([
    "*filter", ":ufw-user-input - [0:0]", ":ufw-user-forward - [0:0]",
    "### tuple ### allow any any 0.0.0.0/0 any 0.0.0.0/0 in_virbr0",
    "-A ufw-user-input -i virbr0 -j ACCEPT",
    "### tuple ### route:allow any any 0.0.0.0/0 any 0.0.0.0/0 in_virbr0",
    "-A ufw-user-forward -i virbr0 -j ACCEPT",
    "### tuple ### route:allow any any 0.0.0.0/0 any 0.0.0.0/0 out_virbr0",
    "-A ufw-user-forward -o virbr0 -j ACCEPT", "COMMIT", ""])


def test_ufw_fires_with_exact_allow_commands_and_file_lines():
    _, out = scan(UFW_ON)
    (f,) = found(out, "ufw-blocks-guests")
    assert f.severity == Severity.BLOCKER and "now" in f.title
    assert f.workarounds[0].commands == ("ufw allow in on virbr0", "ufw route allow in on virbr0",
                                         "ufw route allow out on virbr0")
    assert {e.where for e in f.evidence} >= {"/etc/ufw/ufw.conf:2", "/etc/default/ufw:2", "/etc/default/ufw:4"}


def test_ufw_quiet_when_its_rules_allow_the_bridges_or_backend_stays_iptables():
    _, out = scan({**UFW_ON, "/etc/ufw/user.rules": UFW_ALLOWED})
    assert not found(out, "ufw-blocks-guests")
    _, out = scan(UFW_ON, conf=IPT, ipv4_save=ipt(LEFTOVER_IPT))
    assert not found(out, "ufw-blocks-guests")
    _, out = scan({"/etc/ufw/ufw.conf": "ENABLED=no\n"})
    assert not found(out, "ufw-blocks-guests")


def test_ufw_partial_allow_asks_only_for_what_is_missing():
    rules = "*filter\n:ufw-user-input - [0:0]\n-A ufw-user-input -i virbr0 -j ACCEPT\nCOMMIT\n"
    _, out = scan({**UFW_ON, "/etc/ufw/user.rules": rules})
    (f,) = found(out, "ufw-blocks-guests")
    assert "ufw allow in on virbr0" not in f.workarounds[0].commands
    assert "ufw route allow in on virbr0" in f.workarounds[0].commands


# -- firewalld ---------------------------------------------------------------------------------
ZONE = '<?xml version="1.0" encoding="utf-8"?>\n<zone target="ACCEPT"><short>libvirt</short></zone>\n'
PUBLIC_WITH_BRIDGE = '<zone><short>Public</short><interface name="virbr0"/></zone>\n'


def running_firewalld(**zones):
    files = {"/etc/firewalld/firewalld.conf": "DefaultZone=public\nFirewallBackend=nftables\n"}
    files.update({f"/usr/lib/firewalld/zones/{name}.xml": text for name, text in zones.items()})
    return files


def test_firewalld_without_libvirt_zone_warns():
    facts, out = scan(running_firewalld(public="<zone/>"), show="Id=firewalld.service\nLoadState=loaded\n"
                      "UnitFileState=enabled\nActiveState=active\n")
    assert facts.firewalld.running and facts.firewalld.backend_line == 2
    (f,) = found(out, "firewalld-zones")
    assert f.severity == Severity.WARNING and "no `libvirt` zone" in f.title


def test_firewalld_bridge_in_public_zone_warns_and_libvirt_zone_is_quiet():
    show = "Id=firewalld.service\nLoadState=loaded\nUnitFileState=enabled\nActiveState=active\n"
    _, out = scan(running_firewalld(libvirt=ZONE, public=PUBLIC_WITH_BRIDGE), show=show)
    (f,) = found(out, "firewalld-zones")
    assert "virbr0 in public" in f.title
    assert "firewall-cmd --zone=libvirt --change-interface=virbr0 --permanent" in f.workarounds[0].commands
    _, out = scan(running_firewalld(libvirt=ZONE), show=show)
    assert not found(out, "firewalld-zones")


def test_firewalld_not_running_is_quiet():
    show = "Id=firewalld.service\nLoadState=loaded\nUnitFileState=disabled\nActiveState=inactive\n"
    facts, out = scan(running_firewalld(public="<zone/>"), show=show)
    assert facts.firewalld.running is False and not found(out, "firewalld-zones")


# -- nftables.service ----------------------------------------------------------------------------
DEBIAN_NFT_CONF = """#!/usr/sbin/nft -f

flush ruleset

table inet filter {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t}
\tchain forward {
\t\ttype filter hook forward priority filter; policy drop;
\t}
}
"""


def test_nftables_service_flush_found_with_line():
    _, out = scan({"/etc/nftables.conf": DEBIAN_NFT_CONF}, wants=("nftables.service",))
    (f,) = found(out, "nftables-service-flush")
    assert f.severity == Severity.WARNING
    assert [e.where for e in f.evidence][:3] == ["/etc/nftables.conf:3", "/etc/nftables.conf:7",
                                                 "/etc/nftables.conf:10"]
    assert "/etc/nftables.conf" in f.workarounds[0].commands[0]


def test_nftables_service_quiet_when_disabled_or_without_flush():
    _, out = scan({"/etc/nftables.conf": DEBIAN_NFT_CONF})
    assert not found(out, "nftables-service-flush")
    _, out = scan({"/etc/nftables.conf": DEBIAN_NFT_CONF.replace("flush ruleset", "")},
                  wants=("nftables.service",))
    assert not found(out, "nftables-service-flush")


# -- iptables-services and friends ---------------------------------------------------------------
SYSCONFIG_IPTABLES = """# sample configuration for iptables service
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-host-prohibited
-A FORWARD -j REJECT --reject-with icmp-host-prohibited
COMMIT
"""


def test_iptables_services_stock_rules_are_a_blocker_under_nftables():
    _, out = scan({"/etc/sysconfig/iptables": SYSCONFIG_IPTABLES}, wants=("iptables.service",))
    (f,) = found(out, "iptables-manager-restrictive")
    assert f.severity == Severity.BLOCKER
    assert any(e.where == "/etc/sysconfig/iptables INPUT rule 5" for e in f.evidence)
    assert any(e.where == "/etc/sysconfig/iptables FORWARD rule 1" for e in f.evidence)
    assert f.workarounds[0].commands[-1] == "service iptables save"


def test_iptables_services_under_iptables_backend_only_warns_and_permissive_is_quiet():
    _, out = scan({"/etc/sysconfig/iptables": SYSCONFIG_IPTABLES}, conf=IPT, wants=("iptables.service",))
    assert [f.severity for f in found(out, "iptables-manager-restrictive")] == [Severity.WARNING]
    permissive = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\nCOMMIT\n"
    _, out = scan({"/etc/iptables/rules.v4": permissive}, wants=("netfilter-persistent.service",))
    assert not found(out, "iptables-manager-restrictive")
    _, out = scan({"/etc/sysconfig/iptables": SYSCONFIG_IPTABLES})  # installed, not enabled
    assert not found(out, "iptables-manager-restrictive")


def test_unparsable_saved_rules_are_said_not_hidden():
    _, out = scan({"/etc/sysconfig/iptables": "*filter\n-A INPUT -j ACCEPT\n"}, wants=("iptables.service",))
    (f,) = found(out, "iptables-manager-restrictive")
    assert any("could not be read" in e.detail for e in f.evidence)


# -- port forwards -------------------------------------------------------------------------------
def nat_with_dnat(dest="192.168.122.10:22"):
    return (ipt(LEFTOVER_IPT).replace(":LIBVIRT_PRT - [0:0]\n-A POSTROUTING -j LIBVIRT_PRT\nCOMMIT\n",
                                      ":LIBVIRT_PRT - [0:0]\n:PREROUTING ACCEPT [0:0]\n-A POSTROUTING -j LIBVIRT_PRT\n"
                                      f"-A PREROUTING -i eth0 -p tcp -m tcp --dport 2222 -j DNAT --to-destination {dest}\n"
                                      "COMMIT\n"))


def test_dnat_into_nat_guest_is_a_blocker_with_nft_accept_workaround():
    _, out = scan(ipv4_save=nat_with_dnat())
    (f,) = found(out, "port-forward-nat-guest")
    assert f.severity == Severity.BLOCKER
    assert f.workarounds[0].commands == (
        'nft insert rule ip libvirt_network guest_input oif "virbr0" ip daddr 192.168.122.10 ct status dnat accept',)


def test_dnat_elsewhere_or_iptables_backend_is_quiet():
    _, out = scan(ipv4_save=nat_with_dnat("10.9.9.9:22"))
    assert not found(out, "port-forward-nat-guest")
    _, out = scan(conf=IPT, ipv4_save=nat_with_dnat())
    assert not found(out, "port-forward-nat-guest")


def test_hook_script_with_iptables_warns():
    hook = "#!/bin/sh\nif [ \"$2\" = start ]; then\n  iptables -I FORWARD -o virbr0 -d 192.168.122.10 -j ACCEPT\nfi\n"
    _, out = scan({"/etc/libvirt/hooks/qemu": hook})
    (f,) = found(out, "port-forward-nat-guest")
    assert f.severity == Severity.WARNING and f.evidence[0].where == "/etc/libvirt/hooks/qemu:3"


# -- containers, nwfilter, forwarding, legacy -----------------------------------------------------
def test_podman_and_kube_proxy_are_named_for_the_matrix():
    netavark = ({"table": {"family": "inet", "name": "netavark"}},
                {"chain": {"family": "inet", "table": "netavark", "name": "FORWARD", "handle": 1,
                           "type": "filter", "hook": "forward", "prio": 0, "policy": "accept"}})
    facts, out = scan({"/etc/containers/containers.conf": '[network]\nfirewall_driver = "nftables"\n'},
                      nft_objects=tuple(libvirt_nft()) + netavark)
    (f,) = found(out, "container-firewall")
    assert f.severity == Severity.INFO and "podman" in f.title
    assert ("podman", "nftables") in [(t.tool, t.userspace) for t in __import__(
        "vnetmigrate.matrix", fromlist=["x"]).classify(facts).after.tools]


def test_nwfilter_in_use_is_said():
    dom = "<domain><name>vm</name><devices><interface type='network'><filterref filter='clean-traffic'/>" \
          "</interface></devices></domain>"
    _, out = scan({"/etc/libvirt/qemu/vm.xml": dom})
    (f,) = found(out, "nwfilter-needs-iptables")
    assert f.evidence[0].detail == "filterref clean-traffic"
    _, out = scan()
    assert not found(out, "nwfilter-needs-iptables")


@pytest.mark.parametrize("forward, expected", [("0\n", True), ("1\n", False)])
def test_ip_forwarding_off_with_active_nat_network(forward, expected):
    _, out = scan({"/proc/sys/net/ipv4/ip_forward": forward})
    assert bool(found(out, "ip-forwarding-off")) is expected


def test_legacy_tables_beside_nftables_warn():
    facts, out = scan({"/proc/net/ip_tables_names": "filter\n"},
                      commands={"legacy.ipv4.filter": "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\nCOMMIT\n"})
    (f,) = found(out, "legacy-xtables-in-use")
    assert any("policy DROP" in e.detail for e in f.evidence)
    _, out = scan()
    assert not found(out, "legacy-xtables-in-use")
