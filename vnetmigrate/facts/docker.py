"""Facts about Docker: daemon.json and the chains it created."""

from __future__ import annotations

import json
import re
from dataclasses import field
from typing import TYPE_CHECKING, Any

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.evidence import Evidence
from vnetmigrate.specs import DOCKER_DAEMON_JSON, DOCKER_VERSION
from vnetmigrate.rules.iptables_save import IptablesSave

if TYPE_CHECKING:
    from vnetmigrate.facts import HostFacts

DOCKER_CHAIN_PREFIX = "DOCKER"


def forward_drops(facts: "HostFacts") -> list[tuple[str, str]]:
    """(family, source) whose filter FORWARD policy is DROP, for the families libvirt forwards
    (the docker-forward-drop check reports them, its remedy accepts around them)."""
    families = {"ipv4"} | ({"ipv6"} if any(n.ipv6_subnets for n in facts.libvirt.networks) else set())
    out = []
    for save in facts.iptables.saves:
        chain = save.chain("filter", "FORWARD")
        if save.family in families and chain is not None and chain.policy == "DROP":
            out.append((save.family, save.source))
    return out


@dataclass(frozen=True)
class DockerFacts:
    """Docker: installed, its daemon.json, its chains and version."""
    installed: bool
    daemon_json: dict[str, Any] | None  # None: absent or unreadable
    daemon_json_error: str | None = None
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)  # "ipv4"/"ipv6" -> chain names
    version: tuple[int, int] | None = None  # (major, minor) from `dockerd --version`; None: unknown

    def setting(self, key: str, default: Any) -> Any:
        return (self.daemon_json or {}).get(key, default)

    @property
    def present(self) -> bool:
        return self.installed or self.daemon_json is not None or any(self.chains.values())


_VERSION = re.compile(r"\bversion (\d+)\.(\d+)")


def _version(ev: Evidence) -> tuple[int, int] | None:
    """"Docker version 28.3.2, build 578ccf6" -> (28, 3)."""
    rec = ev.command(DOCKER_VERSION)
    m = _VERSION.search(rec.stdout) if rec is not None and rec.ok else None
    return (int(m.group(1)), int(m.group(2))) if m else None


def build(ev: Evidence, saves: list[IptablesSave], tools: dict[str, str | None]) -> DockerFacts:
    data, error = None, None
    rec = ev.file(DOCKER_DAEMON_JSON)
    if rec is not None and rec.content is not None:
        try:
            data = json.loads(rec.content) if rec.content.strip() else {}
            if not isinstance(data, dict):
                data, error = None, "not a JSON object"
        except json.JSONDecodeError as exc:
            error = f"line {exc.lineno}: {exc.msg}"
    chains: dict[str, set[str]] = {}
    for save in saves:
        for chain in save.chains():
            if chain.name.startswith(DOCKER_CHAIN_PREFIX):
                chains.setdefault(save.family, set()).add(chain.name)
    installed = bool(tools.get("dockerd"))  # the docker client alone manages no firewall
    return DockerFacts(installed=installed, daemon_json=data, daemon_json_error=error,
                       chains={f: tuple(sorted(c)) for f, c in chains.items()}, version=_version(ev))
