"""Exact commands for workarounds, built from validated names only."""

from __future__ import annotations

import shlex

from vnetmigrate.firewall import Backend, Family
from vnetmigrate.libvirt import netconf


def iptables_binary(family: str, source: str = "nft") -> str:
    """The iptables variant that manages a table: the explicit binary, never an alternative."""
    base = Family(family).iptables
    return f"{base}-legacy" if source == "legacy" else f"{base}-nft"


def quote_args(args: tuple[str, ...] | list[str]) -> str:
    return " ".join(a if a == "!" else shlex.quote(a) for a in args)


def restart_libvirt_network() -> str:
    # virtnetworkd on modular daemons (Fedora, Debian 13); libvirtd on monolithic set-ups.
    return ("systemctl restart virtnetworkd.service 2>/dev/null || systemctl restart libvirtd.service")


def pin_backend(backend: Backend) -> str:
    """Set firewall_backend in network.conf: every active assignment (libvirt reads the first),
    indented ones included, or a new line when there is none."""
    setting = r"^[[:space:]]*firewall_backend[[:space:]]*="
    return (f"if grep -Eq '{setting}' {netconf.PATH}; "
            f"then sed -i -E 's/{setting}.*/firewall_backend = \"{backend}\"/' {netconf.PATH}; "
            f"else echo 'firewall_backend = \"{backend}\"' >> {netconf.PATH}; fi")
