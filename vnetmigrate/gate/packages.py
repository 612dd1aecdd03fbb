"""The packages whose upgrade changes libvirt's network driver, and their version strings.

The firewall rules come from the network driver (a loadable module of libvirtd, or
virtnetworkd), whose build also fixes the backend priority (docs/libvirt-versions.md). Debian
13, its backports and Fedora package it as libvirt-daemon-driver-network; Debian 12 keeps it in
libvirt-daemon (the monolithic daemon). The other names move in lockstep with it (same source
package) and are watched so that an upgrade naming only one of them still reaches the gate.
"""

from __future__ import annotations

import re

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError

# The network driver first: its versions are the ones the gate reports.
WATCHED = ("libvirt-daemon-driver-network", "libvirt-daemon", "libvirt-daemon-common",
           "libvirt-daemon-system", "libvirt0", "libvirt-libs")

# "1:11.3.0-3+deb13u3", "12.9.0-1~bpo13+1", "0:11.6.0-1.fc43", "11.6.0": the upstream release
# is the part after an epoch, before the packaging revision.
_UPSTREAM = re.compile(r"(?:\d+:)?(\d+)\.(\d+)(?:[.\d]*)?(?:[-~+].*)?")


def release_of(version: str) -> tuple[int, int]:
    """The libvirt release (major, minor) of a package version string (Debian or RPM)."""
    m = _UPSTREAM.fullmatch(version.strip())
    if not m:
        raise InputError(f"package version {version!r}: expected a libvirt version such as 11.3.0-3 or 12.9.0")
    return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class PackageChange:
    """One package of a pending transaction: its version now and after (None: absent)."""

    name: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class LibvirtChange:
    """The pending change of libvirt's network driver: what the gate is asked to judge."""

    installed: str
    incoming: str
    packages: tuple[str, ...]


def libvirt_change(changes: list[PackageChange] | tuple[PackageChange, ...]) -> LibvirtChange | None:
    """The libvirt upgrade (or downgrade) among `changes`, or None when no watched package changes
    version. A first installation (no old version) and a removal (no new one) are not judged:
    before the first there are no networks to break, after the second no daemon to run them."""
    moving = [c for c in changes if c.name in WATCHED and c.old and c.new and c.old != c.new]
    if not moving:
        return None
    moving.sort(key=lambda c: WATCHED.index(c.name))
    first = moving[0]
    return LibvirtChange(installed=first.old, incoming=first.new,
                         packages=tuple(dict.fromkeys(c.name for c in moving)))
