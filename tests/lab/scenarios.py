"""The lab's scenario table: KVM-host set-ups, what breaks when libvirt's firewall is nftables,
what `vnetmigrate scan` must say, and which workaround fixes it. One place; the tests
(test_scenarios.py, test_evaluator_vs_trace.py) walk it.

| scenario          | host set-up (besides libvirt's default NAT network, dnsmasq)        | nftables backend: probes that fail | scan on it (finding: severity)          | fixed by the first workaround of | iptables backend: fails | scan on it (libvirt would switch) |
|-------------------|----------------------------------------------------------------------|------------------------------------|------------------------------------------|----------------------------------|-------------------------|-----------------------------------|
| libvirt-only      | nothing                                                              | -                                  | no blocker                               | -                                | -                       | no blocker                         |
| docker            | Docker 28 after setting ip_forward: filter FORWARD policy DROP       | ping tcp udp                       | docker-forward-drop: blocker             | docker-forward-drop              | -                       | docker-forward-drop: blocker       |
| ufw               | ufw enabled, DEFAULT_INPUT/FORWARD_POLICY DROP                       | dhcp dns dns-tcp tcp udp (**)      | ufw-blocks-guests: blocker               | ufw-blocks-guests                | -                       | ufw-blocks-guests: blocker         |
| nftables-service  | nftables.conf: flush ruleset + inet filter, input/forward policy drop | dhcp dns dns-tcp ping tcp udp      | input-forward-drop: blocker (***)        | input-forward-drop               | the same                | input-forward-drop: blocker (now)  |
| iptables-services | /etc/sysconfig/iptables stock rules: INPUT/FORWARD end in REJECT     | dhcp dns dns-tcp ping tcp udp      | iptables-manager-restrictive: blocker    | iptables-manager-restrictive (*) | -                       | iptables-manager-restrictive: blocker |
| port-forward      | DNAT host:2222 -> guest:22 + FORWARD ACCEPT (libvirt wiki hook)      | port-forward                       | port-forward-nat-guest: blocker          | port-forward-nat-guest           | -                       | port-forward-nat-guest: blocker    |

(***) and nftables-service-flush: warning, for the config's `flush ruleset`.
(**) ufw's before.rules accept forwarded ICMP echo requests: guests can ping out, nothing more.
(*) without its last command, `service iptables save`: it only saves the live rules for the
next boot, and a Debian lab has no iptables-services to run it.

Each set-up is loaded in boot order: the tool's rules first, then libvirt's (its rules go to
the head of the chains), then hook-script rules. The nftables-backend host's root says
Fedora 41 with `firewall_backend = "nftables"`; the iptables-backend host's says Debian 13 with
the setting unset, so its libvirt uses iptables now and nftables after the upgrade, and the
scan's verdict about "after the switch" is the prediction the nftables rows prove.
test_evaluator_vs_trace.py sends every row's probes again under `nft monitor trace`, before and
after the fix, and compares the kernel's verdicts with the packet evaluator's.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.lab.test_lab_scan import NETWORK_XML
from tests.unit.test_detectors import SYSCONFIG_IPTABLES
from tests.sandbox import fixtures, rules
from tests.sandbox.dnstcp import dns_tcp_probe
from tests.sandbox.inbound import port_forward_probe, port_forward_rules
from tests.sandbox.ufw import LabUfw
from tests.sandbox.ufw import missing as ufw_missing

PROBES = ("dhcp", "dns", "dns-tcp", "ping", "tcp", "udp", "port-forward")
SERVICES = ("dhcp", "dns", "dns-tcp")
FORWARDED = ("ping", "tcp", "udp")


@dataclass(frozen=True)
class Expect:
    fails: tuple[str, ...]  # lab probes that must fail; every other probe must pass
    finding: str | None  # the finding scan must report (None: no blocker at all)
    severity: str | None = "blocker"
    also: tuple[tuple[str, str], ...] = ()  # other findings (id, severity) the scan must report


@dataclass(frozen=True)
class Scenario:
    id: str
    setup: str
    nft: Expect
    ipt: Expect
    workaround: str | None  # whose first workaround fixes the nftables-backend host
    not_run: dict[str, str] = field(default_factory=dict)  # workaround command -> why the lab skips it
    port_forward: bool = False


FLUSH = (("nftables-service-flush", "warning"),)  # its `flush ruleset` deletes libvirt's rules on reload
SCENARIOS = (
    Scenario("libvirt-only", "nothing but libvirt", Expect((), None), Expect((), None), None),
    Scenario("docker", "Docker 28: filter FORWARD policy DROP",
             Expect(FORWARDED, "docker-forward-drop"), Expect((), "docker-forward-drop"), "docker-forward-drop"),
    Scenario("ufw", "ufw enabled with default DROP input and forward",
             Expect(SERVICES + ("tcp", "udp"), "ufw-blocks-guests"), Expect((), "ufw-blocks-guests"),
             "ufw-blocks-guests"),
    Scenario("nftables-service", "nftables.service: flush ruleset, inet filter with drop input/forward",
             Expect(SERVICES + FORWARDED, "input-forward-drop", also=FLUSH),
             Expect(SERVICES + FORWARDED, "input-forward-drop", also=FLUSH), "input-forward-drop"),
    Scenario("iptables-services", "iptables-services' stock rules, INPUT and FORWARD end in REJECT",
             Expect(SERVICES + FORWARDED, "iptables-manager-restrictive"),
             Expect((), "iptables-manager-restrictive"), "iptables-manager-restrictive",
             not_run={"service iptables save": "saves the live rules for the next boot; needs iptables-services"}),
    Scenario("port-forward", "DNAT host:2222 -> guest:22 with a FORWARD ACCEPT (libvirt wiki's hook script)",
             Expect(("port-forward",), "port-forward-nat-guest"), Expect((), "port-forward-nat-guest"),
             "port-forward-nat-guest", port_forward=True),
)
BY_ID = {s.id: s for s in SCENARIOS}

NFTABLES_CONF = """#!/usr/sbin/nft -f
flush ruleset

table inet filter {
\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t\tct state invalid drop
\t\tiif "lo" accept
\t\tmeta l4proto { icmp, ipv6-icmp } accept
\t\ttcp dport 22 accept
\t}
\tchain forward {
\t\ttype filter hook forward priority filter; policy drop;
\t}
\tchain output {
\t\ttype filter hook output priority filter; policy accept;
\t}
}
"""

IPTABLES_SERVICES = SYSCONFIG_IPTABLES  # iptables-services' stock /etc/sysconfig/iptables
FEDORA_41 = 'NAME="Fedora Linux"\nID=fedora\nVERSION_ID=41\nPRETTY_NAME="Fedora Linux 41"\n'
FEDORA_40 = 'NAME="Fedora Linux"\nID=fedora\nVERSION_ID=40\nPRETTY_NAME="Fedora Linux 40"\n'
WANTS = "etc/systemd/system/multi-user.target.wants"


@dataclass
class Host:
    """A scenario loaded into a lab: what a scan's --root must hold, and how to run commands."""

    scenario: Scenario
    backend: str
    files: dict[str, str]
    enabled_units: list[str]
    ufw: LabUfw | None = None

    def run(self, lab, command: str) -> None:
        """Run a workaround command of a `--netns` scan as printed: it must name the lab's
        namespace (so pasting it never touches the root namespace)."""
        argv = in_lab(lab, command)
        if argv[0] == "ufw":  # the lab's ufw keeps its files under the lab's tmpdir
            assert self.ufw is not None, command
            self.ufw.run(*argv[1:])
        else:
            lab.run(argv)

    def write_root(self, base: Path) -> Path:
        files = dict(self.files)
        if self.ufw is not None:
            files.update(self.ufw.files())  # ufw rewrites its files on every change
        for path, text in files.items():
            target = base / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        (base / WANTS).mkdir(parents=True, exist_ok=True)
        for unit in self.enabled_units:
            link = base / WANTS / unit
            if not link.is_symlink():
                link.symlink_to(f"/usr/lib/systemd/system/{unit}")  # only the name counts
        return base


def in_lab(lab, command: str) -> list[str]:
    """The argv a printed command runs inside the lab's host namespace: it must start with
    `ip netns exec HOST`, or it would hit the root namespace when pasted."""
    argv = shlex.split(command)
    assert argv[:4] == ["ip", "netns", "exec", lab.host], f"not confined to the scanned namespace: {command}"
    return argv[4:]


def as_written(lab, command: str) -> str:
    """A printed command without its `ip netns exec HOST [sh -c]` confinement: as the check wrote it."""
    argv = in_lab(lab, command)
    return argv[2] if argv[:2] == ["sh", "-c"] else shlex.join(argv)


def build(lab, scenario: Scenario, backend: str) -> Host:
    """Load `scenario` into a started lab under libvirt's `backend`, in boot order."""
    fedora = backend == "nftables"
    status = (f"<networkstatus>\n{NETWORK_XML}<firewall name='fwRemoval' backend='{backend}'>"
              "<group ignoreErrors='yes'/></firewall>\n</networkstatus>\n")
    # The iptables variant is a host whose distribution's next libvirt prefers nftables (Fedora
    # 40 -> 41), so scan judges the switch; a Debian host would keep iptables (nothing to judge).
    # Its other files stay at the Debian paths, which scan reads on every distribution.
    files = {"/etc/os-release": FEDORA_41 if fedora else FEDORA_40,
             "/etc/libvirt/network.conf": '# lab\nfirewall_backend = "nftables"\n' if fedora
             else '# lab\n#firewall_backend = "nftables"\n',
             "/etc/libvirt/qemu/networks/default.xml": NETWORK_XML,
             "/etc/libvirt/qemu/networks/autostart/default.xml": NETWORK_XML,
             "/run/libvirt/network/default.xml": status}
    host = Host(scenario, backend, files, [])
    lab.start_dnsmasq(ping_check=False)
    if scenario.id == "docker":
        lab.iptables_restore(fixtures.DOCKER_28)
        files["/etc/docker/daemon.json"] = json.dumps({}) + "\n"
    elif scenario.id == "ufw":
        if (why := ufw_missing()) is not None:
            pytest.skip(f"the ufw scenario needs ufw: {why}")
        host.ufw = LabUfw(lab.host, lab.tmpdir)
        host.ufw.run("--force", "enable")
        host.enabled_units.append("ufw.service")
    elif scenario.id == "nftables-service":
        lab.nft(NFTABLES_CONF)
        files["/etc/sysconfig/nftables.conf" if fedora else "/etc/nftables.conf"] = NFTABLES_CONF
        host.enabled_units.append("nftables.service")
    elif scenario.id == "iptables-services":
        rules.iptables_restore(lab.host, IPTABLES_SERVICES, noflush=False)  # as iptables.service loads it
        files["/etc/sysconfig/iptables"] = IPTABLES_SERVICES
        host.enabled_units.append("iptables.service")
    if backend == "nftables":
        lab.nft(fixtures.libvirt_nftables())
    else:
        lab.iptables_restore(fixtures.libvirt_iptables_v4())
        lab.iptables_restore(fixtures.libvirt_iptables_v6(), family=6)
    if scenario.port_forward:
        lab.iptables_restore(port_forward_rules(lab.guest(0)))
    return host


def probe(lab, name: str, timeout: float):
    g = lab.guest(0)
    if name == "dhcp":
        return lab.dhcp(timeout=timeout)
    if name == "dns":
        return lab.dns(timeout=timeout)
    if name == "dns-tcp":
        return dns_tcp_probe(g, timeout=timeout)
    if name == "port-forward":
        return port_forward_probe(lab, timeout=timeout)
    return {"ping": lab.ping, "tcp": lab.tcp, "udp": lab.udp}[name](timeout=timeout)


def probe_names(scenario: Scenario) -> tuple[str, ...]:
    return tuple(p for p in PROBES if p != "port-forward" or scenario.port_forward)


def probe_all(lab, scenario: Scenario, expect_fail: tuple[str, ...], lost: float, ok: float = 1.0) -> dict:
    """Every probe of the scenario; those expected to fail get the short timeout."""
    return {name: probe(lab, name, lost if name in expect_fail else ok) for name in probe_names(scenario)}


# -- libvirt's own breakage, and what `vnetmigrate repair` does about it (tests/lab/test_repair.py) --
#
# | breakage       | how the lab host is broken (libvirt_host's emulation of 11.3)                    | scan before                        | probes failing before | repaired by (remedy)                       |
# |----------------|-----------------------------------------------------------------------------------|------------------------------------|-----------------------|--------------------------------------------|
# | silent-switch  | switched to nftables on this kernel (no act_csum): no rules, empty LIBVIRT_* chains | libvirt-rules-missing (+ prereqs)  | ping tcp udp          | libvirt-rules-missing: back to iptables, pinned |
# | flushed        | iptables backend, LIBVIRT_* chains flushed by another program                      | libvirt-rules-missing              | ping tcp udp          | libvirt-rules-missing: re-created          |
# | leftover-chains| nftables backend (act_csum assumed), the empty LIBVIRT_* chains a switch leaves     | libvirt-leftover-chains            | -                     | libvirt-leftover-chains                    |
# | duplicates     | iptables backend, every rule twice (a restart on top of the rules)                 | libvirt-leftover-rules (copies)    | -                     | libvirt-leftover-rules: dedupe             |
# | both-backends  | iptables backend, plus a copy of the rules in libvirt_network                       | libvirt-rules-both-backends        | -                     | libvirt-rules-both-backends                |
# | restart-pending| `migrate --no-restart` to nftables: network.conf and the daemon disagree           | libvirt-restart-pending            | -                     | libvirt-restart-pending (--only): pinned   |

@dataclass(frozen=True)
class Breakage:
    id: str
    about: str
    findings: tuple[str, ...]      # scan reports at least these before the repair
    fails: tuple[str, ...]         # the probes that fail before the repair (every probe passes after)
    repaired_by: str               # the finding whose remedy repair plans
    options: tuple[str, ...] = ()  # repair's options besides --yes
    act_csum: bool = False         # the emulated daemon's kernel has act_csum (restarts into nftables work)


REPAIR_PROBES = ("dhcp", "ping", "tcp", "udp")
BREAKAGES = (
    Breakage("silent-switch", "libvirt 11.3 switched itself to nftables on a kernel without act_csum",
             ("libvirt-rules-missing", "nftables-prerequisites", "libvirt-leftover-chains"), FORWARDED,
             "libvirt-rules-missing"),
    Breakage("flushed", "iptables backend, its LIBVIRT_* chains flushed by another program",
             ("libvirt-rules-missing",), FORWARDED, "libvirt-rules-missing"),
    Breakage("leftover-chains", "nftables backend with the empty LIBVIRT_* chains a switch leaves",
             ("libvirt-leftover-chains",), (), "libvirt-leftover-chains", act_csum=True),
    Breakage("duplicates", "iptables backend, every rule added twice", ("libvirt-leftover-rules",), (),
             "libvirt-leftover-rules"),
    Breakage("both-backends", "iptables backend, plus a copy of its rules in libvirt_network",
             ("libvirt-rules-both-backends", "libvirt-leftover-rules"), (), "libvirt-rules-both-backends"),
    Breakage("restart-pending", "`migrate --no-restart` to nftables: network.conf and the daemon disagree",
             ("libvirt-restart-pending",), (), "libvirt-restart-pending",
             options=("--only", "libvirt-restart-pending", "--no-restart")),
)
BREAKAGE = {b.id: b for b in BREAKAGES}


def break_libvirt(lab, root: Path, breakage: Breakage, vnm) -> None:
    """Load the broken state `breakage` names into a started lab, its files under `root`.
    `vnm`: runs the CLI against this host (restart-pending is made by migrate itself)."""
    from tests.lab import libvirt_host

    lab.start_dnsmasq(ping_check=False)
    if breakage.id == "silent-switch":
        libvirt_host.silent_switch(lab, root)
        return
    if breakage.id == "leftover-chains":
        libvirt_host.silent_switch(lab, root)
        libvirt_host.restart(lab.host, root, act_csum=True)  # the switch that worked: nftables rules
        return
    libvirt_host.install(lab, root)
    if breakage.id == "flushed":
        for table, chains in (("filter", ("LIBVIRT_FWX", "LIBVIRT_FWI", "LIBVIRT_FWO", "LIBVIRT_INP",
                                          "LIBVIRT_OUT")), ("nat", ("LIBVIRT_PRT",)), ("mangle", ("LIBVIRT_PRT",))):
            for chain in chains:
                lab.iptables("-t", table, "-F", chain)
    elif breakage.id == "duplicates":
        libvirt_host.restart(lab.host, root)  # the daemon restarted: every rule again, on top
    elif breakage.id == "both-backends":
        libvirt_host.add_rules(lab.host, "nftables")
    elif breakage.id == "restart-pending":
        proc = vnm("migrate", "--no-restart", "--force", "nftables-prerequisites")
        assert proc.returncode == 0, proc.stdout + proc.stderr
