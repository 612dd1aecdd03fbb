"""Collect what the host is: distribution, installed firewall tools, sysctls, x_tables use."""

from __future__ import annotations

import json

from vnetmigrate.collect.host import LiveHost, which
from vnetmigrate.evidence import CommandRecord
from vnetmigrate.specs import (DAEMON_VERSION_T, IP_FORWARD, IPTABLES_VERSION, IPV6_FORWARDING, LIB_DIRS,
                               LIBVIRT_DAEMONS, LIBVIRT_LIBRARY_PREFIX, OS_RELEASE, TABLES_NAMES)
from vnetmigrate.specs import TOOLS as TOOLS_KEY

# Binaries whose presence matters: libvirt's backend choice depends on `nft` and `iptables`
# being in PATH (docs/libvirt-rules.md §1); the rest identify firewall managers and libvirt.
TOOLS = (
    "nft", "iptables", "ip6tables", "iptables-nft", "iptables-legacy", "iptables-nft-save",
    "ip6tables-nft-save", "iptables-legacy-save", "ebtables", "tc",
    "libvirtd", "virtnetworkd", "virsh", "dnsmasq", "dockerd", "docker", "podman",
    "ufw", "firewall-cmd", "firewalld", "systemctl",
)
KERNEL_FILES = (IP_FORWARD, IPV6_FORWARDING, TABLES_NAMES["ipv4"], TABLES_NAMES["ipv6"])


def collect(host: LiveHost) -> None:
    host.read(OS_RELEASE)
    tools = {name: which(name) for name in TOOLS}
    host.ev.add_command(CommandRecord(TOOLS_KEY, ("which", *TOOLS), 0,
                                      stdout=json.dumps(tools, sort_keys=True), via="python"))
    for path in KERNEL_FILES:
        host.read(path, kernel=True)
    if tools["iptables"]:
        host.run(IPTABLES_VERSION, ["iptables", "-V"])
    _libvirt_version(host, tools)


def _libvirt_version(host: LiveHost, tools: dict[str, str | None]) -> None:
    """libvirt's version from the same root as its configuration.

    On the live root the daemon says it (`--version`). Under --root nothing of the root is
    ever executed (it may be an untrusted image): its libvirt library's file name says it.
    """
    if str(host.root) == "/":
        for daemon in LIBVIRT_DAEMONS:
            if tools[daemon]:
                host.run(DAEMON_VERSION_T.format(daemon=daemon), [daemon, "--version"])
        return
    for directory in LIB_DIRS:
        host.listdir(directory, read=False, prefix=LIBVIRT_LIBRARY_PREFIX)
