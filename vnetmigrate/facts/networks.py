"""libvirt's network files, each parsed once per run, and the model's view of the networks.

`read` parses every status file (/run/libvirt/network/*.xml: the active networks, with the
removal recipe of their rules), every definition (/etc/libvirt/qemu/networks/*.xml) and
network.conf, once; the libvirt facts (summaries, the configured backend), ownership and the
migration planner all take what it returns instead of parsing again.

`model_view` says which backend holds each active network's rules: the one its removal
recipe names; without a recipe, iptables for libvirt <= 10.3 (it had no other backend) and
otherwise the backend libvirt uses now. The known networks are the defined ones that are
not active.
"""

from __future__ import annotations

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError
from vnetmigrate.evidence import Evidence
from vnetmigrate.libvirt import netconf
from vnetmigrate.libvirt.model import Network, NetworkStatus
from vnetmigrate.libvirt.versions import Backend
from vnetmigrate.libvirt.xml import parse_network, parse_status
from vnetmigrate.specs import NETWORK_AUTOSTART, NETWORK_CONF, NETWORK_DEFINITIONS, NETWORK_STATUS

RECIPES_SINCE = (10, 4)  # libvirt writes removal recipes into status files since it has two backends


@dataclass(frozen=True)
class StatusFile:
    """A network's status file: where it is, what it says and its text."""
    path: str
    status: NetworkStatus
    # The file as read: migrate's journal keeps it for its verification steps, which run
    # (and may be rolled back) in a later process that has no facts.
    text: str


@dataclass(frozen=True)
class NetworkFiles:
    """What libvirt's files say, parsed: the input of the libvirt facts and of the model's view."""

    statuses: tuple[StatusFile, ...]
    definitions: tuple[Network, ...]
    autostart: frozenset[str]  # names of the networks started at boot
    status_paths: tuple[str, ...]  # every status file, the unparsable ones too
    status_problems: tuple[str, ...]
    definition_problems: tuple[str, ...]
    conf: netconf.NetworkConf | None  # None: absent or malformed (conf_error)
    conf_present: bool
    conf_error: str | None = None
    conf_not_collected: str | None = None  # why network.conf is unknown (a sos report lacks it)


@dataclass(frozen=True)
class ActiveNetwork:
    """A running libvirt network, the backend its rules are in and its status file."""
    network: Network
    backend: Backend  # the backend its rules are in
    status: StatusFile


@dataclass(frozen=True)
class LibvirtNetworks:
    """The networks as the model takes them, and network.conf (what migrate rewrites)."""

    active: tuple[ActiveNetwork, ...]
    known: tuple[Network, ...]  # defined, not active
    problems: tuple[str, ...]  # files that could not be parsed
    status_paths: tuple[str, ...]
    conf: netconf.NetworkConf | None
    conf_error: str | None = None

    @property
    def pairs(self) -> list[tuple[Network, Backend]]:
        """(network, backend) of each active network: what ownership.classify takes."""
        return [(a.network, a.backend) for a in self.active]

    @property
    def networks(self) -> list[Network]:
        return [a.network for a in self.active]


def read(ev: Evidence) -> NetworkFiles:
    statuses, status_problems = [], []
    for rec in ev.files_in(NETWORK_STATUS, ".xml"):
        try:
            statuses.append(StatusFile(rec.path, parse_status(rec.content or "", rec.path), rec.content or ""))
        except InputError as exc:
            status_problems.append(exc.message)
    definitions, definition_problems = [], []
    for rec in ev.files_in(NETWORK_DEFINITIONS, ".xml"):
        try:
            definitions.append(parse_network(rec.content or "", rec.path))
        except InputError as exc:
            definition_problems.append(exc.message)
    conf_rec = ev.file(NETWORK_CONF)
    conf, conf_error = None, None
    if conf_rec is not None and conf_rec.content is not None:
        try:
            conf = netconf.parse(conf_rec.content)
        except InputError as exc:
            conf_error = exc.message
    return NetworkFiles(
        statuses=tuple(statuses), definitions=tuple(definitions),
        autostart=frozenset(n[:-4] for n in ev.listing(NETWORK_AUTOSTART) or []),
        status_paths=tuple(rec.path for rec in ev.files_in(NETWORK_STATUS, ".xml")),
        status_problems=tuple(status_problems), definition_problems=tuple(definition_problems),
        conf=conf, conf_present=conf_rec is not None and conf_rec.exists, conf_error=conf_error,
        conf_not_collected=(ev.meta.get("not_collected") or {}).get(NETWORK_CONF))


def model_view(files: NetworkFiles, libvirt_version: tuple[int, ...] | None, current: str | None) -> LibvirtNetworks:
    active = []
    for f in files.statuses:
        if f.status.removal is not None:
            backend = f.status.removal.backend
        elif libvirt_version is not None and tuple(libvirt_version[:2]) < RECIPES_SINCE:
            backend = Backend.IPTABLES
        else:
            backend = Backend(current or Backend.IPTABLES)
        active.append(ActiveNetwork(f.status.network, backend, f))
    names = {a.network.name for a in active}
    return LibvirtNetworks(
        active=tuple(active), known=tuple(n for n in files.definitions if n.name not in names),
        problems=files.status_problems + files.definition_problems, status_paths=files.status_paths,
        conf=files.conf, conf_error=files.conf_error)
