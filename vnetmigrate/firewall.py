"""The two firewall backends and the two IP families, and what each tool calls them.

One name for each, used from collectors to reports: a `Backend` is libvirt's
``firewall_backend`` (and what a firewall tool writes its rules with); a `Family` is an IP
family as iptables and libvirt's status files name it ("ipv4", "ipv6"). Both are `str`
enums, so they compare equal to their names and serialize to them in JSON unchanged.

This module imports nothing else of the project: every layer may use it.
"""

from __future__ import annotations

import enum


class Backend(str, enum.Enum):
    """``firewall_backend`` in /etc/libvirt/network.conf (nftables first, as libvirt's default
    ``firewall_backend_priority`` and the CLI's choices list them)."""

    NFTABLES = "nftables"
    IPTABLES = "iptables"

    # Python 3.11's str() of a (str, Enum) member is "Backend.NFTABLES": print the name instead,
    # so f-strings and messages that received a plain string before read the same.
    def __str__(self) -> str:
        return self.value

    @property
    def other(self) -> "Backend":
        """The backend a switch from this one goes to."""
        return Backend.IPTABLES if self is Backend.NFTABLES else Backend.NFTABLES

    @property
    def binary(self) -> str:
        """The command libvirt runs for this backend (it must be installed for the backend to work)."""
        return "nft" if self is Backend.NFTABLES else "iptables"


class Family(str, enum.Enum):
    """An IP family as iptables-save's callers and libvirt's removal recipes name it."""

    IPV4 = "ipv4"
    IPV6 = "ipv6"

    def __str__(self) -> str:
        return self.value

    @property
    def nft(self) -> str:
        """The nftables family of iptables-nft's tables for it: ``ip`` or ``ip6``."""
        return "ip" if self is Family.IPV4 else "ip6"

    @property
    def version(self) -> int:
        """4 or 6 (libvirt's model and Python's ipaddress count families this way)."""
        return 4 if self is Family.IPV4 else 6

    @property
    def iptables(self) -> str:
        """The iptables command's name for it: ``iptables`` or ``ip6tables`` (variants add a suffix)."""
        return "iptables" if self is Family.IPV4 else "ip6tables"

    @classmethod
    def of_nft(cls, family: str) -> "Family":
        """``ip`` -> IPV4, ``ip6`` -> IPV6 (ValueError for inet, bridge, ...)."""
        for member in cls:
            if member.nft == family:
                return member
        raise ValueError(f"{family!r} is not an nftables IP family (expected ip or ip6)")

    @classmethod
    def of_version(cls, version: int) -> "Family":
        """4 -> IPV4, 6 -> IPV6."""
        for member in cls:
            if member.version == version:
                return member
        raise ValueError(f"{version!r} is not an IP version (expected 4 or 6)")


NFT_FAMILIES = tuple(f.nft for f in Family)  # ("ip", "ip6"): the families libvirt_network tables exist in
