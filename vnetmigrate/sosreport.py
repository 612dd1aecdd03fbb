"""sos reports (`sos report` archives and extracted directories) -> Evidence.

What support receives from RHEL, Fedora, Ubuntu and Debian hosts is a sos report. Its plugins
(sos 4.9: networking, libvirt, firewall_tables, firewalld, docker, ufw, kernel, release,
systemd, dpkg/rpm) keep some of what scan reads, in their own form; docs/sos-reports.md lists
what each provides and what it lacks. This module maps sos's files onto the evidence catalogue
(vnetmigrate/specs.py), so facts stays the one reader of Evidence and every check runs as on
a live host:

- files sos copies keep their host path (/etc/libvirt/qemu/networks/*.xml, /run/libvirt/network/*.xml, ...);
- `nft -a list ruleset` (text) becomes the libnftables JSON scan reads (rules/nft_text.py),
  and the tables iptables-nft manages become `iptables -S` listings (rules/nft_iptables.py);
- the package list says which tools are installed and libvirt's version; `sysctl -a` the
  forwarding flags;
- every catalogued source sos does not collect is named in ``meta["not_collected"]`` with the
  reason, and facts refuses to build what needs it: those checks say "cannot tell" instead of
  reading an absent file as "not configured".

An archive is read like a bundle (bundlefile.read_members): a regular file, size and member
limits, only the members named here read into memory, nothing written to disk; links and
special files are never followed (a link's name still counts for a directory listing, as
libvirt's autostart links do).
"""

from __future__ import annotations

import json
import os
import re
import stat
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from vnetmigrate import bounded, specs
from vnetmigrate.errors import InputError
from vnetmigrate.evidence import CommandRecord, Evidence, FileRecord
from vnetmigrate.rules import nft_iptables, nft_text

XZ_MAGIC = b"\xfd7zXZ\x00"
NFT = "sos_commands/firewall_tables/nft_-a_list_ruleset"
SYSCTL = "sos_commands/kernel/sysctl_-a"
DPKG = "sos_commands/dpkg/dpkg_-l"
RPM = "sos_commands/rpm/package-data"
UNAME = "sos_commands/kernel/uname_-a"
HOSTNAME = "sos_commands/host/hostname"
MAX_MEMBERS = 500_000  # sos reports hold tens of thousands of small files
VIA = "sos"
LIBVIRT_TABLE = "libvirt_network"

# Host paths sos copies (sos 4.9's plugins; the file names are in docs/sos-reports.md).
COPIED = [
    "etc/os-release", "usr/lib/os-release",
    "etc/libvirt/qemu/networks/*.xml", "etc/libvirt/qemu/networks/autostart/*.xml",
    "run/libvirt/network/*.xml", "etc/libvirt/qemu/*.xml", "etc/libvirt/nwfilter/*.xml",
    "etc/docker/daemon.json",
    "etc/ufw/ufw.conf", "etc/ufw/user.rules", "etc/ufw/user6.rules", "etc/ufw/before.rules",
    "etc/firewalld/firewalld.conf", "etc/firewalld/zones/*.xml", "etc/firewalld/policies/*.xml",
    "etc/nftables.conf", "etc/sysconfig/nftables.conf", "etc/nftables/*",
    "etc/containers/containers.conf",
    "proc/net/ip_tables_names", "proc/net/ip6_tables_names",
    "proc/[0-9]*/net/ip_tables_names", "proc/[0-9]*/net/ip6_tables_names",
    *(f"etc/systemd/system/{w}/*" for w in specs.WANTS),
]
COMMANDS = [NFT, SYSCTL, DPKG, RPM, UNAME, HOSTNAME]
WANTED = COMMANDS + COPIED

# Catalogued sources no sos plugin collects, and what follows; facts refuses the parts that
# read them (see facts.not_collected). Sources missing here but absent from a report simply
# were not on the host (sos copies them when they exist).
NOT_COLLECTED = {
    specs.NETWORK_CONF: "the libvirt plugin copies libvirt.conf, libvirtd.conf, qemu.conf and others, not network.conf",
    specs.LIBVIRT_HOOKS: "the libvirt plugin does not copy /etc/libvirt/hooks",
    specs.LIBVIRT_QEMU_HOOKS: "the libvirt plugin does not copy /etc/libvirt/hooks",
    specs.LIBVIRT_NETWORK_HOOKS: "the libvirt plugin does not copy /etc/libvirt/hooks",
    specs.UFW_DEFAULTS: "the ufw plugin copies /etc/ufw only",
    specs.FIREWALLD_ZONE_DIRS[1]: "the firewalld plugin copies /etc/firewalld only, not the packaged zones",
    specs.FIREWALLD_POLICY_DIRS[1]: "the firewalld plugin copies /etc/firewalld only",
    specs.FIREWALLD_STATE: "vnetmigrate's firewalld state query is not among the firewalld plugin's commands",
    specs.FIREWALLD_ZONE_T: "the zone of each bridge is not asked by the firewalld plugin",
    specs.NFTABLES_INCLUDE_DIRS[1]: "the firewall_tables plugin copies /etc/nftables only",
    specs.NFTABLES_INCLUDE_DIRS[2]: "the firewall_tables plugin copies /etc/nftables only",
    **{p: "no sos plugin copies iptables-services' or netfilter-persistent's saved rules"
       for p in specs.IPTABLES_SERVICES_FILES + specs.NETFILTER_PERSISTENT_FILES},
    specs.SHOREWALL_CONF: "no sos plugin read here copies shorewall's configuration",
    specs.CSF_CONF: "no sos plugin copies csf's configuration",
    **{p: "no sos plugin copies ferm's configuration" for p in specs.FERM_CONFS},
    specs.CONTAINERS_CONFS[1]: "the podman and docker plugins copy /etc/containers only",
    specs.TXN_JOURNALS: "sos knows nothing of vnetmigrate's transaction journals",
}

# Sources that only exist when one of these packages is installed: where the report's package
# list has none of them, the source is absent from the host, not merely uncollected.
OWNERS = {
    specs.UFW_DEFAULTS: ("ufw",),
    specs.FIREWALLD_ZONE_DIRS[1]: ("firewalld",), specs.FIREWALLD_POLICY_DIRS[1]: ("firewalld",),
    specs.FIREWALLD_STATE: ("firewalld",), specs.FIREWALLD_ZONE_T: ("firewalld",),
    **{p: ("iptables-services",) for p in specs.IPTABLES_SERVICES_FILES},
    **{p: ("iptables-persistent", "netfilter-persistent") for p in specs.NETFILTER_PERSISTENT_FILES},
    specs.SHOREWALL_CONF: ("shorewall", "shorewall6", "shorewall-core"),
    **{p: ("ferm",) for p in specs.FERM_CONFS},
    specs.CONTAINERS_CONFS[1]: ("containers-common", "golang-github-containers-common", "podman", "buildah"),
}

# Packages -> the tools scan looks for (Debian and RPM names).
PACKAGE_TOOLS = {
    "nftables": ("nft",),
    "iptables": ("iptables", "ip6tables", "iptables-nft", "iptables-legacy", "iptables-nft-save",
                 "ip6tables-nft-save", "iptables-legacy-save"),
    "iptables-nft": ("iptables", "ip6tables", "iptables-nft", "iptables-nft-save", "ip6tables-nft-save"),
    "iptables-legacy": ("iptables-legacy", "iptables-legacy-save"),
    "ebtables": ("ebtables",), "iproute2": ("tc",), "iproute": ("tc",), "iproute-tc": ("tc",),
    "libvirt-daemon": ("libvirtd",),
    "libvirt-clients": ("virsh",), "libvirt-client": ("virsh",),
    "dnsmasq-base": ("dnsmasq",), "dnsmasq": ("dnsmasq",),
    "docker.io": ("dockerd", "docker"), "docker-ce": ("dockerd",), "docker-ce-cli": ("docker",), "moby-engine": ("dockerd", "docker"),
    "podman": ("podman",), "ufw": ("ufw",), "firewalld": ("firewall-cmd", "firewalld"), "systemd": ("systemctl",),
}
# Fedora's and RHEL's network driver package carries virtnetworkd; Debian's has none (its
# libvirtd loads the driver as a module).
RPM_PACKAGE_TOOLS = {"libvirt-daemon-driver-network": ("virtnetworkd",)}
LIBVIRT_PACKAGES = ("libvirt-daemon", "libvirt-daemon-driver-network", "libvirt-libs", "libvirt0")
_DPKG_LINE = re.compile(r"^[a-z]i\s+(\S+?)(?::\S+)?\s+(\S+)\s")


def is_sos(path: Path) -> bool:
    """An extracted sos report (a directory with sos_commands/), or an xz archive (how sos
    writes them by default; a gzip one is told from a bundle by its members)."""
    if path.is_dir():
        return _top_dir(path) is not None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        head = os.read(fd, 6)
    except OSError:
        return False
    finally:
        os.close(fd)
    return head == XZ_MAGIC or (head[:2] == b"\x1f\x8b" and path.name.startswith("sosreport"))


def load(path: Path) -> Evidence:
    """The evidence in a sos report; one InputError for anything unreadable."""
    where = f"sos report {path}"
    if path.is_dir():
        top = _top_dir(path)
        if top is None:
            raise InputError(f"{where}: no sos_commands/ directory (not an extracted sos report)")
        members, links = _from_directory(top)
    else:
        from vnetmigrate.bundlefile import read_members

        raw, links = read_members(path, where, keep=_relative_member, max_members=MAX_MEMBERS)
        members = {name: data for name, data in raw.items()}
    if NFT not in members and not any(name.startswith("sos_commands/") for name in members) and not links:
        if not any(n.startswith("sos_commands") for n in links):
            raise InputError(f"{where}: none of the files vnetmigrate reads is in it (not a sos report?)")
    texts = {name: data.decode("utf-8", "replace") for name, data in members.items()}
    return evidence(texts, links, str(path))


def _relative_member(name: str) -> str | None:
    """The path inside the report of an archive member ("sosreport-HOST-.../etc/..." -> "etc/...")
    if vnetmigrate reads it, else None."""
    parts = PurePosixPath(name).parts
    if len(parts) < 2 or any(p in ("..", ".") for p in parts) or name.startswith("/"):
        return None
    rel = "/".join(parts[1:])
    return rel if any(fnmatch(rel, w) for w in WANTED) else None


def _top_dir(path: Path) -> Path | None:
    if (path / "sos_commands").is_dir():
        return path
    subs = [p for p in path.iterdir() if p.is_dir() and not p.is_symlink() and (p / "sos_commands").is_dir()]
    return subs[0] if len(subs) == 1 else None


def _from_directory(top: Path) -> tuple[dict[str, bytes], set[str]]:
    members: dict[str, bytes] = {}
    links: set[str] = set()
    total = 0
    for pattern in WANTED:
        for found in sorted(top.glob(pattern)):
            rel = found.relative_to(top).as_posix()
            if any(found.parents[i].is_symlink() for i in range(len(found.relative_to(top).parts) - 1)):
                continue  # reached through a link (proc/net -> self/net): read through its real path
            if found.is_symlink():
                links.add(rel)
                continue
            try:
                data = bounded.read_bytes(found, bounded.CONFIG_LIMIT, nofollow=True)
            except bounded.Unreadable as exc:
                raise InputError(f"sos report {top}: {rel} {exc.reason}")
            except OSError:
                continue
            total += len(data)
            if total > bounded.DOCUMENT_LIMIT:
                raise InputError(f"sos report {top}: the files read exceed {bounded.DOCUMENT_LIMIT // 2**20} MiB")
            members[rel] = data
    return members, links


# -- the mapping -----------------------------------------------------------------------------

def evidence(texts: dict[str, str], links: set[str], origin: str) -> Evidence:
    """Evidence from the report's files (path inside the report -> text) and link names."""
    ev = Evidence(meta={"source": "sos", "sos_report": origin, "not_collected": dict(NOT_COLLECTED)})
    uname = texts.get(UNAME, "").split()
    if len(uname) >= 3:
        ev.meta["kernel_release"] = uname[2]
    if texts.get(HOSTNAME, "").strip():
        ev.meta["hostname"] = texts[HOSTNAME].strip()
    _files(ev, texts, links)
    packages, listed_by = _packages(texts)
    if packages:
        for spec, owners in OWNERS.items():
            if not any(p in packages for p in owners):
                ev.meta["not_collected"].pop(spec, None)
    _tools(ev, packages, listed_by)
    _sysctls(ev, texts)
    _rulesets(ev, texts.get(NFT))
    return ev


def _files(ev: Evidence, texts: dict[str, str], links: set[str]) -> None:
    for rel, text in sorted(texts.items()):
        if rel.startswith("sos_commands/"):
            continue
        host = "/" + re.sub(r"^proc/\d+/net/", "proc/net/", rel)
        if host == "/usr/lib/os-release":
            if specs.OS_RELEASE in ev.files:
                continue
            host = specs.OS_RELEASE  # /etc/os-release links there on Debian and Fedora
        ev.add_file(FileRecord(host, text))
    directories = [specs.NETWORK_DEFINITIONS, specs.NETWORK_AUTOSTART, specs.NETWORK_STATUS,
                   specs.DOMAIN_DEFINITIONS, specs.NWFILTER_DEFINITIONS, specs.FIREWALLD_ZONE_DIRS[0],
                   specs.FIREWALLD_POLICY_DIRS[0], specs.NFTABLES_INCLUDE_DIRS[0],
                   *(specs.WANTS_T.format(wants=w) for w in specs.WANTS)]
    names = set(texts) | links
    for directory in directories:
        rel = directory.lstrip("/") + "/"
        ev.listings[directory] = sorted(n[len(rel):] for n in names if n.startswith(rel) and "/" not in n[len(rel):])
    for path in (specs.NETWORK_CONF,):
        ev.add_file(FileRecord(path, None, error=f"not collected by sos: {NOT_COLLECTED[path]}"))


def _packages(texts: dict[str, str]) -> tuple[dict[str, str], str]:
    """Installed packages (name -> version) and the sos file that listed them."""
    out = {}
    for line in texts.get(DPKG, "").splitlines():
        m = _DPKG_LINE.match(line)
        if m and line.startswith("ii"):
            out[m.group(1)] = m.group(2)
    if out:
        return out, DPKG
    for line in texts.get(RPM, "").splitlines():  # "name-version-release.arch<TAB>date ..."
        m = re.match(r"^(\S+?)-(\d[^-\s]*)-(\S+)\s", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out, RPM


def _tools(ev: Evidence, packages: dict[str, str], source: str) -> None:
    if not packages:
        ev.meta["not_collected"][specs.TOOLS] = "the report has no package list (dpkg or rpm plugin)"
        return
    tools: dict[str, str | None] = {}
    for package, names in {**PACKAGE_TOOLS, **(RPM_PACKAGE_TOOLS if source == RPM else {})}.items():
        if package in packages:
            for name in names:
                tools[name] = f"(package {package} {packages[package]})"
    ev.add_command(CommandRecord(specs.TOOLS, (source,), 0, stdout=json.dumps(tools, sort_keys=True), via=VIA))
    for package in LIBVIRT_PACKAGES:
        if package in packages:
            version = packages[package].split(":", 1)[-1]
            ev.add_command(CommandRecord(specs.DAEMON_VERSION_T.format(daemon=specs.LIBVIRT_DAEMONS[1]),
                                         (source, package), 0, stdout=f"{package} {version}\n", via=VIA))
            break


def _sysctls(ev: Evidence, texts: dict[str, str]) -> None:
    values = {}
    for line in texts.get(SYSCTL, "").splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            values[key.strip()] = value.strip()
    for key, path in (("net.ipv4.ip_forward", specs.IP_FORWARD), ("net.ipv6.conf.all.forwarding", specs.IPV6_FORWARDING)):
        if key in values:
            ev.add_file(FileRecord(path, values[key] + "\n"))


def _rulesets(ev: Evidence, text: str | None) -> None:
    if text is None:
        reason = "the report has no `nft -a list ruleset` (sos's firewall_tables plugin did not run it)"
        ev.add_command(CommandRecord(specs.NFT_CHAINS, ("nft", "-a", "list", "ruleset"), None, error=reason, via=VIA))
        return
    display = ("nft", "-a", "list", "ruleset")
    try:
        tables = nft_text.parse_ruleset(text, NFT)
    except InputError as exc:
        ev.add_command(CommandRecord(specs.NFT_CHAINS, display, None, error=exc.message, via=VIA))
        return
    # A table with a rule the text parser refuses keeps its chains (hooks, policies) but not its
    # rules: the evaluator then assumes any verdict for packets crossing it ("cannot tell"), as
    # for chains a live scan does not read. libvirt's own table must be read whole: ownership
    # would count its unread rules as missing.
    partly = {(t.family, t.name): t.errors[0] for t in tables if t.errors and not nft_iptables.managed(t.family, t.name)}
    unreadable = [e for (family, name), e in partly.items() if name == LIBVIRT_TABLE]
    chains_doc, listings = nft_text.documents(
        tables, lambda f, n: not nft_iptables.managed(f, n) and (f, n) not in partly)
    for (family, name), error in sorted(partly.items()):
        ev.add_error("sos.nft", f"the rules of table {family} {name} were not read: {error}")
    if unreadable:
        ev.add_command(CommandRecord(specs.NFT_CHAINS, display, None, error=unreadable[0], via=VIA))
    else:
        ev.add_command(CommandRecord(specs.NFT_CHAINS, display, 0, stdout=json.dumps(chains_doc), via=VIA))
    for doc in listings:
        table = doc["nftables"][0]["table"]
        ev.add_command(CommandRecord(specs.NFT_TABLE_T.format(family=table["family"], table=table["name"]), display,
                                     0, stdout=json.dumps(doc), via=VIA))
    _iptables(ev, tables)


def _iptables(ev: Evidence, tables) -> None:
    managed = [t for t in tables if nft_iptables.managed(t.family, t.name)]
    counters = {"ipv4": 0, "ipv6": 0}
    for t in managed:
        family = nft_iptables.FAMILIES[t.family]
        command = "iptables-nft" if family == "ipv4" else "ip6tables-nft"
        for chain in t.chains:
            key = specs.IPT_CHAIN_T.format(family=family, n=counters[family])
            counters[family] += 1
            argv = (command, "-t", t.name, "-S", chain["name"])
            try:
                if t.errors:
                    raise nft_text.NftTextError(t.errors[0])
                listing = nft_iptables.chain_listing(chain, [r for r in t.rules if r["chain"] == chain["name"]], NFT)
            except InputError as exc:
                ev.add_command(CommandRecord(key, argv, None, error=f"not in the sos report: {exc.message}", via=VIA))
                continue
            ev.add_command(CommandRecord(key, argv, 0, stdout=listing, via=VIA))
    legacy = {f: (ev.text(p) or "").split() for f, p in specs.TABLES_NAMES.items()}
    for family, names in legacy.items():
        for table in names:
            command = "iptables-legacy-save" if family == "ipv4" else "ip6tables-legacy-save"
            ev.add_command(CommandRecord(specs.LEGACY_TABLE_T.format(family=family, table=table), (command, "-t", table),
                                         None, error="not collected: sos saves no legacy iptables table of the host",
                                         via=VIA))
    if managed and not any(legacy.values()):  # iptables-nft made these tables, and no legacy table exists
        ev.add_command(CommandRecord(specs.IPTABLES_VERSION, ("nft", "-a", "list", "ruleset"), 0,
                                     stdout="(nf_tables): nft's listing has tables managed by iptables-nft and "
                                            "/proc/net/ip_tables_names lists no legacy table\n", via=VIA))
