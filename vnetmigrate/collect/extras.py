"""What a support engineer asks for after the scan's own evidence: the full rulesets, the links,
addresses and routes, libvirt bridges' qdiscs and filters, sysctls, kernel flags, package
versions, journal excerpts, vnetmigrate's transaction journals.

Each item is one command (with a timeout: a hung command is recorded as timed out and the
bundle goes on) or one file; an item that cannot be had says why. Looking changes nothing:
legacy iptables tables are saved only where /proc/net/ip*_tables_names already lists them.
"""

from __future__ import annotations

import gzip
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from vnetmigrate import txnstore
from vnetmigrate.collect import libvirt
from vnetmigrate.collect.host import LiveHost
from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.evidence import Evidence
from vnetmigrate.libvirt.names import InvalidName, validate_ifname
from vnetmigrate.specs import BOOT_CONFIG_T, KERNEL_CONFIG, TABLES_NAMES

TIMEOUT = 30.0
RULESET_TIMEOUT = 120.0
JOURNAL_LINES = 2000
JOURNAL_UNITS = ("libvirtd", "virtnetworkd", "firewalld", "docker")
JOURNALD_SOCKET_DIR = "/run/systemd/journal"
PACKAGES_DEB = ("libvirt-daemon", "libvirt-daemon-system", "libvirt-daemon-driver-network", "nftables", "iptables",
                "firewalld", "docker-ce", "docker.io", "moby-engine", "podman", "ufw", "dnsmasq-base")
PACKAGES_RPM = ("libvirt-daemon", "libvirt-daemon-driver-network", "nftables", "iptables-nft", "iptables-legacy",
                "firewalld", "docker-ce", "moby-engine", "podman", "dnsmasq")
SYSCTLS = ("net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables",
           "net/bridge/bridge-nf-call-arptables", "net/ipv4/conf/all/rp_filter", "net/ipv4/conf/default/rp_filter",
           "net/ipv4/conf/all/forwarding", "net/ipv6/conf/default/forwarding", "net/ipv6/conf/all/disable_ipv6",
           "net/netfilter/nf_conntrack_max", "net/netfilter/nf_conntrack_count")
KERNEL_FLAGS = re.compile(r"^(# )?CONFIG_(NETFILTER\w*|NF_\w+|NFT_\w+|IP_NF_\w+|IP6_NF_\w+|BRIDGE\w*|NET_SCH_\w+|"
                          r"NET_CLS\w*|NET_ACT\w*|VETH|TUN|MACVLAN|MACVTAP)\b")
LEGACY_SAVE = {"ipv4": "iptables-legacy-save", "ipv6": "ip6tables-legacy-save"}


@dataclass(frozen=True)
class Item:
    """One thing collected for the bundle (or not: then `absent` says why)."""

    name: str  # its member name under extra/
    kind: str  # "command" or "file"
    argv: tuple[str, ...] | None = None
    path: str | None = None
    exit_code: int | None = None
    duration: float = 0.0
    timed_out: bool = False
    content: str | None = None
    stderr: str = ""
    absent: str | None = None


@dataclass(frozen=True)
class CommandSpec:
    """An extra command a bundle runs: its name, argv and time limit."""
    name: str
    argv: tuple[str, ...]
    timeout: float = TIMEOUT


def collect(ev: Evidence, root: str = "/", state_dir: str | None = None,
            progress: Callable[[str], None] | None = None, extra: Iterable[CommandSpec] = ()) -> list[Item]:
    """Every extra item, in a fixed order (call inside the scanned network namespace)."""
    host = LiveHost(Evidence(), root=root)
    items: list[Item] = []
    for spec in [*commands(ev, host, root), *extra]:
        if progress:
            progress(spec.name)
        items.append(run(host, spec))
    if progress:
        progress("files")
    items += sysctls(host)
    items.append(kernel_flags(host))
    items += journals(host, state_dir)
    return items


def commands(ev: Evidence, host: LiveHost, root: str) -> list[CommandSpec]:
    out = [CommandSpec("nft-ruleset.json", ("nft", "-j", "list", "ruleset"), RULESET_TIMEOUT),
           CommandSpec("iptables-nft-save.txt", ("iptables-nft-save",), RULESET_TIMEOUT),
           CommandSpec("ip6tables-nft-save.txt", ("ip6tables-nft-save",), RULESET_TIMEOUT)]
    for family, names_path in TABLES_NAMES.items():
        listed = host.read(names_path, kernel=True).content or ""
        for table in sorted(set(listed.split())):
            if re.fullmatch(r"[a-z_]{1,32}", table):
                out.append(CommandSpec(f"{LEGACY_SAVE[family]}-{table}.txt", (LEGACY_SAVE[family], "-t", table),
                                       RULESET_TIMEOUT))
    out += [CommandSpec("ip-link.json", ("ip", "-j", "-d", "link", "show")),
            CommandSpec("ip-addr.json", ("ip", "-j", "addr", "show")),
            CommandSpec("ip-route.json", ("ip", "-j", "route", "show", "table", "all")),
            CommandSpec("ip6-route.json", ("ip", "-j", "-6", "route", "show", "table", "all")),
            CommandSpec("uname.txt", ("uname", "-srvm"))]
    for bridge in sorted(libvirt.bridges(ev)):
        try:
            validate_ifname(bridge)
        except InvalidName:
            continue
        out += [CommandSpec(f"tc-qdisc-{bridge}.txt", ("tc", "qdisc", "show", "dev", bridge)),
                CommandSpec(f"tc-filter-{bridge}.txt", ("tc", "filter", "show", "dev", bridge))]
    dpkg = ("dpkg-query", "-W", "-f", "${Package}\\t${Version}\\t${db:Status-Abbrev}\\n")
    rpm = ("rpm", "-q")
    if root != "/":
        dpkg += (f"--admindir={Path(root) / 'var/lib/dpkg'}",)
        rpm += ("--root", root)
    out += [CommandSpec("packages-dpkg.txt", (*dpkg, *PACKAGES_DEB)),
            CommandSpec("packages-rpm.txt", (*rpm, *PACKAGES_RPM))]
    if root == "/" and os.path.isdir(JOURNALD_SOCKET_DIR):
        units = [w for u in JOURNAL_UNITS for w in ("-u", u)]
        out.append(CommandSpec("journal.txt", ("journalctl", "--no-pager", "-o", "short-iso", "-n",
                                               str(JOURNAL_LINES), *units)))
    return out


def run(host: LiveHost, spec: CommandSpec) -> Item:
    rec = host.run("bundle", list(spec.argv), timeout=spec.timeout)
    timed_out = rec.returncode is None and (rec.error or "").startswith("timed out")
    absent = None if rec.returncode is not None else rec.error
    return Item(f"commands/{spec.name}", "command", argv=spec.argv, exit_code=rec.returncode,
                duration=rec.duration, timed_out=timed_out,
                content=rec.stdout if rec.returncode is not None else None, stderr=rec.stderr, absent=absent)


def _file(host: LiveHost, path: str, name: str, kernel: bool = True) -> Item:
    rec = host.read(path, kernel=kernel)
    return Item(name, "file", path=path, content=rec.content, absent=None if rec.content is not None else rec.error)


def sysctls(host: LiveHost) -> list[Item]:
    return [_file(host, f"/proc/sys/{s}", f"sysctl/{s.replace('/', '.')}") for s in SYSCTLS]


def kernel_flags(host: LiveHost) -> Item:
    """The netfilter, bridge and traffic-control flags of the running kernel's configuration."""
    release = os.uname().release
    text, source = None, None
    try:
        with gzip.open(KERNEL_CONFIG, "rt", encoding="utf-8", errors="replace") as fh:
            text, source = fh.read(), KERNEL_CONFIG
    except (OSError, EOFError):
        rec = host.read(BOOT_CONFIG_T.format(release=release), kernel=True)
        text, source = rec.content, rec.path
    if text is None:
        return Item("kernel-config-flags.txt", "file", path=KERNEL_CONFIG, absent="no kernel configuration found")
    flags = "".join(f"{line}\n" for line in text.splitlines() if KERNEL_FLAGS.match(line))
    return Item("kernel-config-flags.txt", "file", path=source, content=f"# {release} ({source})\n{flags}")


def journals(host: LiveHost, state_dir: str | None) -> list[Item]:
    """vnetmigrate's own transaction journals (the whole files: scan keeps only summaries)."""
    base = Path(state_dir) if state_dir else txnstore.default_dir(host.root)
    txn_root = base / txnstore.TXN
    try:
        names = sorted(os.listdir(txn_root))
    except OSError:
        return []
    return [_file(host, str(txn_root / n / txnstore.JOURNAL), f"transactions/{n}/{txnstore.JOURNAL}")
            for n in names if re.fullmatch(r"[A-Za-z0-9_.-]{1,200}", n) and (txn_root / n / txnstore.JOURNAL).is_file()]
