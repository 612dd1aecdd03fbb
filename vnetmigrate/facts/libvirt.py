"""Facts about libvirt: its version, the configured and effective firewall backend, networks."""

from __future__ import annotations

import re
from dataclasses import field

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError
from vnetmigrate.evidence import Evidence
from vnetmigrate.facts.networks import NetworkFiles
from vnetmigrate.facts.system import OsRelease, SystemFacts
from vnetmigrate.firewall import Backend
from vnetmigrate.libvirt.summary import NetworkSummary, of_network, of_status
from vnetmigrate.specs import DAEMON_VERSION_T, LIB_DIRS, LIBVIRT_DAEMONS
NFTABLES_SINCE = (10, 4, 0)  # libvirt 10.4.0 added the nftables backend
NFT_FIRST = (Backend.NFTABLES, Backend.IPTABLES)  # firewall_backend_priority orders
IPT_FIRST = (Backend.IPTABLES, Backend.NFTABLES)


@dataclass(frozen=True)
class BackendChoice:
    """The firewall backend libvirt would use, and why."""
    backend: Backend | None  # None: libvirt cannot pick one
    reason: str
    assumption: bool = False  # True when the distribution's build-time priority was assumed


@dataclass(frozen=True)
class LibvirtFacts:
    """libvirt's version, network.conf and the backend it uses."""
    version: tuple[int, int, int] | None
    network_conf_present: bool
    configured_backend: Backend | None
    configured_line: int | None
    effective: BackendChoice
    after_upgrade: BackendChoice
    networks: tuple[NetworkSummary, ...] = ()
    errors: tuple[str, ...] = field(default=())
    version_source: str | None = None  # the command (or library file) that told the version
    conf_error: str | None = None  # network.conf is malformed: libvirt's network driver will not start
    conf_not_collected: str | None = None  # why network.conf is unknown (a sos report lacks it)
    # The release "after the upgrade" is judged for: chosen with `scan --target-version`, else
    # None (the distribution's next libvirt, release unknown).
    upgrade_to: tuple[int, int] | None = None

    @property
    def version_text(self) -> str | None:
        return ".".join(map(str, self.version)) if self.version else None

    @property
    def active_networks(self) -> tuple[NetworkSummary, ...]:
        return tuple(n for n in self.networks if n.active)

    @property
    def installed(self) -> bool:
        return self.version is not None or self.network_conf_present or bool(self.networks)

    def network(self, name: str) -> NetworkSummary | None:
        return next((n for n in self.networks if n.name == name), None)


def parse_version(text: str) -> tuple[int, int, int] | None:
    m = re.search(r"\(libvirt\)\s+(\d+)\.(\d+)\.(\d+)", text) or re.search(r"(\d+)\.(\d+)\.(\d+)", text)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


_RHEL_FAMILY = ("rhel", "centos", "rocky", "almalinux", "ol", "fedora-asahi-remix")
_SLE_IDS = ("sles", "sled", "sle-micro", "opensuse-leap")
_TUMBLEWEED_IDS = ("opensuse-tumbleweed", "opensuse-slowroll")


def _major(os: OsRelease) -> int:
    try:
        return int((os.version_id or "0").split(".")[0])
    except ValueError:
        return 0


def distro_priority(os: OsRelease) -> tuple[tuple[str, ...], str]:
    """The build-time firewall_backend_priority of the distribution's libvirt, and why
    (docs/libvirt-versions.md has the sources)."""
    name = os.pretty_name or os.id or "unknown distribution"
    major = _major(os)
    if os.id == "fedora":
        if major >= 41 or os.version_id in (None, "rawhide"):
            return NFT_FIRST, f"{name} builds libvirt preferring nftables (Fedora 41 change)"
        return (Backend.IPTABLES,), f"{name} predates Fedora 41's switch: libvirt builds prefer iptables"
    if os.id in _RHEL_FAMILY or "rhel" in os.id_like:
        if major >= 10:
            return NFT_FIRST, f"{name} builds libvirt preferring nftables (RHEL 10 and later)"
        return IPT_FIRST, f"{name}: RHEL {major or ''} builds of libvirt list iptables first"
    if os.id in ("debian", "ubuntu") or "debian" in os.id_like:
        return IPT_FIRST, f"{name}: Debian-family libvirt lists iptables first (seen with Debian 13's 11.3 and 12.9)"
    if os.id in _TUMBLEWEED_IDS:
        return NFT_FIRST, f"{name} builds libvirt preferring nftables"
    if os.id in _SLE_IDS or "suse" in os.id_like:
        return IPT_FIRST, f"{name}: SUSE's libvirt for SLE 15 lists iptables first"
    return NFT_FIRST, f"{name}: assumed upstream libvirt's default priority (nftables, iptables)"


def upgrade_priority(os: OsRelease) -> tuple[tuple[Backend, ...] | None, str]:
    """The firewall_backend_priority of the next libvirt this host's distribution ships (its
    next release: Fedora 40 -> 41 brings nftables), and why; None when it cannot be told.
    Never a switch the distribution will not make: Debian, Ubuntu, RHEL <= 9 and SLE keep
    iptables first."""
    name = os.pretty_name or os.id or "an unknown distribution"
    if os.id == "fedora":
        return NFT_FIRST, f"{name}: Fedora 41 and later build libvirt preferring nftables"
    known = os.id in _RHEL_FAMILY or "rhel" in os.id_like or os.id in ("debian", "ubuntu") \
        or "debian" in os.id_like or os.id in _TUMBLEWEED_IDS or os.id in _SLE_IDS or "suse" in os.id_like
    if known:
        priority, why = distro_priority(os)
        return priority, why
    return None, (f"cannot tell which backend {name}'s next libvirt prefers (upstream's default is nftables; "
                  "distributions override it)")


def choose(version, configured, priority, reason_priority, tools, assumed) -> BackendChoice:
    if version is not None and version < NFTABLES_SINCE:
        return BackendChoice(Backend.IPTABLES, f"libvirt {'.'.join(map(str, version))} predates the nftables "
                                         "backend (10.4.0): iptables is its only backend")
    if configured:
        if not tools.get(configured.binary):
            return BackendChoice(None, f"network.conf requests {configured} but `{configured.binary}` is not "
                                       "installed: libvirt's network driver will fail to start")
        return BackendChoice(configured, f"firewall_backend = \"{configured}\" in network.conf")
    for backend in priority:
        if tools.get(backend.binary):
            return BackendChoice(backend, f"firewall_backend is unset; {reason_priority}; "
                                          f"`{backend.binary}` is installed", assumption=assumed)
    return BackendChoice(None, "neither nft nor iptables is installed: libvirt cannot create firewall rules")


def after_upgrade(os: OsRelease, configured: str | None, tools, target: tuple[int, int] | None = None) -> BackendChoice:
    """The backend libvirt uses after an upgrade: to `target` when one is chosen, else to the
    distribution's next libvirt."""
    if target is not None and target < NFTABLES_SINCE[:2]:
        return BackendChoice(Backend.IPTABLES, f"libvirt {target[0]}.{target[1]} predates the nftables backend (10.4.0): "
                                         "iptables is its only backend")
    if configured:
        return choose(None, configured, (), "", tools, False)
    priority, why = upgrade_priority(os)
    if priority is None:
        return BackendChoice(None, why, assumption=True)
    where = f"libvirt {target[0]}.{target[1]}" if target else "the next libvirt"
    return choose(None, None, priority, f"{where} of this distribution: {why}", tools, False)


def build(ev: Evidence, system: SystemFacts, files: NetworkFiles) -> LibvirtFacts:
    """`files`: libvirt's network files as facts.networks.read parsed them."""
    version, version_source = _version(ev)
    configured, line, conf_error = None, None, files.conf_error
    setting = files.conf.firewall_backend if files.conf is not None else None
    if setting is not None:
        configured, line = Backend(setting.value), setting.line
    priority, why = distro_priority(system.os)
    assumed = "assumed" in why
    networks = _networks(files)
    effective = choose(version, configured, priority, why, system.tools, assumed)
    active = [n for n in networks if n.active and n.creates_rules]
    recorded = sorted({n.status_backend for n in active if n.status_backend})
    if version is None and configured is None and active and not recorded:
        effective = BackendChoice(Backend.IPTABLES, "libvirt's version could not be read, but the status files of its "
                                  "active networks carry no removal recipe, which libvirt writes since it has two "
                                  "backends: it predates the nftables backend", assumption=True)
    elif version is None and configured is None and len(recorded) == 1:
        effective = BackendChoice(recorded[0], "libvirt's version could not be read; the status files of its "
                                  f"active networks say their rules were made by the {recorded[0]} backend",
                                  assumption=True)
    elif version is None and effective.backend is not None:
        effective = BackendChoice(effective.backend, effective.reason + " (libvirt's version could not be "
                                  "read: assumed >= 10.4, which has both backends)", assumption=True)
    after = after_upgrade(system.os, configured, system.tools)
    if files.conf_not_collected:
        effective, after = _without_conf(files.conf_not_collected, recorded, active, effective)
    return LibvirtFacts(version=version, network_conf_present=files.conf_present,
                        configured_backend=configured, configured_line=line, effective=effective,
                        after_upgrade=after, networks=networks,
                        errors=files.definition_problems + files.status_problems, version_source=version_source,
                        conf_error=conf_error, conf_not_collected=files.conf_not_collected)


def _without_conf(why: str, recorded, active, effective: BackendChoice) -> tuple[BackendChoice, BackendChoice]:
    """network.conf was not collected (a sos report): the backend in use only from the removal
    recipes of the active networks' status files, and nothing about the upgrade (a pinned
    backend and an unset one look alike in the status files)."""
    where = f"network.conf was not collected ({why})"
    if len(recorded) == 1:
        now = BackendChoice(recorded[0], f"{where}; the status files of the active networks say their rules were "
                                         f"made by the {recorded[0]} backend", assumption=True)
    elif not active and effective.backend is not None:
        now = BackendChoice(effective.backend, effective.reason + f" (assumed: {where})", assumption=True)
    else:
        raise InputError(f"cannot tell which backend libvirt uses: {where}, and the status files of the active "
                         "networks do not name one backend")
    return now, BackendChoice(None, f"cannot tell which backend libvirt uses after the upgrade: {where}",
                              assumption=True)


LIB_VERSION = re.compile(r"^libvirt\.so\.0\.(\d+)\.(\d+)$")


def _version(ev: Evidence) -> tuple[tuple[int, int, int] | None, str | None]:
    """From the daemon's `--version` (live root), else from the library's file name (--root)."""
    for daemon in LIBVIRT_DAEMONS:
        rec = ev.command(DAEMON_VERSION_T.format(daemon=daemon))
        if rec and rec.ok and (v := parse_version(rec.stdout)):
            return v, rec.display
    for directory in LIB_DIRS:
        for name in ev.listing(directory) or []:
            m = LIB_VERSION.match(name)
            if m:
                encoded, micro = int(m.group(1)), int(m.group(2))
                return (encoded // 1000, encoded % 1000, micro), f"{directory}/{name}"
    return None, None


def _networks(files: NetworkFiles) -> tuple[NetworkSummary, ...]:
    found: dict[str, NetworkSummary] = {}
    for net in files.definitions:
        found[net.name] = of_network(net, net.source, active=False).with_(autostart=net.name in files.autostart)
    for f in files.statuses:  # an active network's running definition
        defined = found.get(f.status.network.name)
        found[f.status.network.name] = of_status(f.status, f.path).with_(
            autostart=f.status.network.name in files.autostart,
            definition_path=defined.definition_path if defined else None)
    return tuple(found[k] for k in sorted(found))
