"""Evidence -> HostFacts: typed, frozen facts with query helpers.

Each part is parsed on its own; a part whose evidence is missing or malformed is left as
None and the reason recorded, so the checks that need it are skipped (and say why) while
the others still run.
"""

from __future__ import annotations

import json
from dataclasses import field

from typing import TYPE_CHECKING

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError
from vnetmigrate.evidence import Evidence
from vnetmigrate.specs import (CATALOGUE, IPT_CHAIN_T, LEGACY_TABLE_T, NFT_CHAIN_T, NFT_CHAINS, NFT_TABLE_T, TOOLS, TXN_JOURNALS,
                               family_prefix, prefix)
from vnetmigrate.facts.docker import DockerFacts
from vnetmigrate.facts.docker import build as build_docker
from vnetmigrate.rules.iptables_save import LEGACY_WARNING, IptablesSave, assemble, parse_listing, parse_save
from vnetmigrate.facts.libvirt import LibvirtFacts
from vnetmigrate.facts.libvirt import build as build_libvirt
from vnetmigrate.facts.libvirt_rules import LibvirtRules
from vnetmigrate.facts.networks import model_view
from vnetmigrate.facts.networks import read as network_files
from vnetmigrate.facts.libvirt_rules import build as build_libvirt_rules
from vnetmigrate.rules.nft_ruleset import NftRuleset, TypedChain, parse_documents
from vnetmigrate.facts.containers import Presence
from vnetmigrate.facts.containers import build as build_containers
from vnetmigrate.facts.firewalld import FirewalldFacts
from vnetmigrate.facts.firewalld import build as build_firewalld
from vnetmigrate.facts.kernel import KernelFacts
from vnetmigrate.facts.kernel import build as build_kernel
from vnetmigrate.facts.nftservice import NftablesServiceFacts
from vnetmigrate.facts.nftservice import build as build_nftservice
from vnetmigrate.facts.nwfilter import NwfilterFacts
from vnetmigrate.facts.nwfilter import build as build_nwfilter
from vnetmigrate.facts.persist import PersistManager
from vnetmigrate.facts.persist import build as build_persist
from vnetmigrate.facts.portfwd import PortForward
from vnetmigrate.facts.portfwd import build as build_portfwd
from vnetmigrate.facts.system import SystemFacts
from vnetmigrate.facts.txn import TxnFacts
from vnetmigrate.facts.txn import build as build_txn
from vnetmigrate.facts.system import build as build_system
from vnetmigrate.facts.ufw import UfwFacts
from vnetmigrate.facts.ufw import build as build_ufw
from vnetmigrate.facts.units import Units
from vnetmigrate.facts.units import build as build_units
from vnetmigrate.firewall import Backend, Family

if TYPE_CHECKING:
    from vnetmigrate.facts.networks import LibvirtNetworks
    from vnetmigrate.facts.ownership import HostOwnership


@dataclass(frozen=True)
class IptablesFacts:
    """The iptables tables listed, per family and source."""
    saves: tuple[IptablesSave, ...]  # iptables-nft (ipv4, ipv6) and legacy tables where present

    def get(self, family: str, source: str = "nft") -> IptablesSave | None:
        return next((s for s in self.saves if s.family == family and s.source == source), None)

    def policy(self, family: str, table: str, chain: str, source: str = "nft") -> str | None:
        save = self.get(family, source)
        c = save.chain(table, chain) if save else None
        return c.policy if c else None


@dataclass(frozen=True)
class HostFacts:
    """Every fact read from one host's evidence (None: not read)."""
    system: SystemFacts | None = None
    nft: NftRuleset | None = None
    iptables: IptablesFacts | None = None
    libvirt: LibvirtFacts | None = None
    libvirt_rules: LibvirtRules | None = None
    docker: DockerFacts | None = None
    units: Units | None = None
    ufw: UfwFacts | None = None
    firewalld: FirewalldFacts | None = None
    nftables_service: NftablesServiceFacts | None = None
    persist: tuple[PersistManager, ...] | None = None
    containers: tuple[Presence, ...] | None = None
    nwfilter: NwfilterFacts | None = None
    port_forwards: tuple[PortForward, ...] | None = None
    transactions: TxnFacts | None = None
    kernel: KernelFacts | None = None
    # libvirt's networks as the model takes them (parsed once, here) and network.conf
    networks: "LibvirtNetworks | None" = None
    ownership: "HostOwnership | None" = None
    errors: tuple[dict[str, str], ...] = field(default=())
    # plan/migrate: the backend `migrate --to` moves libvirt to; libvirt.after_upgrade is then
    # that backend, and checks say "after the migration" (vnetmigrate.scan.for_migration).
    migration_target: Backend | None = None

    def missing(self, names: tuple[str, ...]) -> list[str]:
        return [n for n in names if getattr(self, n) is None]


def _nft(ev: Evidence) -> NftRuleset:
    rec = ev.command(NFT_CHAINS)
    if rec is None:
        raise InputError("nft was not listed")
    if not rec.ok:
        raise InputError(f"`{rec.display}` failed: {rec.error or rec.stderr.strip() or rec.returncode}")
    from dataclasses import replace

    from vnetmigrate.facts.nftsets import AnonymousSets

    try:
        chains = json.loads(rec.stdout)
        listings: list = []
        for k, r in sorted(ev.commands.items()):
            if not k.startswith((prefix(NFT_TABLE_T), prefix(NFT_CHAIN_T))) or not r.ok:
                continue
            typed = _typed(ev, k, r)
            if typed is not None:  # (its text, evidence.DeferredRecord, is not written: saving does that)
                listings += typed if isinstance(typed, list) else [typed]  # a table: each of its chains
            elif r.stdout:
                listings.append(_listing(r.stdout))
        return replace(parse_documents(chains, listings), sets=AnonymousSets(ev))
    except json.JSONDecodeError as exc:
        raise InputError(f"nft JSON output is malformed: {exc}")


def _typed(ev: Evidence, key: str, rec) -> "TypedChain | list[TypedChain] | None":
    """The listing the collector typed as it wrote `rec`'s text (a live scan), if `rec` is
    still that record: the same rules as parsing the text gives (tests/lab/test_nfnl_read.py)."""
    got = ev.typed.get(key)
    return got[1] if got is not None and got[0] is rec else None


_BY_LINE = '{"nftables": [\n'


def _listing(text: str) -> dict:
    """A listing, parsed; one written an object a line (a chain read over netlink, possibly of
    50,000 rules: collect/nfnl_chain.py) is parsed a line at a time, as its rules are typed,
    so its whole tree of dictionaries never exists at once."""
    if not text.startswith(_BY_LINE):
        return json.loads(text)
    if not text.endswith("\n]}"):
        raise json.JSONDecodeError("a listing written by line does not end with ]}", text, len(text))

    def items():
        start, end = len(_BY_LINE), len(text) - 3
        while start < end:
            stop = text.find("\n", start, end)
            stop = end if stop < 0 else stop
            line = text[start:stop]
            yield json.loads(line[:-1] if line.endswith(",") else line)
            start = stop + 1
    return {"nftables": items()}


def _iptables(ev: Evidence) -> IptablesFacts:
    saves = [s for fam in ("ipv4", "ipv6") if (s := _iptables_nft(ev, fam)) is not None]
    for family in ("ipv4", "ipv6"):
        records = [r for k, r in sorted(ev.commands.items()) if k.startswith(family_prefix(LEGACY_TABLE_T, family))]
        for rec in records:
            if not rec.ok:
                raise InputError(f"`{rec.display}` failed: {rec.error or rec.stderr.strip() or rec.returncode}")
        if records:
            text = "".join(r.stdout for r in records)
            saves.append(parse_save(text, family, "legacy", origin=records[0].argv[0]))
    tools = ev.command(TOOLS)
    if not saves and tools is not None and tools.ok and not json.loads(tools.stdout).get("iptables-nft"):
        raise InputError("iptables-nft is not installed")
    return IptablesFacts(tuple(saves))


def _iptables_nft(ev: Evidence, family: str) -> IptablesSave | None:
    """iptables-nft rules: the chains the collector listed one by one (`iptables-nft -t T -S C`)."""
    records = [r for k, r in ev.commands.items() if k.startswith(family_prefix(IPT_CHAIN_T, family))]
    if not records:
        return None
    chains, warning = [], False
    for rec in records:
        warning = warning or LEGACY_WARNING in rec.stderr or LEGACY_WARNING in rec.stdout
        if not rec.ok:
            if "incompatible" in rec.stderr:
                continue  # a table nft owns although it bears an iptables name: nft's listing has it
            raise InputError(f"`{rec.display}` failed: {rec.error or rec.stderr.strip() or rec.returncode}")
        table, chain = rec.argv[2], rec.argv[4]
        chains.append(parse_listing(family, table, chain, rec.stdout, rec.display))
    managed = {c.table for c in chains}
    nft_family = Family(family).nft
    names: dict[str, list[tuple[str, str | None]]] = {}
    chain_rec = ev.command(NFT_CHAINS)
    if chain_rec is not None and chain_rec.ok:
        for item in json.loads(chain_rec.stdout).get("nftables", []):
            c = item.get("chain")
            if c and c["family"] == nft_family and c["table"] in managed:
                policy = c.get("policy")
                names.setdefault(c["table"], []).append((c["name"], policy.upper() if policy else None))
    return assemble(family, "nft", chains, names, warning)


def _managers(ev: Evidence, parts: dict[str, object], attempt) -> None:
    """Facts about the other firewall managers; each needs the parts named in its lambda."""
    system, nft, ipt, libvirt = (parts.get(k) for k in ("system", "nft", "iptables", "libvirt"))
    saves = list(ipt.saves) if ipt else []
    attempt("units", lambda: build_units(ev))
    units = parts.get("units")
    if system is None or units is None:
        return
    attempt("ufw", lambda: build_ufw(ev, saves, system.tools))
    attempt("firewalld", lambda: build_firewalld(ev, units, nft, system.tools))
    attempt("nftables_service", lambda: build_nftservice(ev, units))
    attempt("persist", lambda: build_persist(ev, units))
    attempt("containers", lambda: build_containers(ev, nft, saves, system.tools))
    attempt("nwfilter", lambda: build_nwfilter(ev, saves, nft))
    if libvirt is not None and (ipt is not None or nft is not None):
        attempt("port_forwards", lambda: build_portfwd(ev, libvirt, saves, nft))


def _ownership(parts: dict[str, object]) -> "HostOwnership":
    from vnetmigrate.facts import ownership

    ipt = parts.get("iptables")
    return ownership.build(parts["networks"], parts["libvirt"], list(ipt.saves) if ipt else [], parts.get("nft"))


def _libvirt(ev: Evidence, parts: dict[str, object], attempt) -> None:
    """libvirt's facts and its networks as the model takes them, from one parse of each file."""
    attempt("networks", lambda: network_files(ev))  # every network XML file parsed, once
    files = parts.pop("networks", None)
    if files is None:
        return
    system = parts.get("system")
    if system is not None:
        attempt("libvirt", lambda: build_libvirt(ev, system, files))
    lv = parts.get("libvirt")
    attempt("networks", lambda: model_view(files, lv.version if lv else None, lv.effective.backend if lv else None))


# The facts modules that read each part's evidence (specs.CATALOGUE names them per source).
_PART_MODULES = {"ufw": "ufw", "firewalld": "firewalld", "nftables_service": "nftservice", "persist": "persist",
                 "containers": "containers", "nwfilter": "nwfilter", "port_forwards": "portfwd", "docker": "docker",
                 "system": "system"}


def not_collected(ev: Evidence, part: str) -> list[str]:
    """The sources of a part that the evidence's producer did not collect at all (a sos report
    lacks some: vnetmigrate/sosreport.py), with why: that part cannot be told, and absent files
    must not be read as "not configured"."""
    missing = ev.meta.get("not_collected") or {}
    module = _PART_MODULES.get(part)
    if not missing or module is None:
        return []
    return [f"{s.what} ({missing[s.what]})" for s in CATALOGUE if module in s.parsers and s.what in missing]


def build(ev: Evidence) -> HostFacts:
    errors: list[dict[str, str]] = []
    parts: dict[str, object] = {}

    def attempt(name: str, fn):
        try:
            if missing := not_collected(ev, name):
                raise InputError("not collected: " + "; ".join(missing))
            parts[name] = fn()
        except InputError as exc:
            errors.append({"unit": f"facts.{name}", "message": exc.message})
        except Exception as exc:  # a parser bug must not hide the other facts
            errors.append({"unit": f"facts.{name}", "message": f"{type(exc).__name__}: {exc}"})

    attempt("system", lambda: build_system(ev))
    attempt("kernel", lambda: build_kernel(ev))
    attempt("nft", lambda: _nft(ev))
    attempt("iptables", lambda: _iptables(ev))
    _libvirt(ev, parts, attempt)
    system = parts.get("system")
    if system is not None:
        ipt = parts.get("iptables")
        attempt("docker", lambda: build_docker(ev, list(ipt.saves) if ipt else [], system.tools))
    if "iptables" in parts or "nft" in parts:
        ipt = parts.get("iptables")
        attempt("libvirt_rules", lambda: build_libvirt_rules(list(ipt.saves) if ipt else [], parts.get("nft")))
    _managers(ev, parts, attempt)
    if ev.command(TXN_JOURNALS) is not None:
        attempt("transactions", lambda: build_txn(ev))
    if parts.get("libvirt") is not None and parts.get("networks") is not None \
            and (parts.get("iptables") is not None or parts.get("nft") is not None):
        attempt("ownership", lambda: _ownership(parts))
    libvirt = parts.get("libvirt")
    if libvirt is not None:
        errors.extend({"unit": "facts.libvirt", "message": m} for m in libvirt.errors)
    return HostFacts(errors=tuple(errors), **parts)
