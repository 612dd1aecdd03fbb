"""The peer corpus: tests/data/networks/cases.json and the network XMLs beside it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

NETWORKS_DIR = Path(__file__).resolve().parents[1] / "data" / "networks"
RECORDINGS_DIR = Path(__file__).resolve().parents[1] / "data" / "libvirt"
OUTCOMES = ("started", "start-fails", "define-fails")


@dataclass(frozen=True)
class Combo:
    id: str
    version: str
    backend: str | None


@dataclass(frozen=True)
class Case:
    id: str
    networks: tuple[str, ...]          # file stems, in start order
    combos: tuple[str, ...]
    links: tuple[tuple[str, str], ...] = ()
    dirs: tuple[str, ...] = ()
    expect: dict = field(default_factory=dict)
    about: str = ""

    def xml(self, network: str) -> str:
        return (NETWORKS_DIR / f"{network}.xml").read_text()

    def expected(self, network: str) -> str:
        return self.expect.get(network, "started")


def load() -> tuple[dict[str, Combo], list[Case]]:
    doc = json.loads((NETWORKS_DIR / "cases.json").read_text())
    combos = {cid: Combo(cid, c["version"], c["backend"]) for cid, c in doc["combos"].items()}
    cases = []
    for c in doc["cases"]:
        case = Case(id=c["id"], networks=tuple(c["networks"]),
                    combos=tuple(c.get("combos", doc["default_combos"])),
                    links=tuple(tuple(link) for link in c.get("links", ())),
                    dirs=tuple(c.get("dirs", ())), expect=dict(c.get("expect", {})),
                    about=c.get("about", ""))
        unknown = set(case.combos) - set(combos)
        if unknown:
            raise ValueError(f"case {case.id}: unknown combos {sorted(unknown)}")
        for net in case.networks:
            if not (NETWORKS_DIR / f"{net}.xml").is_file():
                raise ValueError(f"case {case.id}: no network file {net}.xml")
        bad = {v for v in case.expect.values() if v not in OUTCOMES}
        if bad:
            raise ValueError(f"case {case.id}: unknown outcomes {sorted(bad)}")
        cases.append(case)
    ids = [c.id for c in cases]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate case ids in cases.json")
    return combos, cases
