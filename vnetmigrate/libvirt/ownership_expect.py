"""The rules ownership.py compares the live state with, keyed for lookup.

For each active network, the rules of the backend its rules are in are *expected* (a
multiset: each live copy consumes one). The rules the same network would have in the other
backend, and the rules of known but inactive networks, *explain* a live rule as a leftover;
they are modelled only when a live rule needs explaining (on most hosts none does, and
modelling every network's rules of both backends was half of ownership's cost: ~0.1 ms a
network).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import field

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError
from vnetmigrate.libvirt.iptables_rules import IptRule
from vnetmigrate.libvirt.iptables_rules import network_rules as ipt_network_rules
from vnetmigrate.libvirt.model import Network
from vnetmigrate.libvirt.nft_rules import NftRule
from vnetmigrate.libvirt.nft_rules import network_rules as nft_network_rules
from vnetmigrate.libvirt.versions import VERSIONS, Backend, LibvirtVersion
from vnetmigrate.rules.iptables import canonical as ipt_canonical
from vnetmigrate.rules.nft import canonical as nft_canonical


@dataclass
class ExpectTable:
    """The canonical keys still expected of one backend, and which network needs each."""
    wanted: dict[tuple, list[str]] = field(default_factory=dict)     # key -> networks still to find
    original: dict[tuple, str] = field(default_factory=dict)         # key -> network that needs it
    reasons: dict[tuple, tuple[str, str]] = field(default_factory=dict)  # key -> (network, leftover reason)
    # what notes the explanations still to model, in the order they were asked for (the first
    # note of a key wins); both backends' tables share it, so either settles all in that order
    pending: list[Callable[[], None]] = field(default_factory=list)

    def want(self, key: tuple, network: str) -> None:
        self.wanted.setdefault(key, []).append(network)
        self.original[key] = network

    def note(self, key: tuple, network: str, reason: str) -> None:
        self.reasons.setdefault(key, (network, reason))

    def take(self, key: tuple) -> str | None:
        nets = self.wanted.get(key)
        return nets.pop(0) if nets else None

    def later(self, notes: Callable[[], None]) -> None:
        """Note what `notes` notes, once an explanation is asked for."""
        self.pending.append(notes)

    def explain(self, key: tuple) -> tuple[str | None, str | None]:
        if key in self.original:
            net = self.original[key]
            return net, f"a second copy of a rule network {net} needs"
        while self.pending:
            self.pending.pop(0)()
        return self.reasons.get(key, (None, None))

    def remaining(self) -> Iterator[tuple[tuple, list[str]]]:
        return ((k, v) for k, v in self.wanted.items() if v)


@dataclass
class Expected:
    """What libvirt's model expects live, per backend."""
    backends: set[Backend] = field(default_factory=set)
    ipt: ExpectTable = field(default_factory=ExpectTable)
    nft: ExpectTable = field(default_factory=ExpectTable)
    ipt_rules: dict[tuple, IptRule] = field(default_factory=dict)
    nft_rules: dict[tuple, NftRule] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.nft.pending = self.ipt.pending


def _version_for(version: LibvirtVersion, backend: Backend) -> LibvirtVersion:
    if version.supports(backend):
        return version
    return [v for v in VERSIONS.values() if v.supports(backend)][-1]


def _ipt(net: Network, version: LibvirtVersion) -> list[tuple[tuple, IptRule]]:
    ver = _version_for(version, Backend.IPTABLES)
    return [((r.family, r.table, r.chain, ipt_canonical(r.spec, r.family)), r) for r in ipt_network_rules(net, ver)]


def _nft(net: Network, version: LibvirtVersion) -> list[tuple[tuple, NftRule]]:
    ver = _version_for(version, Backend.NFTABLES)
    return [((r.family, r.chain, nft_canonical(r.exprs)), r) for r in nft_network_rules(net, ver)]


def expectations(active: Sequence[tuple[Network, Backend]], version: LibvirtVersion,
                 known: Iterable[Network] = ()) -> Expected:
    exp = Expected()
    active_names = set()
    for net, backend in active:
        if not net.has_firewall:
            continue
        active_names.add(net.name)
        exp.backends.add(backend)
        for table, build, store, own in ((exp.ipt, _ipt, exp.ipt_rules, Backend.IPTABLES),
                                         (exp.nft, _nft, exp.nft_rules, Backend.NFTABLES)):
            if backend is own:
                for key, rule in build(net, version):
                    store[key] = rule
                    table.want(key, net.name)
            else:
                table.later(_notes(table, build, net, version, f"network {net.name}'s rule from the {own.value} "
                                                              f"backend; its rules are now in {backend.value}"))
    for net in known:
        if net.name in active_names or not net.has_firewall:
            continue
        exp.ipt.later(_inactive_notes(exp, net, version))
    return exp


def _notes(table: ExpectTable, build, net: Network, version: LibvirtVersion, why: str) -> Callable[[], None]:
    """Note `net`'s rules that `build` models as explained by `why`."""
    def note() -> None:
        for key, _rule in build(net, version):
            table.note(key, net.name, why)
    return note


def _inactive_notes(exp: Expected, net: Network, version: LibvirtVersion) -> Callable[[], None]:
    """Note the rules of an inactive network in both backends as leftovers; a network the model
    refuses (e.g. a definition whose bridge name libvirt has not chosen yet) explains nothing."""
    def note() -> None:
        try:
            ipt, nft = _ipt(net, version), _nft(net, version)
        except InputError:
            return
        for key, _rule in ipt:
            exp.ipt.note(key, net.name, f"rule for network {net.name}, which is not active")
        for key, _rule in nft:
            exp.nft.note(key, net.name, f"rule for network {net.name}, which is not active")
    return note
