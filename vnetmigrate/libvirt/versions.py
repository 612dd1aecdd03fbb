"""The libvirt versions whose firewall rules we model, and what differs between them.

Every entry here was checked against real libvirt running in a network namespace on this
kind of machine (see tests/data/model/README.md for the recordings each is checked
against). The rule *shapes* come from libvirt's source; the flags below capture the few
places where versions differ.

Adding a version is a few lines:

1. Read ``src/network/network_iptables.c`` and ``network_nftables.c`` of that release
   (``git diff vX vY -- src/network src/util/virfirewall.c``) and decide each flag below.
2. Add a ``LibvirtVersion(...)`` to ``_VERSIONS``.
3. Record the real listings for it with the peer tier (tests/peer) under
   ``tests/data/libvirt/<version>-<backend>/`` and run ``pytest tests/unit/libvirt``: the
   corpus tests pick up every recorded version automatically and fail on any difference.

If a new release changes a rule's shape rather than toggling one of these flags, add a flag
and branch on it in iptables_rules.py / nft_rules.py (they take the LibvirtVersion).
"""

from __future__ import annotations

from dataclasses import dataclass

from vnetmigrate.errors import InputError
from vnetmigrate.firewall import Backend


@dataclass(frozen=True)
class LibvirtVersion:
    version: str
    backends: frozenset[Backend]
    # libvirt >= 10.4 saves the commands that undo a network's rules in its status file
    # (<firewall name='fwRemoval'>); older releases rebuild --delete commands on stop.
    removal_recipe: bool
    # How the nftables backend fixes DHCP reply checksums: "tc" (a u32 filter with
    # "action csum" on the bridge, 11.x) or None (no fix). Some 10.x builds used a
    # postroute_mangle chain instead; no such version is registered (not checked here).
    nft_checksum: str | None
    # Whether a network whose firewalld zone cannot be set (no firewalld) fails after the
    # private chains were created (9.0) or before (11.3): seen with the nat-zone case.
    setup_before_zone_check: bool = False
    # The table comment added by later releases ("Managed by libvirt ..."); 11.3 has none.
    nft_table_comment: str | None = None

    def supports(self, backend: Backend) -> bool:
        return backend in self.backends

    def __str__(self) -> str:
        return self.version


_VERSIONS = (
    # Debian 12. iptables only (nftables arrived in 10.4).
    LibvirtVersion("9.0", frozenset({Backend.IPTABLES}), removal_recipe=False, nft_checksum=None,
                   setup_before_zone_check=True),
    # Debian 13. Both backends; Debian builds list iptables first in firewall_backend_priority.
    LibvirtVersion("11.3", frozenset({Backend.IPTABLES, Backend.NFTABLES}), removal_recipe=True,
                   nft_checksum="tc"),
)

VERSIONS: dict[str, LibvirtVersion] = {v.version: v for v in _VERSIONS}
SUPPORTED_VERSIONS: tuple[str, ...] = tuple(VERSIONS)
DEFAULT_VERSION = "11.3"


def as_backend(backend: Backend | str) -> Backend:
    try:
        return Backend(backend)
    except ValueError:
        raise InputError(f"unknown firewall backend {backend!r} (expected iptables or nftables)") from None


def get_version(version: str | LibvirtVersion, backend: Backend | str | None = None) -> LibvirtVersion:
    """Look up a registered version (accepts "11.3", "11.3.0", "v11.3.0")."""
    if isinstance(version, LibvirtVersion):
        found = version
    else:
        text = str(version).strip().lstrip("v")
        parts = text.split(".")
        key = ".".join(parts[:2])
        if len(parts) > 2 and any(p != "0" for p in parts[2:]):
            key = text  # a micro release is only accepted if registered as such
        found = VERSIONS.get(key)
        if found is None:
            raise InputError(f"libvirt version {version!r} is not modelled; known: {', '.join(SUPPORTED_VERSIONS)}")
    if backend is not None:
        be = as_backend(backend)
        if not found.supports(be):
            raise InputError(f"libvirt {found.version} has no {be.value} backend")
    return found


def nearest_version(host: tuple[int, ...] | None, backend: Backend | str | None = None) -> tuple[LibvirtVersion, bool]:
    """The registered version to model a host's libvirt with, and whether it is exact.

    The newest registered release not newer than the host's (the rule shapes change
    rarely), else the oldest; restricted to releases with `backend` when given.
    """
    candidates = [v for v in _VERSIONS if backend is None or v.supports(as_backend(backend))]
    if not candidates:
        raise InputError(f"no modelled libvirt version has the {backend} backend")
    if host is None:
        return VERSIONS[DEFAULT_VERSION] if VERSIONS[DEFAULT_VERSION] in candidates else candidates[-1], False
    key = tuple(host[:2])
    older = [v for v in candidates if tuple(int(x) for x in v.version.split(".")) <= key]
    chosen = older[-1] if older else candidates[0]
    return chosen, tuple(int(x) for x in chosen.version.split(".")) == key

