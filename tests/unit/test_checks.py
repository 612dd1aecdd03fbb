"""Every check: the case it fires on, the case it stays quiet on, the case its facts are missing."""

import pytest

from vnetmigrate.checks import all_checks, run_all
from vnetmigrate.evidence import CommandRecord
from vnetmigrate.facts import build
from vnetmigrate.findings import Severity
from vnetmigrate.scan import analyse
from tests.unit.builders import (DEBIAN_13, DEFAULT_NET, LEFTOVER_IPT, LIBVIRT_IPT, ipt, libvirt_nft,
                                 make_evidence, status_xml)

NFT_CONF = 'firewall_backend = "nftables"\n'
IPT_CONF = 'firewall_backend = "iptables"\n'


def ids(ev, severity=None):
    out = run_all(build(ev))
    return {f.id for f in out.findings if severity is None or f.severity == severity}


def libvirt_files(conf=None, backend="iptables", active=True):
    files = {"/etc/libvirt/qemu/networks/default.xml": DEFAULT_NET}
    if conf is not None:
        files["/etc/libvirt/network.conf"] = conf
    if active:
        files["/run/libvirt/network/default.xml"] = status_xml(backend=backend)
    return files


def host(conf=None, backend="iptables", policy="ACCEPT", docker=False, leftover=False, nft=False,
         ipt_rules=True, **kw):
    ipv4 = ipt(LEFTOVER_IPT if leftover else LIBVIRT_IPT, policy=policy, docker=docker) if ipt_rules or leftover \
        else None
    args = dict(files=libvirt_files(conf, backend), nft_objects=tuple(libvirt_nft()) if nft else ())
    if ipv4 is not None:
        args["ipv4_save"] = ipv4
    args.update(kw)
    return make_evidence(**args)


def fail(ev, key):
    rec = ev.commands[key]
    ev.commands[key] = CommandRecord(rec.key, rec.argv, 1, stderr="Permission denied (you must be root)")


# -- the registry itself ---------------------------------------------------------------
def test_registry_conformance():
    checks = all_checks()
    assert len({c.id for c in checks}) == len(checks)
    for c in checks:
        assert c.title and c.severity in Severity and c.needs
        assert c.module.startswith("vnetmigrate.checks.")


def test_every_check_is_skipped_and_says_why_when_its_facts_are_missing():
    import dataclasses

    from vnetmigrate.checks.registry import run

    full = build(host(NFT_CONF, backend="nftables", policy="DROP", docker=True, leftover=True, nft=True))
    for c in all_checks():
        facts = dataclasses.replace(full, **{c.needs[0]: None})
        out = run(facts, [c])
        assert not out.findings and not out.errors
        assert out.skipped == ({"check": c.id, "reason": f"facts missing: {c.needs[0]}"},)


def test_every_check_has_tests_that_name_it():
    from pathlib import Path

    text = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    missing = [c.id for c in all_checks() if f'"{c.id}"' not in text]
    assert not missing, f"checks without unit tests: {missing}"


# -- docker-forward-drop ---------------------------------------------------------------
def test_docker_drop_with_nftables_backend_is_a_blocker_with_docker_user_workaround_first():
    ev = host(NFT_CONF, backend="nftables", policy="DROP", docker=True, leftover=True, nft=True)
    finding = next(f for f in run_all(build(ev)).findings if f.id == "docker-forward-drop")
    assert finding.severity == Severity.BLOCKER and "now" in finding.title
    first = finding.workarounds[0]
    assert first.commands == ("iptables-nft -I DOCKER-USER -i virbr0 -j ACCEPT",
                              "iptables-nft -I DOCKER-USER -o virbr0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
    assert any("ip filter FORWARD" == e.where and "DROP" in e.detail for e in finding.evidence)


def test_docker_drop_blocks_the_upgrade_when_backend_would_switch():
    ev = host(None, policy="DROP", docker=True, libvirt_version="9.0.0")  # iptables now, nftables after
    finding = next(f for f in run_all(build(ev)).findings if f.id == "docker-forward-drop")
    assert "after the switch" in finding.title


def test_docker_drop_quiet_when_backend_stays_iptables():
    assert "docker-forward-drop" not in ids(host(IPT_CONF, policy="DROP", docker=True))


def test_docker_drop_quiet_without_drop_policy():
    assert "docker-forward-drop" not in ids(host(NFT_CONF, backend="nftables", docker=True, leftover=True, nft=True))


def test_docker_drop_skipped_when_iptables_facts_missing():
    ev = host(NFT_CONF, backend="nftables", policy="DROP", docker=True)
    fail(ev, "ipt.ipv4.0")  # the first chain iptables-nft listed
    out = run_all(build(ev))
    assert any(s["check"] == "docker-forward-drop" and "iptables" in s["reason"] for s in out.skipped)


# -- libvirt-leftover-chains -----------------------------------------------------------
def test_leftover_chains_after_switch_with_exact_removal_commands():
    ev = host(NFT_CONF, backend="nftables", leftover=True, nft=True)
    finding = next(f for f in run_all(build(ev)).findings if f.id == "libvirt-leftover-chains")
    cmds = finding.workarounds[0].commands
    assert "iptables-nft -t filter -D INPUT -j LIBVIRT_INP" in cmds
    assert cmds.index("iptables-nft -t filter -D FORWARD -j LIBVIRT_FWI") < cmds.index(
        "iptables-nft -t filter -X LIBVIRT_FWI")
    assert "iptables-nft -t mangle -X LIBVIRT_PRT" in cmds and "iptables-nft -t nat -X LIBVIRT_PRT" in cmds
    assert len(finding.evidence) == 7


def test_leftover_quiet_under_iptables_backend():
    ev = host(IPT_CONF, leftover=True)  # empty chains, but iptables is the backend: libvirt's own
    assert "libvirt-leftover-chains" not in ids(ev)


def test_leftover_skipped_without_libvirt_rules_facts():
    ev = host(NFT_CONF, backend="nftables", leftover=True)
    for key in ("ipt.ipv4.0", "nft.chains"):
        fail(ev, key)
    assert any(s["check"] == "libvirt-leftover-chains" for s in run_all(build(ev)).skipped)


# -- rules presence --------------------------------------------------------------------
def test_rules_in_both_backends():
    ev = host(NFT_CONF, backend="nftables", nft=True)
    assert "libvirt-rules-both-backends" in ids(ev, Severity.WARNING)


def test_active_network_without_rules_is_a_blocker():
    ev = host(NFT_CONF, backend="nftables", leftover=True)  # switched, but no nft table: silent failure
    finding = next(f for f in run_all(build(ev)).findings if f.id == "libvirt-rules-missing")
    assert finding.severity == Severity.BLOCKER and "default (virbr0)" in finding.title


def test_rules_presence_quiet_on_healthy_hosts():
    for ev in (host(IPT_CONF), host(NFT_CONF, backend="nftables", leftover=True, nft=True)):
        found = ids(ev)
        assert "libvirt-rules-missing" not in found and "libvirt-rules-both-backends" not in found


def test_inactive_network_needs_no_rules():
    ev = make_evidence(files=libvirt_files(NFT_CONF, active=False))
    assert "libvirt-rules-missing" not in ids(ev)


# -- backend ---------------------------------------------------------------------------
@pytest.mark.parametrize("conf, os_release, version, tools, expected", [
    (NFT_CONF, None, "11.3.0", None, ("nftables", False)),
    (IPT_CONF, None, "11.3.0", None, ("iptables", False)),
    (None, None, "11.3.0", None, ("nftables", False)),           # Fedora 41: nftables first
    (None, DEBIAN_13, "11.3.0", None, ("iptables", False)),      # Debian 13: iptables first (seen)
    (None, None, "9.0.0", None, ("iptables", False)),            # no nftables backend before 10.4
    (None, None, "11.3.0", ("iptables",), ("iptables", False)),  # nft missing: the next in priority
    (NFT_CONF, None, "11.3.0", ("iptables",), (None, False)),    # configured but unavailable
])
def test_effective_backend(conf, os_release, version, tools, expected):
    files = libvirt_files(conf)
    if os_release:
        files["/etc/os-release"] = os_release
    kw = {"tools": tools} if tools else {}
    facts = build(make_evidence(files=files, libvirt_version=version, **kw))
    assert (facts.libvirt.effective.backend, facts.libvirt.effective.assumption) == expected


def test_configured_backend_has_its_line():
    facts = build(make_evidence(files=libvirt_files("# pinned\n\nfirewall_backend = \"iptables\"\n")))
    assert (facts.libvirt.configured_backend, facts.libvirt.configured_line) == ("iptables", 3)


def test_switch_on_upgrade_warns_only_when_unset():
    assert "backend-switch-on-upgrade" in ids(make_evidence(files=libvirt_files(), libvirt_version="9.0.0"))
    assert "backend-switch-on-upgrade" not in ids(make_evidence(files=libvirt_files(IPT_CONF),
                                                                libvirt_version="9.0.0"))


def test_unavailable_backend_is_a_blocker():
    ev = make_evidence(files=libvirt_files(NFT_CONF), tools=("iptables", "iptables-nft-save"))
    assert "backend-unavailable" in ids(ev, Severity.BLOCKER)


def test_malformed_network_conf_is_a_blocker_and_the_rest_still_runs():
    ev = host('# pinned\nfirewall_backend = nftables\n')
    facts = build(ev)
    assert facts.libvirt is not None and facts.libvirt.configured_backend is None
    (f,) = [f for f in run_all(facts).findings if f.id == "network-conf-invalid"]
    assert f.severity == Severity.BLOCKER and f.evidence[0].where == "/etc/libvirt/network.conf:2"
    assert "must be a quoted string" in f.evidence[0].detail
    assert "network-conf-invalid" not in ids(host(IPT_CONF))


def test_no_libvirt_no_libvirt_findings():
    ev = make_evidence(libvirt_version=None)
    found = ids(ev)
    assert not {"backend-effective", "backend-switch-on-upgrade", "libvirt-rules-missing"} & found


def test_nft_binding_fallback_is_said():
    ev = make_evidence()
    ev.meta["nft_via"] = "exec"
    assert "nft-binding-missing" in ids(ev, Severity.INFO)
    ev.meta["nft_via"] = "libnftables"
    assert "nft-binding-missing" not in ids(ev)


# -- the model's classification on recorded real switches --------------------------------------
def recorded_host(combo: str, when: str, conf: str, drop_status=(), extra_ipt: str = "") -> object:
    """Evidence of a host as libvirt 11.3 left it in a recorded switch scenario."""
    import json as _json

    from tests.unit.builders import DATA, RECORDED

    base = RECORDED / combo / when
    files = {"/etc/libvirt/network.conf": conf}
    for status in sorted((base / "status").glob("*.xml")):
        files[f"/etc/libvirt/qemu/networks/{status.name}"] = (DATA / "networks" / status.name).read_text()
        if status.stem not in drop_status:
            files[f"/run/libvirt/network/{status.name}"] = status.read_text()
    nft = [o for o in _json.loads((base / "nft-ruleset.json").read_text())["nftables"] if "metainfo" not in o]
    v4 = (base / "iptables-save.txt").read_text()
    if extra_ipt:
        v4 = v4.replace("COMMIT\n", extra_ipt + "COMMIT\n", 2).replace(extra_ipt + "COMMIT\n", "COMMIT\n", 1)
    return make_evidence(files=files, nft_objects=tuple(nft), ipv4_save=v4,
                         ipv6_save=(base / "ip6tables-save.txt").read_text())


def test_switch_back_leaves_emptied_libvirt_network_tables():
    ev = recorded_host("11.3-switch-back", "after", 'firewall_backend = "iptables"\n')
    out = run_all(build(ev))
    (f,) = [f for f in out.findings if f.id == "libvirt-leftover-rules"]
    assert {e.where for e in f.evidence} == {"ip libvirt_network", "ip6 libvirt_network"}
    assert f.workarounds[0].commands == ("nft delete table ip libvirt_network", "nft delete table ip6 libvirt_network")
    assert not [f for f in out.findings if f.id in ("libvirt-rules-missing", "libvirt-unexpected-rules")]


def test_switch_to_nftables_is_clean_apart_from_the_empty_chains():
    ev = recorded_host("11.3-switch", "after", NFT_CONF)
    found = {f.id: f for f in run_all(build(ev)).findings}
    assert "libvirt-leftover-chains" in found
    assert not {"libvirt-rules-missing", "libvirt-unexpected-rules", "libvirt-leftover-rules"} & set(found)


def test_rules_of_a_network_that_is_no_longer_active_are_leftovers():
    ev = recorded_host("11.3-switch-back", "after", 'firewall_backend = "iptables"\n', drop_status=("route",))
    (f,) = [f for f in run_all(build(ev)).findings if f.id == "libvirt-leftover-rules"]
    route_rules = [c for c in f.workarounds[0].commands if "-D LIBVIRT_" in c]
    assert route_rules and all(c.startswith("iptables-nft -t ") or c.startswith("ip6tables-nft -t ")
                               for c in route_rules)


def test_a_rule_added_inside_libvirts_chain_is_unexpected():
    extra = "-A LIBVIRT_FWI -d 192.168.122.10/32 -o virbr0 -p tcp -m tcp --dport 22 -j ACCEPT\n"
    ev = recorded_host("11.3-switch-back", "after", 'firewall_backend = "iptables"\n', extra_ipt=extra)
    (f,) = [f for f in run_all(build(ev)).findings if f.id == "libvirt-unexpected-rules"]
    assert any("--dport 22" in e.detail for e in f.evidence)


def test_silent_switch_failure_names_the_network_and_its_missing_rules():
    ev = recorded_host("11.3-switch-no-act-csum", "after", NFT_CONF)
    out = run_all(build(ev))
    missing = [f for f in out.findings if f.id == "libvirt-rules-missing"]
    assert missing and all(f.severity == Severity.BLOCKER for f in missing)
    assert any("Network default (virbr0)" in f.title for f in missing)
    assert any("masquerade" in e.detail for f in missing for e in f.evidence)


# -- nftables-prerequisites ---------------------------------------------------------------------
CONFIG = "CONFIG_NF_TABLES=y\nCONFIG_NET_CLS_U32=y\nCONFIG_NET_SCH_HTB=m\n"


def kernel_host(config: str | None, sched=(), **kw):
    ev = host(NFT_CONF, backend="nftables", leftover=True, nft=True, **kw)
    ev.meta["kernel_release"] = "6.18.0"
    ev.add_file(__import__("vnetmigrate.evidence", fromlist=["x"]).FileRecord(
        "/proc/config.gz", config, None if config is not None else "absent"))
    ev.listings["/lib/modules/6.18.0/kernel/net/sched"] = list(sched)
    return ev


def test_kernel_without_act_csum_is_a_blocker_for_libvirt_11():
    ev = kernel_host(CONFIG + "# CONFIG_NET_ACT_CSUM is not set\n")
    (f,) = [f for f in run_all(build(ev)).findings if f.id == "nftables-prerequisites"]
    assert f.severity == Severity.BLOCKER and "act_csum" in f.title
    assert f.evidence[0].where == "/proc/config.gz: CONFIG_NET_ACT_CSUM=n"


def test_act_csum_as_module_or_builtin_is_quiet():
    assert "nftables-prerequisites" not in ids(kernel_host(CONFIG + "CONFIG_NET_ACT_CSUM=m\n"))
    ev = kernel_host(CONFIG + "# CONFIG_NET_ACT_CSUM is not set\n", sched=("act_csum.ko.xz",))
    assert "nftables-prerequisites" not in ids(ev)


def test_unreadable_kernel_config_is_said_not_guessed():
    (f,) = [f for f in run_all(build(kernel_host(None))).findings if f.id == "nftables-prerequisites"]
    assert f.severity == Severity.WARNING and "Cannot tell" in f.title


def test_libvirt_10_on_nftables_is_blocked_before_the_upgrade_that_brings_tc():
    """10.x's nftables backend runs no tc: it works on this kernel now, and breaks with the
    upgrade to a release with the DHCP checksum fix (11.x and later)."""
    ev = kernel_host(CONFIG + "# CONFIG_NET_ACT_CSUM is not set\n", libvirt_version="10.6.0")
    (f,) = [f for f in run_all(build(ev)).findings if f.id == "nftables-prerequisites"]
    assert f.severity == Severity.BLOCKER and "after the upgrade" in f.title and "act_csum" in f.title
    assert "11.x and later" in f.summary
    result = analyse(ev, target_version=(11, 3))
    (f,) = [f for f in result.findings if f.id == "nftables-prerequisites"]
    assert "libvirt 11.3 needs" in f.summary
    # an upgrade within 10.x keeps working without tc
    assert "nftables-prerequisites" not in {f.id for f in analyse(ev, target_version=(10, 9)).findings}
    # no tc binary (iproute2's tc split off): the same blocker, for the same reason
    ev = kernel_host(CONFIG + "CONFIG_NET_ACT_CSUM=m\n", libvirt_version="10.6.0",
                     tools=("nft", "iptables"))
    (f,) = [f for f in run_all(build(ev)).findings if f.id == "nftables-prerequisites"]
    assert "the tc binary" in f.title and "after the upgrade" in f.title


def test_iptables_backend_needs_nothing():
    ev = make_evidence(files=libvirt_files(IPT_CONF), ipv4_save=ipt(LIBVIRT_IPT))
    ev.meta["kernel_release"] = "6.18.0"
    assert "nftables-prerequisites" not in ids(ev)


def test_upgrade_from_libvirt_9_is_judged_by_what_libvirt_11_needs():
    ev = kernel_host(CONFIG + "# CONFIG_NET_ACT_CSUM is not set\n", libvirt_version="9.0.0")
    ev.files["/etc/libvirt/network.conf"] = __import__("vnetmigrate.evidence", fromlist=["x"]).FileRecord(
        "/etc/libvirt/network.conf", "# shipped, unset\n")
    (f,) = [f for f in run_all(build(ev)).findings if f.id == "nftables-prerequisites"]
    assert "after the switch" in f.title and "11.x and later" in f.summary


# -- after the upgrade, per distribution -------------------------------------------------------
FEDORA_40 = 'NAME="Fedora Linux"\nID=fedora\nVERSION_ID=40\nPRETTY_NAME="Fedora Linux 40"\n'
RHEL_9 = 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.5"\n'
RHEL_10 = 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="centos fedora"\nVERSION_ID="10.0"\n'
ROCKY_10 = 'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="10.0"\n'
SLES_15 = 'NAME="SLES"\nID="sles"\nID_LIKE="suse"\nVERSION_ID="15.6"\n'
TUMBLEWEED = 'NAME="openSUSE Tumbleweed"\nID="opensuse-tumbleweed"\nID_LIKE="opensuse suse"\nVERSION_ID="20250101"\n'
UBUNTU_2410 = 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.10"\n'
ARCH = 'NAME="Arch Linux"\nID=arch\n'


@pytest.mark.parametrize("os_release, version, after, switch", [
    (DEBIAN_13, "11.3.0", "iptables", False),      # Debian's build lists iptables first (recorded)
    (UBUNTU_2410, "10.6.0", "iptables", False),
    (FEDORA_40, "10.1.0", "nftables", True),       # Fedora 41's libvirt prefers nftables
    (RHEL_9, "10.10.0", "iptables", False),
    (RHEL_10, "10.10.0", "nftables", False),       # already on nftables: no switch to announce
    (ROCKY_10, "11.3.0", "nftables", False),
    (SLES_15, "10.0.0", "iptables", False),
    (TUMBLEWEED, "11.3.0", "nftables", False),
    (ARCH, "11.3.0", None, False),                 # cannot tell
])
def test_after_the_upgrade_follows_the_distribution(os_release, version, after, switch):
    files = libvirt_files(None)
    files["/etc/os-release"] = os_release
    ev = make_evidence(files=files, ipv4_save=ipt(LIBVIRT_IPT), libvirt_version=version)
    facts = build(ev)
    assert facts.libvirt.after_upgrade.backend == after, facts.libvirt.after_upgrade.reason
    if after is None:
        assert "cannot tell" in facts.libvirt.after_upgrade.reason
    assert ("backend-switch-on-upgrade" in ids(ev)) == switch


def test_target_version_models_a_chosen_upgrade():
    files = libvirt_files(None)
    files["/etc/os-release"] = FEDORA_40
    ev = make_evidence(files=files, ipv4_save=ipt(LIBVIRT_IPT), libvirt_version="10.1.0")
    # an upgrade to 10.3 has no nftables backend: nothing switches
    result = analyse(ev, target_version=(10, 3))
    assert result.facts.libvirt.after_upgrade.backend == "iptables"
    assert "backend-switch-on-upgrade" not in {f.id for f in result.findings}
    result = analyse(ev, target_version=(12, 9))
    (f,) = [f for f in result.findings if f.id == "backend-switch-on-upgrade"]
    assert "libvirt 12.9" in f.title and result.matrix.after.row != result.matrix.now.row


def test_modelled_as_notice_is_in_the_backend_finding_and_the_json():
    files = libvirt_files(IPT_CONF)
    ev = make_evidence(files=files, ipv4_save=ipt(LIBVIRT_IPT), libvirt_version="12.4.0")
    result = analyse(ev)
    (f,) = [f for f in result.findings if f.id == "backend-effective"]
    assert "libvirt 12.4 is modelled as 12.9" in f.summary
    from vnetmigrate.facts.serialize import facts_to_dict
    assert "modelled as 12.9" in facts_to_dict(result.facts)["libvirt"]["modelled_as"]
    ev = make_evidence(files=files, ipv4_save=ipt(LIBVIRT_IPT), libvirt_version="11.3.0")
    assert facts_to_dict(analyse(ev).facts)["libvirt"]["modelled_as"] is None


def test_rhel10_without_kernel_modules_extra_gets_it_in_the_iptables_workaround():
    from tests.unit.builders import KERNEL

    ev = kernel_host(CONFIG + "# CONFIG_NET_ACT_CSUM is not set\n")
    ev.meta["kernel_release"] = KERNEL
    from vnetmigrate.evidence import FileRecord

    ev.add_file(FileRecord("/etc/os-release", RHEL_10))
    ev.add_file(FileRecord(f"/boot/config-{KERNEL}", CONFIG + "# CONFIG_NET_ACT_CSUM is not set\n"))
    ev.listings[f"/lib/modules/{KERNEL}/kernel/net/netfilter"] = ["nf_tables.ko.xz"]
    (f,) = [f for f in run_all(build(ev)).findings if f.id == "nftables-prerequisites"]
    assert f.workarounds[0].commands[0] == "dnf install kernel-modules-extra"
    ev.listings[f"/lib/modules/{KERNEL}/kernel/net/netfilter"] = ["xt_CHECKSUM.ko", "xt_conntrack.ko",
                                                                   "xt_MASQUERADE.ko"]
    (f,) = [f for f in run_all(build(ev)).findings if f.id == "nftables-prerequisites"]
    assert "kernel-modules-extra" not in " ".join(f.workarounds[0].commands)
