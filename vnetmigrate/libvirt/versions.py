"""The libvirt releases whose firewall rules we model: one entry per distinct behaviour.

Each entry is the behaviour of a range of releases, from ``first`` up to the next entry's
``first``; ``version`` names it (the release it was checked against). What every flag says
and where it comes from (release, file, commit) is in docs/libvirt-versions.md; the entries
checked against real libvirt are recorded under tests/data/libvirt/<version>-*.

Lookup (``resolve``) takes any release x.y[.z]: the entry whose range holds it, and a notice
when the model is not exact for that release: a release inside a range whose start is not
pinned (e.g. the forward-dev name match arrived somewhere in 10.5-10.9), or one newer than
anything known (modelled as the newest entry). The notice is what scan, plan and the JSON
show as "libvirt X is modelled as Y".

Adding a behaviour:

1. Read ``src/network/network_iptables.c``, ``network_nftables.c``, ``bridge_driver*.c`` and
   ``src/util/virfirewall.c`` of that release and decide each flag below.
2. Add a ``LibvirtVersion(...)`` to ``_VERSIONS`` with its source, and a row to
   docs/libvirt-versions.md.
3. If the peer tier can run that release, record it (tests/peer, ``python -m
   tests.peer.record``) under ``tests/data/libvirt/<version>-<backend>/``: the corpus tests
   pick up every recorded version automatically and fail on any difference.

If a release changes a rule's shape rather than toggling one of these flags, add a flag and
branch on it in iptables_rules.py / nft_rules.py (they take the LibvirtVersion).
"""

from __future__ import annotations

import re

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError
from vnetmigrate.firewall import Backend


Release = tuple[int, int]

TABLE_COMMENT = ("Managed by libvirt for virtual networks: "
                 "https://libvirt.org/firewall.html#the-virtual-network-driver")


@dataclass(frozen=True)
class LibvirtVersion:
    """What a libvirt release does with its firewall rules."""
    version: str
    backends: frozenset[Backend]
    # libvirt >= 10.4 saves the commands that undo a network's rules in its status file
    # (<firewall name='fwRemoval'>); older releases rebuild --delete commands on stop.
    removal_recipe: bool
    # How the nftables backend fixes DHCP reply checksums: "tc" (a u32 filter with "action
    # csum" on the bridge) or None (no fix). The postroute_mangle chain of October 2024 was
    # reverted before 10.9.0 and is in no release.
    nft_checksum: str | None
    # Whether a network whose firewalld zone cannot be set (no firewalld) fails after the
    # private chains were created (9.0) or before (11.3): seen with the nat-zone case.
    setup_before_zone_check: bool = False
    # The comment of libvirt's nftables tables (12.x: "Managed by libvirt ..."); None: none.
    nft_table_comment: str | None = None
    # <forward dev=X> matched by name (iifname/oifname; X may not exist yet) rather than by
    # interface index (iif/oif, as for the bridge): 10.4.0 used the index.
    nft_forward_dev_by_name: bool = True
    # The first release this entry models, and the first one checked to behave so (from the
    # source or a recording). Releases in between are modelled by it with a notice.
    first: Release = (0, 0)
    checked_from: Release = (0, 0)
    # Where each fact comes from (release, file, commit); docs/libvirt-versions.md has the table.
    source: str = ""

    def supports(self, backend: Backend) -> bool:
        return backend in self.backends

    def __str__(self) -> str:
        return self.version


_BOTH = frozenset({Backend.IPTABLES, Backend.NFTABLES})

_VERSIONS = (
    LibvirtVersion(
        "9.0", frozenset({Backend.IPTABLES}), removal_recipe=False, nft_checksum=None,
        setup_before_zone_check=True, first=(9, 0), checked_from=(9, 0),
        source="Debian 12's libvirt 9.0.0, recorded (tests/data/libvirt/9.0-iptables); "
               "no nftables backend before 10.4.0 (NEWS.rst v10.4.0)"),
    LibvirtVersion(
        "10.4", _BOTH, removal_recipe=True, nft_checksum=None, nft_forward_dev_by_name=False,
        first=(10, 4), checked_from=(10, 4),
        source="NEWS.rst v10.4.0 (nftables backend); src/network/network_nftables.c of the "
               "backend as merged for 10.4.0: <forward dev> matched with iif/oif, no DHCP "
               "checksum fix; fwRemoval recipe saved by the same series (bridge_driver.c)"),
    LibvirtVersion(
        "10.9", _BOTH, removal_recipe=True, nft_checksum=None,
        first=(10, 5), checked_from=(10, 9),
        source="src/network/network_nftables.c and tests/networkxml2firewalldata/"
               "forward-dev-linux.nftables at 7581e3b6d5f4 (tag v10.9.0-rc2, 2024-10-30, "
               "'Revert \"network: add rule to nftables backend that zeroes checksum of DHCP "
               "responses\"'): <forward dev> matched with iifname/oifname, no postroute_mangle "
               "chain; the name match arrived after 10.4.0, release not pinned"),
    LibvirtVersion(
        "11.3", _BOTH, removal_recipe=True, nft_checksum="tc",
        first=(10, 10), checked_from=(11, 3),
        source="libvirt-11.3.0 release tarball, src/network/network_nftables.c "
               "(nftablesAddUdpChecksumFixWithTC: tc qdisc + u32 filter 'action csum ip and "
               "udp' per bridge, undone by the fwRemoval recipe); absent at 7581e3b6 "
               "(10.9.0-rc2); first release between 10.10.0 and 11.3.0 not pinned; recorded "
               "with Debian 13's 11.3.0 (tests/data/libvirt/11.3-*)"),
    LibvirtVersion(
        "12.9", _BOTH, removal_recipe=True, nft_checksum="tc", nft_table_comment=TABLE_COMMENT,
        first=(12, 0), checked_from=(12, 9),
        source="network_nftables.c VIR_NFTABLES_COMMENT ('add table ... { comment \"Managed by "
               "libvirt ...\"; }'), not in the 11.3.0 tarball; recorded with Debian "
               "trixie-backports' 12.9.0 (tests/data/libvirt/12.9-*), which differs from 11.3 "
               "in exactly this comment; first release between 11.4.0 and 12.9.0 not pinned"),
)

VERSIONS: dict[str, LibvirtVersion] = {v.version: v for v in _VERSIONS}
SUPPORTED_VERSIONS: tuple[str, ...] = tuple(VERSIONS)
DEFAULT_VERSION = "11.3"
OLDEST: Release = _VERSIONS[0].first
NEWEST_KNOWN: Release = (12, 9)   # the newest release checked (recorded in the peer tier)

_RELEASE = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def as_backend(backend: Backend | str) -> Backend:
    try:
        return Backend(backend)
    except ValueError:
        raise InputError(f"unknown firewall backend {backend!r} (expected iptables or nftables)") from None


def parse_release(text: str) -> Release:
    """"11.3", "11.3.0", "v10.6.0" -> (major, minor); InputError for anything else."""
    m = _RELEASE.fullmatch(str(text).strip())
    if not m:
        raise InputError(f"libvirt version {text!r} is not modelled: expected a release like 10.6 or 10.6.0 "
                         f"(known: {', '.join(SUPPORTED_VERSIONS)} and every release from 9.0 on)")
    return int(m.group(1)), int(m.group(2))


def _show(release: Release) -> str:
    return f"{release[0]}.{release[1]}"


def resolve(release: Release | None, backend: Backend | str | None = None) -> tuple[LibvirtVersion, str | None]:
    """The entry modelling `release` (None: unknown) and the notice to show when that model
    is not exact for it ("libvirt 10.6 is modelled as 10.4: ..."), restricted to entries
    with `backend` when given."""
    be = as_backend(backend) if backend is not None else None
    candidates = [v for v in _VERSIONS if be is None or v.supports(be)]
    if not candidates:
        raise InputError(f"no modelled libvirt version has the {backend} backend")
    if release is None:
        default = VERSIONS[DEFAULT_VERSION]
        chosen = default if default in candidates else candidates[-1]
        return chosen, f"libvirt of unknown version is modelled as {chosen.version}"
    key = (int(release[0]), int(release[1]))
    older = [v for v in candidates if v.first <= key]
    if not older:
        chosen = candidates[0]
        return chosen, f"libvirt {_show(key)} is modelled as {chosen.version}: older than any modelled release"
    chosen = older[-1]
    if key > NEWEST_KNOWN:
        return chosen, (f"libvirt {_show(key)} is modelled as {chosen.version}: newer than any release checked "
                        f"({_show(NEWEST_KNOWN)})")
    if key < chosen.checked_from:
        return chosen, (f"libvirt {_show(key)} is modelled as {chosen.version}: the release where this behaviour "
                        f"starts ({_show(chosen.first)}-{_show(chosen.checked_from)}) is not pinned")
    return chosen, None


def get_version(version: str | LibvirtVersion, backend: Backend | str | None = None) -> LibvirtVersion:
    """The entry for a release ("11.3", "11.3.0", "v10.6.0", or a LibvirtVersion): any release
    from 9.0 on; one newer than anything known gets the newest behaviour."""
    if isinstance(version, LibvirtVersion):
        found = version
    else:
        release = parse_release(str(version))
        if release < OLDEST:
            raise InputError(f"libvirt version {version!r} is not modelled: releases from {_show(OLDEST)} on are")
        found, _notice = resolve(release)
    if backend is not None:
        be = as_backend(backend)
        if not found.supports(be):
            raise InputError(f"libvirt {version} has no {be.value} backend (it arrived in 10.4)")
    return found


def modelled_notice(version: str) -> str | None:
    """The "modelled as" notice for a release given as text (None when exact)."""
    return resolve(parse_release(version))[1]


def nearest_version(host: tuple[int, ...] | None, backend: Backend | str | None = None) -> tuple[LibvirtVersion, bool]:
    """The entry to model a host's libvirt with, and whether that model is exact for it."""
    chosen, notice = resolve(tuple(host[:2]) if host else None, backend)
    return chosen, notice is None
