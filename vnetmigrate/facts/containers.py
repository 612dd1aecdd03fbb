"""Container and cluster networking that writes its own firewall: Podman/netavark, kube-proxy,
LXD and Incus. Found by their configuration and by the tables and chains they create."""

from __future__ import annotations

import re

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.evidence import Evidence
from vnetmigrate.specs import CONTAINERS_CONFS
from vnetmigrate.firewall import Backend
from vnetmigrate.rules.iptables_save import IptablesSave
from vnetmigrate.rules.nft_ruleset import NftRuleset

_DRIVER = re.compile(r'^\s*firewall_driver\s*=\s*"([^"]*)"')


@dataclass(frozen=True)
class Presence:
    """Something found on the host that writes its own rules, and what shows it."""
    name: str
    evidence: tuple[str, ...]  # tables/chains/files that show it
    userspace: Backend  # what it writes its rules with


def _tables(nft: NftRuleset | None, names: tuple[str, ...]) -> list[str]:
    if nft is None:
        return []
    return [f"{t.family} {t.name}" for t in nft.tables if t.name in names]


def _chains(saves: list[IptablesSave], prefix: str) -> list[str]:
    found = sorted({f"{s.family} {c.table} {c.name}" for s in saves for c in s.chains() if c.name.startswith(prefix)})
    return found[:5] + ([f"... {len(found) - 5} more"] if len(found) > 5 else [])


def build(ev: Evidence, nft: NftRuleset | None, saves: list[IptablesSave], tools: dict[str, str | None]) -> tuple[Presence, ...]:
    out = []
    driver, where = None, None
    for path in CONTAINERS_CONFS:
        for n, line in enumerate((ev.text(path) or "").splitlines(), 1):
            m = _DRIVER.match(line)
            if m and driver is None:
                driver, where = m.group(1), f"{path}:{n}"
    netavark = _tables(nft, ("netavark",)) + _chains(saves, "NETAVARK")
    if netavark or driver or tools.get("podman"):
        userspace = Backend.NFTABLES if (driver == "nftables" or _tables(nft, ("netavark",))) else Backend.IPTABLES
        ev_list = tuple(netavark) + ((f"{where}: firewall_driver = \"{driver}\"",) if driver else ())
        out.append(Presence("podman", ev_list or ("podman is installed",), userspace))
    kube = _tables(nft, ("kube-proxy",))
    kube_chains = _chains(saves, "KUBE-")
    if kube or kube_chains:
        out.append(Presence("kube-proxy", tuple(kube + kube_chains), Backend.NFTABLES if kube else Backend.IPTABLES))
    for name in ("lxd", "incus"):
        tables = _tables(nft, (name,))
        if tables:
            out.append(Presence(name, tuple(tables), Backend.NFTABLES))
    return tuple(out)
