"""The recordings of real libvirt made by the peer tier (tests/data/libvirt, see its README).

Layout read here: ``tests/data/libvirt/<combo>/versions.json`` (libvirt version, configured
backend) and ``<combo>/<case>/`` with ``outcome.json`` (the case's networks, in start order,
and whether each started), ``nft-ruleset.nft``, ``nft-ruleset.json``, ``iptables-save.txt``,
``ip6tables-save.txt``, ``status/<network>.xml`` and ``tc-shim.log``; the network XMLs are
``tests/data/networks/<file>``. Every case was recorded on a freshly flushed namespace with a
freshly started daemon, the state the model's functions assume by default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest

from vnetmigrate.libvirt import Backend, Network, NetworkStatus, parse_network, parse_status

DATA = Path(__file__).resolve().parents[3] / "tests" / "data"
RECORDINGS = DATA / "libvirt"
NETWORKS = DATA / "networks"


@dataclass(frozen=True)
class Recording:
    combo: str
    case: str
    path: Path
    version: str
    configured_backend: str | None
    tools: dict


    @property
    def id(self) -> str:
        return f"{self.combo}/{self.case}"

    def text(self, name: str) -> str | None:
        p = self.path / name
        return p.read_text() if p.is_file() else None

    @cached_property
    def outcome(self) -> dict:
        return json.loads((self.path / "outcome.json").read_text())

    @cached_property
    def attempted(self) -> list[Network]:
        """The networks libvirt tried to start (defined), parsed from their definitions, in order."""
        return [parse_network((NETWORKS / n["file"]).read_text(), f"tests/data/networks/{n['file']}")
                for n in self.outcome["networks"] if n["outcome"] in ("started", "start-fails")]

    @cached_property
    def failed(self) -> frozenset[str]:
        """The names of the networks whose start failed."""
        return frozenset(n["name"] for n in self.outcome["networks"] if n["outcome"] == "start-fails")

    @property
    def started(self) -> list[Network]:
        return [n for n in self.attempted if n.name not in self.failed]

    def status(self, name: str) -> NetworkStatus | None:
        text = self.text(f"status/{name}.xml")
        return parse_status(text, f"{self.id}/status/{name}.xml") if text is not None else None

    @cached_property
    def backend(self) -> Backend:
        """The backend libvirt used: configured, else the one its status files record."""
        if self.configured_backend:
            return Backend(self.configured_backend)
        for net in self.started:
            st = self.status(net.name)
            if st is not None and st.removal is not None:
                return st.removal.backend
        return Backend.NFTABLES if "libvirt_network" in (self.text("nft-ruleset.nft") or "") else Backend.IPTABLES


def recordings() -> list[Recording]:
    out = []
    if not RECORDINGS.is_dir():
        return out
    for versions in sorted(RECORDINGS.glob("*/versions.json")):
        info = json.loads(versions.read_text())
        for case in sorted(versions.parent.iterdir()):
            if (case / "outcome.json").is_file():
                out.append(Recording(versions.parent.name, case.name, case, info["libvirt_version"],
                                     info.get("firewall_backend"), info))
    return out


def params(select=lambda rec: True):
    """pytest parameters over the recordings, or one skipped parameter when there are none."""
    recs = [r for r in recordings() if select(r)]
    if not recs:
        return [pytest.param(None, marks=pytest.mark.skip(reason="no recordings of real libvirt in tests/data/libvirt"))]
    return [pytest.param(r, id=r.id) for r in recs]
