"""Evidence -> HostFacts: typed, frozen facts with query helpers.

Each part is parsed on its own; a part whose evidence is missing or malformed is left as
None and the reason recorded, so the checks that need it are skipped (and say why) while
the others still run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from vnetmigrate.errors import InputError
from vnetmigrate.evidence import Evidence
from vnetmigrate.facts.docker import DockerFacts
from vnetmigrate.facts.docker import build as build_docker
from vnetmigrate.facts.iptables import IptablesSave, parse_save
from vnetmigrate.facts.libvirt import LibvirtFacts
from vnetmigrate.facts.libvirt import build as build_libvirt
from vnetmigrate.facts.libvirt_rules import LibvirtRules
from vnetmigrate.facts.libvirt_rules import build as build_libvirt_rules
from vnetmigrate.facts.nft import NftRuleset, parse_documents
from vnetmigrate.facts.system import SystemFacts
from vnetmigrate.facts.system import build as build_system


@dataclass(frozen=True)
class IptablesFacts:
    saves: tuple[IptablesSave, ...]  # iptables-nft (ipv4, ipv6) and legacy tables where present

    def get(self, family: str, source: str = "nft") -> IptablesSave | None:
        return next((s for s in self.saves if s.family == family and s.source == source), None)

    def policy(self, family: str, table: str, chain: str, source: str = "nft") -> str | None:
        save = self.get(family, source)
        c = save.chain(table, chain) if save else None
        return c.policy if c else None


@dataclass(frozen=True)
class HostFacts:
    system: SystemFacts | None = None
    nft: NftRuleset | None = None
    iptables: IptablesFacts | None = None
    libvirt: LibvirtFacts | None = None
    libvirt_rules: LibvirtRules | None = None
    docker: DockerFacts | None = None
    errors: tuple[dict[str, str], ...] = field(default=())

    def missing(self, names: tuple[str, ...]) -> list[str]:
        return [n for n in names if getattr(self, n) is None]


def _nft(ev: Evidence) -> NftRuleset:
    rec = ev.command("nft.chains")
    if rec is None:
        raise InputError("nft was not listed")
    if not rec.ok:
        raise InputError(f"`{rec.display}` failed: {rec.error or rec.stderr.strip() or rec.returncode}")
    try:
        chains = json.loads(rec.stdout)
        listings = [json.loads(r.stdout) for k, r in sorted(ev.commands.items())
                    if (k.startswith("nft.table.") or k.startswith("nft.chain.")) and r.ok and r.stdout]
    except json.JSONDecodeError as exc:
        raise InputError(f"nft JSON output is malformed: {exc}")
    return parse_documents(chains, listings)


def _iptables(ev: Evidence) -> IptablesFacts:
    saves = []
    sources = (("iptables-nft-save", "ipv4", "nft"), ("ip6tables-nft-save", "ipv6", "nft"),
               ("legacy.ipv4", "ipv4", "legacy"), ("legacy.ipv6", "ipv6", "legacy"))
    ran = False
    for key, family, source in sources:
        rec = ev.command(key)
        if rec is None or rec.returncode is None:
            continue
        ran = True
        if not rec.ok:
            raise InputError(f"`{rec.display}` failed: {rec.stderr.strip() or rec.returncode}")
        saves.append(parse_save(rec.stdout, family, source, origin=rec.display))
    if not ran:
        raise InputError("iptables-nft-save is not installed")
    return IptablesFacts(tuple(saves))


def build(ev: Evidence) -> HostFacts:
    errors: list[dict[str, str]] = []
    parts: dict[str, object] = {}

    def attempt(name: str, fn):
        try:
            parts[name] = fn()
        except InputError as exc:
            errors.append({"unit": f"facts.{name}", "message": exc.message})
        except Exception as exc:  # a parser bug must not hide the other facts
            errors.append({"unit": f"facts.{name}", "message": f"{type(exc).__name__}: {exc}"})

    attempt("system", lambda: build_system(ev))
    attempt("nft", lambda: _nft(ev))
    attempt("iptables", lambda: _iptables(ev))
    system = parts.get("system")
    if system is not None:
        attempt("libvirt", lambda: build_libvirt(ev, system))
        ipt = parts.get("iptables")
        attempt("docker", lambda: build_docker(ev, list(ipt.saves) if ipt else [], system.tools))
    if "iptables" in parts or "nft" in parts:
        ipt = parts.get("iptables")
        attempt("libvirt_rules", lambda: build_libvirt_rules(list(ipt.saves) if ipt else [], parts.get("nft")))
    libvirt = parts.get("libvirt")
    if libvirt is not None:
        errors.extend({"unit": "facts.libvirt", "message": m} for m in libvirt.errors)
    return HostFacts(errors=tuple(errors), **parts)
