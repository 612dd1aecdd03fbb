"""A network's scan-level summary: name, state, bridge, forward mode, subnets, rule backend.

Built from the model's own parser (vnetmigrate.libvirt.xml), so scan refuses exactly what the
model refuses: DOCTYPEs and entities, bad addresses, unsafe interface names.
"""

from __future__ import annotations

import dataclasses

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.firewall import Backend
from vnetmigrate.libvirt.model import ForwardMode, Network, NetworkStatus
from vnetmigrate.libvirt.xml import parse_network, parse_status

NO_RULE_MODES = ("open", "bridge", "private", "vepa", "passthrough", "hostdev")


@dataclass(frozen=True)
class NetworkSummary:
    """A libvirt network as scan's report shows it."""
    name: str
    active: bool
    bridge: str | None
    forward_mode: str  # "isolated" when there is no <forward>
    forward_dev: str | None
    subnets: tuple[str, ...]  # "192.168.122.0/24", "2001:db8::/64"
    bridge_addresses: tuple[str, ...]  # "192.168.122.1/24"
    status_backend: Backend | None = None  # backend of the saved fwRemoval recipe (status files)
    autostart: bool = False
    definition_path: str | None = None
    status_path: str | None = None
    network: Network | None = None  # the model's full view, for checks that build rules

    def with_(self, **changes) -> "NetworkSummary":
        return dataclasses.replace(self, **changes)

    @property
    def creates_rules(self) -> bool:
        return self.forward_mode not in NO_RULE_MODES

    @property
    def ipv4_subnets(self) -> tuple[str, ...]:
        return tuple(s for s in self.subnets if ":" not in s)

    @property
    def ipv6_subnets(self) -> tuple[str, ...]:
        return tuple(s for s in self.subnets if ":" in s)


def summarize(text: str, origin: str, status: bool) -> NetworkSummary:
    """Summarize a definition (status=False) or a status file; InputError when malformed."""
    if status:
        return of_status(parse_status(text, origin), origin)
    return of_network(parse_network(text, origin), origin, active=False)


def of_status(parsed: NetworkStatus, origin: str) -> NetworkSummary:
    """The summary of an already parsed status file (an active network)."""
    backend = parsed.removal.backend if parsed.removal is not None else None
    return of_network(parsed.network, origin, active=True, status_backend=backend)


def of_network(net: Network, origin: str, active: bool, status_backend: Backend | None = None) -> NetworkSummary:
    """The summary of an already parsed network: a definition, or with active=True a status file's."""
    subnets, addrs = [], []
    for ip in net.ips:
        if ip.network is not None:
            subnets.append(str(ip.network))
            addrs.append(f"{ip.address}/{ip.network.prefixlen}")
    mode = "isolated" if net.forward_mode is ForwardMode.NONE else net.forward_mode.value
    return NetworkSummary(
        name=net.name, active=active, bridge=net.bridge, forward_mode=mode, forward_dev=net.forward_dev,
        subnets=tuple(subnets), bridge_addresses=tuple(addrs), status_backend=status_backend,
        definition_path=None if active else origin, status_path=origin if active else None, network=net)
