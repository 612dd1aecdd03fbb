"""Collect what the host is: distribution, installed firewall tools, sysctls, x_tables use."""

from __future__ import annotations

import json

from vnetmigrate.collect.host import LiveHost, which

# Binaries whose presence matters: libvirt's backend choice depends on `nft` and `iptables`
# being in PATH (docs/libvirt-rules.md §1); the rest identify firewall managers and libvirt.
TOOLS = (
    "nft", "iptables", "ip6tables", "iptables-nft", "iptables-legacy", "iptables-nft-save",
    "ip6tables-nft-save", "iptables-legacy-save", "ebtables", "tc",
    "libvirtd", "virtnetworkd", "virsh", "dnsmasq", "dockerd", "docker", "podman",
    "ufw", "firewall-cmd", "firewalld", "systemctl",
)
KERNEL_FILES = (
    "/proc/sys/net/ipv4/ip_forward",
    "/proc/sys/net/ipv6/conf/all/forwarding",
    "/proc/net/ip_tables_names",
    "/proc/net/ip6_tables_names",
)


def collect(host: LiveHost) -> None:
    host.read("/etc/os-release")
    tools = {name: which(name) for name in TOOLS}
    from vnetmigrate.evidence import CommandRecord

    host.ev.add_command(CommandRecord("tools", ("which", *TOOLS), 0,
                                      stdout=json.dumps(tools, sort_keys=True), via="python"))
    for path in KERNEL_FILES:
        host.read(path, kernel=True)
    if tools["iptables"]:
        host.run("iptables.version", ["iptables", "-V"])
    _libvirt_version(host, tools)


# Where libvirt's shared library lives; its file name carries the version
# (libvirt.so.0.MAJOR*1000+MINOR.MICRO, e.g. libvirt.so.0.11003.0 for 11.3.0).
LIB_DIRS = ("/usr/lib64", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib")


def _libvirt_version(host: LiveHost, tools: dict[str, str | None]) -> None:
    """libvirt's version from the same root as its configuration.

    On the live root the daemon says it (`--version`). Under --root nothing of the root is
    ever executed (it may be an untrusted image): its libvirt library's file name says it.
    """
    if str(host.root) == "/":
        for daemon in ("virtnetworkd", "libvirtd"):
            if tools[daemon]:
                host.run(f"{daemon}.version", [daemon, "--version"])
        return
    for directory in LIB_DIRS:
        host.listdir(directory, read=False, prefix="libvirt.so.0.")
