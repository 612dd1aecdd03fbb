"""The migration planner on recorded real libvirt 11.3 data (no root): steps, counts, blockers.

The rules are what real libvirt created (tests/data/libvirt/11.3-iptables/default); a
Docker-style rule is added to FORWARD and a stranger's rule to LIBVIRT_FWI, to prove that
removal names libvirt's rules only.
"""

from __future__ import annotations

from pathlib import Path

from tests.unit.builders import make_evidence
from vnetmigrate.facts import build as build_facts
from vnetmigrate.txn import planner

DATA = Path(__file__).resolve().parents[1] / "data/libvirt/11.3-iptables/default"
CONF = '#firewall_backend = "nftables"\nfirewall_backend = "iptables"\n'


def evidence(extra_v4: str = "", conf: str | None = CONF, tools=None, edit=lambda text: text):
    v4 = edit((DATA / "iptables-save.txt").read_text())
    if extra_v4:
        v4 = v4.replace("-A FORWARD -j LIBVIRT_FWO\n", "-A FORWARD -j LIBVIRT_FWO\n" + extra_v4, 1)
    files = {"/etc/libvirt/network.conf": conf,
             "/run/libvirt/network/default.xml": (DATA / "status/default.xml").read_text()}
    kw = {"tools": tools} if tools else {}
    return make_evidence(files=files, ipv4_save=v4, ipv6_save=(DATA / "ip6tables-save.txt").read_text(), **kw)


def plan(ev, target="nftables", restart=None):
    return planner.build(build_facts(ev), target, restart, "test")


def test_iptables_to_nftables_makes_before_it_breaks():
    p = plan(evidence())
    assert [s.kind for s in p.plan.steps] == ["nft", "verify", "ipt", "ipt", "file", "verify"]
    assert p.summary["networks_moved"] == ["default"]
    assert p.summary["remove"] == {"ipv4": {"rules": 19, "chains": 7}, "ipv6": {"rules": 0, "chains": 7}}
    assert '+firewall_backend = "nftables"' in p.summary["network_conf"]
    assert not p.blockers
    add = p.plan.steps[0].text.splitlines()  # `nft -f` text: test_the_add_step_loads_the_models_commands
    assert add[0].startswith("add table ip libvirt_network")


def test_removal_names_only_libvirts_rules():
    def stranger(text: str) -> str:
        text = text.replace("-A LIBVIRT_FWI -o virbr0 -j REJECT",
                            "-A LIBVIRT_FWI -i eth9 -j ACCEPT\n-A LIBVIRT_FWI -o virbr0 -j REJECT")
        return text.replace(":LIBVIRT_FWI - [0:0]", ":LIBVIRT_FWI - [0:0]\n:DOCKER-USER - [0:0]")

    p = plan(evidence("-A FORWARD -j DOCKER-USER\n", edit=stranger))
    v4 = next(s for s in p.plan.steps if s.kind == "ipt" and s.family == "ipv4").fragment
    assert "DOCKER" not in v4 and "eth9" not in v4
    assert "-X LIBVIRT_FWI" not in v4 and "-D FORWARD -j LIBVIRT_FWI" not in v4  # kept: a stranger's rule is in it
    assert "-D LIBVIRT_FWI -o virbr0 -j REJECT --reject-with icmp-port-unreachable" in v4
    assert "-X LIBVIRT_FWO" in v4 and "-D FORWARD -j LIBVIRT_FWO" in v4
    assert any("LIBVIRT_FWI" in w for w in p.summary["unexpected_kept"])


def test_restart_adds_guard_restart_and_dedupe():
    p = plan(evidence(), restart=["systemctl", "restart", "virtnetworkd"])
    kinds = [s.kind for s in p.plan.steps]
    assert kinds == ["nft", "verify", "ipt", "ipt", "file", "nft", "restart", "dedupe", "verify"]
    guard = p.plan.steps[5].commands
    assert guard and all(c["insert"]["rule"]["chain"] == "forward" and c["insert"]["rule"]["comment"] ==
                         "vnetmigrate-guard" for c in guard)


def test_blockers_and_nothing_to_do():
    p = plan(evidence(), target="nftables")
    assert p.plan.steps
    missing = plan(evidence(tools=("iptables", "iptables-nft", "iptables-nft-save", "ip6tables-nft-save")))
    assert [b.id for b in missing.blockers] == ["target-tool-missing"]
    back = plan(evidence(), target="iptables")
    assert not back.plan.steps and back.nothing_to_do  # already iptables, and network.conf says so


def test_plan_judges_the_host_after_the_migration_although_network_conf_pins_iptables():
    """Scan judges the nftables backend only when libvirt uses it or an upgrade would move it
    there; plan and migrate judge it as `migrate --to nftables` leaves the host."""
    from tests.unit.builders import LIBVIRT_IPT, ipt
    from vnetmigrate.checks._context import nftables_when
    from vnetmigrate.usecases.plan import blockers
    from vnetmigrate.scan import analyse

    ev = evidence(edit=lambda _recorded: ipt(LIBVIRT_IPT, policy="DROP", docker=True))
    scan = analyse(ev)
    assert "docker-forward-drop" not in {f.id for f in scan.findings if f.severity.value == "blocker"}
    assert nftables_when(scan.facts) is None and scan.facts.migration_target is None
    judged = analyse(ev, migration_target="nftables")
    assert nftables_when(judged.facts) == "after the migration"
    assert judged.facts.libvirt.configured_backend == "iptables"  # what is on the host stays as read
    found = {b.id for b in blockers(planner.build(judged.facts, "nftables", None, "test"), judged)}
    assert "docker-forward-drop" in found
    back = analyse(ev, migration_target="iptables")
    assert "docker-forward-drop" not in {b.id for b in blockers(planner.build(back.facts, "iptables", None,
                                                                                    "test"), back)}


RHEL_10 = 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="centos fedora"\nVERSION_ID="10.0"\n'
NFT_DATA = Path(__file__).resolve().parents[1] / "data/libvirt/11.3-nftables/default"


def rhel10_on_nftables(netfilter_modules: list[str]):
    """A RHEL 10 host on libvirt's nftables backend (recorded 11.3 state), with these files in
    /lib/modules/RELEASE/kernel/net/netfilter."""
    from tests.unit.builders import KERNEL, libvirt_nft

    files = {"/etc/os-release": RHEL_10, "/etc/libvirt/network.conf": 'firewall_backend = "nftables"\n',
             "/run/libvirt/network/default.xml": (NFT_DATA / "status/default.xml").read_text()}
    ev = make_evidence(files=files, nft_objects=tuple(libvirt_nft()))
    ev.listings[f"/lib/modules/{KERNEL}/kernel/net/netfilter"] = netfilter_modules
    return ev


def test_migration_to_iptables_on_rhel10_without_kernel_modules_extra_is_refused():
    p = plan(rhel10_on_nftables(["nf_tables.ko.xz", "nft_chain_nat.ko.xz"]), target="iptables")
    (b,) = [b for b in p.blockers if b.id == "iptables-modules-missing"]
    assert not b.forcible and "kernel-modules-extra" in b.title
    assert "xt_CHECKSUM" in b.title and "xt_MASQUERADE" in b.title
    with_extra = ["nf_tables.ko.xz", "xt_CHECKSUM.ko.xz", "xt_conntrack.ko.xz", "xt_MASQUERADE.ko.xz"]
    assert "iptables-modules-missing" not in {b.id for b in plan(rhel10_on_nftables(with_extra), "iptables").blockers}


def test_the_plan_creates_what_the_hosts_release_creates():
    """12.x: libvirt's tables with their comment; 10.x and 11.x without; the release is the
    host's (no 'modelled as' note when the model is exact for it)."""
    def plan_for(release):
        v4 = (DATA / "iptables-save.txt").read_text()
        files = {"/etc/libvirt/network.conf": CONF,
                 "/run/libvirt/network/default.xml": (DATA / "status/default.xml").read_text()}
        ev = make_evidence(files=files, ipv4_save=v4, ipv6_save=(DATA / "ip6tables-save.txt").read_text(),
                           libvirt_version=release)
        return plan(ev)

    p = plan_for("12.9.0")
    assert p.summary["libvirt_version"] == "12.9"
    assert p.plan.steps[0].text.splitlines()[0].startswith('add table ip libvirt_network { comment "Managed by libvirt')
    assert not [n for n in p.notes if "modelled as" in n]
    p = plan_for("10.6.0")
    assert p.summary["libvirt_version"] == "10.9"
    assert p.plan.steps[0].text.splitlines()[0] == "add table ip libvirt_network"
    assert [n for n in p.notes if "10.6 is modelled as 10.9" in n]


def test_the_add_step_loads_the_models_commands():
    """The add step loads the model's `nft -f` text of its commands (libnftables parses it twice
    as fast as their JSON; tests/unit/libvirt/test_kernel_corpus.py loads both forms against
    real libvirt's recordings), and its journal keeps that text."""
    from vnetmigrate.libvirt import nft_commands, nft_text
    from vnetmigrate.libvirt.nft_commands import NftState
    from vnetmigrate.txn.steps import Step

    facts = build_facts(evidence())
    p = planner.build(facts, "nftables", None, "test")
    step = p.plan.steps[0]
    nets = [n for n, _b in facts.networks.pairs]
    assert step.kind == "nft" and step.text == nft_text(nets, "11.3", NftState())
    assert step.text.count("\n") == len(nft_commands(nets, "11.3", NftState())) == \
        p.summary["add"]["nftables_commands"]
    assert step.to_dict()["data"] == {"text": step.text} and Step.from_dict(step.to_dict()) == step
