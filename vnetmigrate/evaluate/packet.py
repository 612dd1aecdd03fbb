"""A described packet: what the evaluator knows about it, and what it deliberately leaves open.

Fields are concrete where the probe fixes them (the guest's address, the bridge) and
symbolic where a probe stands for many packets: the uplink is "some interface that is not
a libvirt bridge, lo or a container/VM bridge" (`Iface` with constraints), the guest's source
port is "some ephemeral port" (an interval). A rule whose match depends on what is left open
makes the evaluator try both answers; only when they lead to different verdicts is the
result unknown, and the reason names the condition.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import field, replace

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.firewall import Family

Addr = ipaddress.IPv4Address | ipaddress.IPv6Address
EPHEMERAL = (32768, 60999)  # Linux's default ip_local_port_range
# Names an uplink never has here: lo, and the bridges/veths of libvirt, Docker, Podman, LXD,
# Incus and CNI plugins. Traffic to those is not "the outside".
NOT_UPLINK = ("lo", "virbr*", "vnet*", "docker*", "br-*", "veth*", "cni*", "flannel*", "cali*",
              "podman*", "lxcbr*", "lxdbr*", "incusbr*", "tap*", "macvtap*")


def wildcard(pattern: str) -> bool:
    return pattern.endswith("*") and not pattern.endswith("\\*")


def name_matches(name: str, pattern: str) -> bool:
    """nft's interface-name match: exact, or a prefix when the pattern ends with `*`."""
    if wildcard(pattern):
        return name.startswith(pattern[:-1])
    return name == pattern.replace("\\*", "*")


_NO_SPLITS: dict[frozenset[str], tuple[frozenset[str], tuple[str, ...]]] = {}


@dataclass(frozen=True)
class Iface:
    """A concrete interface, or "some interface" known (not) to match some name patterns."""

    name: str | None = None
    label: str = ""
    yes: frozenset[str] = frozenset()  # patterns it matches
    no: frozenset[str] = frozenset()  # patterns it does not match

    @classmethod
    def named(cls, name: str) -> "Iface":
        return cls(name=name, label=name)

    @classmethod
    def uplink(cls, bridges: tuple[str, ...]) -> "Iface":
        """Any interface but these bridges and NOT_UPLINK; one object per distinct `bridges`: every
        network's probes have this uplink, and each copy would hash and compare its `no` (every
        bridge of the host) again wherever interfaces key a cache."""
        return _uplink(cls, tuple(bridges))

    def decide(self, pattern: str) -> bool | None:
        if self.name is not None:
            return name_matches(self.name, pattern)
        if pattern in self.yes:
            return True
        if pattern in self.no:
            return False
        if not wildcard(pattern):
            exact, prefixes = self._no_split()
            if pattern in exact or pattern.startswith(prefixes):  # name_matches(pattern, p) for some p in no
                return False
            if any(not name_matches(pattern, p) for p in self.yes):
                return False
            return None
        prefix = pattern[:-1]
        if any(wildcard(p) and p[:-1].startswith(prefix) for p in self.yes):
            return True
        if any(wildcard(p) and prefix.startswith(p[:-1]) for p in self.no):
            return False
        return None

    def _no_split(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """`no` as exact names and wildcard prefixes: an uplink is tested against each interface
        name of a big ruleset, and `no` holds every libvirt bridge (each probe has its uplink,
        all alike: split once per distinct `no`)."""
        split = _NO_SPLITS.get(self.no)
        if split is None:
            split = _NO_SPLITS[self.no] = (frozenset(p.replace("\\*", "*") for p in self.no if not wildcard(p)),
                                           tuple(p[:-1] for p in self.no if wildcard(p)))
        return split

    def assume(self, pattern: str, matches: bool) -> "Iface":
        if matches and not wildcard(pattern):
            return replace(self, name=pattern.replace("\\*", "*"))
        return replace(self, yes=self.yes | {pattern}) if matches else replace(self, no=self.no | {pattern})

    def __str__(self) -> str:
        return self.name if self.name is not None else self.label

    def __hash__(self) -> int:  # cached: interfaces key the evaluator's per-ruleset caches
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash((self.name, self.label, self.yes, self.no))
            object.__setattr__(self, "_hash", h)
        return h


@functools.lru_cache(maxsize=64)
def _uplink(cls: type[Iface], bridges: tuple[str, ...]) -> Iface:
    return cls(label="the uplink", no=frozenset(bridges) | frozenset(NOT_UPLINK))


@dataclass(frozen=True)
class Packet:
    """One packet at the hooks it crosses, after any DNAT (addresses as the forward hook sees them)."""

    family: str  # "ip" or "ip6"
    hooks: tuple[str, ...]  # e.g. ("prerouting", "forward", "postrouting")
    iif: Iface
    oif: Iface | None  # None: delivered to the host (input)
    saddr: Addr
    daddr: Addr
    l4proto: str  # tcp, udp, icmp, ipv6-icmp
    sport: tuple[int, int] | None = None
    dport: tuple[int, int] | None = None
    icmp_type: str | None = None
    ct_state: str = "new"  # new, established, related, invalid, untracked
    ct_status: dict[str, bool] = field(default_factory=dict)  # flags known set/unset; others unknown
    ct_direction: str = "original"
    saddr_type: str | None = "unicast"  # fib/addrtype class (local, unicast, broadcast, ...); None: unknown
    daddr_type: str | None = "unicast"
    pkttype: str = "host"  # host, broadcast, multicast
    tcp_flags: frozenset[str] | None = None

    @property
    def nfproto(self) -> str:
        return Family.of_nft(self.family).value


def addr(text: str) -> Addr:
    return ipaddress.ip_address(text)
