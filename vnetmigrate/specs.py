"""The evidence catalogue: every evidence key and file path, named once.

Each source a collector records into Evidence (a file, a directory listing, a command's
output) is declared here with the collector module that records it and the facts module(s)
that read it. Collectors and parsers import these names; no other module spells a path or a
key (tests/unit/test_specs.py checks both directions). Adding a source: declare it here, record
it in its collector, read it in its parser.

Paths are the inspected host's (collectors read them under --root, kernel state excepted);
keys are those of `Evidence.commands`. A name ending in ``_T`` is a template (str.format) for a
family of sources (per kernel release, per bridge, per chain, ...).
"""

from __future__ import annotations

from vnetmigrate.dataclass_code import dataclass


@dataclass(frozen=True)
class Source:
    """Something collection reads: a file, a listing or a command."""
    name: str  # the constant below
    what: str  # the path, the key or the key's template
    kind: str  # "file", "files" (a directory: its listing and its files), "listing" (names only), "command"
    collector: str  # the module under vnetmigrate.collect that records it
    parsers: tuple[str, ...]  # the modules under vnetmigrate.facts that read it


CATALOGUE: list[Source] = []


def _declare(name: str, what: str, kind: str, collector: str, *parsers: str) -> str:
    CATALOGUE.append(Source(name, what, kind, collector, parsers))
    return what


# -- libvirt --------------------------------------------------------------------------------
NETWORK_CONF = _declare("NETWORK_CONF", "/etc/libvirt/network.conf", "file", "libvirt", "networks")
NETWORK_DEFINITIONS = _declare("NETWORK_DEFINITIONS", "/etc/libvirt/qemu/networks", "files", "libvirt", "networks")
NETWORK_AUTOSTART = _declare("NETWORK_AUTOSTART", "/etc/libvirt/qemu/networks/autostart", "files", "libvirt",
                             "networks")
# One file per active network: its running definition and the removal recipe of its rules.
NETWORK_STATUS = _declare("NETWORK_STATUS", "/run/libvirt/network", "files", "libvirt", "networks")
LIBVIRT_HOOKS = _declare("LIBVIRT_HOOKS", "/etc/libvirt/hooks", "files", "managers", "portfwd")
LIBVIRT_QEMU_HOOKS = _declare("LIBVIRT_QEMU_HOOKS", "/etc/libvirt/hooks/qemu.d", "files", "managers", "portfwd")
LIBVIRT_NETWORK_HOOKS = _declare("LIBVIRT_NETWORK_HOOKS", "/etc/libvirt/hooks/network.d", "files", "managers",
                                 "portfwd")
DOMAIN_DEFINITIONS = _declare("DOMAIN_DEFINITIONS", "/etc/libvirt/qemu", "files", "managers", "nwfilter")
NWFILTER_DEFINITIONS = _declare("NWFILTER_DEFINITIONS", "/etc/libvirt/nwfilter", "files", "managers", "nwfilter")
# The daemon's `--version` (live root only; under --root nothing of the root is executed).
DAEMON_VERSION_T = _declare("DAEMON_VERSION_T", "{daemon}.version", "command", "system", "libvirt")
LIBVIRT_DAEMONS = ("virtnetworkd", "libvirtd")
# Where libvirt's shared library lives under --root; its file name carries the version
# (libvirt.so.0.MAJOR*1000+MINOR.MICRO, e.g. libvirt.so.0.11003.0 for 11.3.0).
LIB_DIRS = tuple(_declare("LIB_DIRS", d, "listing", "system", "libvirt") for d in (
    "/usr/lib64", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib"))
LIBVIRT_LIBRARY_PREFIX = "libvirt.so.0."

# -- the system -----------------------------------------------------------------------------
OS_RELEASE = _declare("OS_RELEASE", "/etc/os-release", "file", "system", "system")
TOOLS = _declare("TOOLS", "tools", "command", "system", "system", "__init__")
IPTABLES_VERSION = _declare("IPTABLES_VERSION", "iptables.version", "command", "system", "system")
IP_FORWARD = _declare("IP_FORWARD", "/proc/sys/net/ipv4/ip_forward", "file", "system", "system")
IPV6_FORWARDING = _declare("IPV6_FORWARDING", "/proc/sys/net/ipv6/conf/all/forwarding", "file", "system", "system")
# The legacy x_tables tables that exist, per family (only those may be read: reading others creates them).
TABLES_NAMES = {"ipv4": _declare("TABLES_NAMES", "/proc/net/ip_tables_names", "file", "system", "system"),
                "ipv6": _declare("TABLES_NAMES", "/proc/net/ip6_tables_names", "file", "system", "system")}

# -- the kernel -----------------------------------------------------------------------------
KERNEL_CONFIG = _declare("KERNEL_CONFIG", "/proc/config.gz", "file", "kernel", "kernel")
BOOT_CONFIG_T = _declare("BOOT_CONFIG_T", "/boot/config-{release}", "file", "kernel", "kernel")
MODULES_BUILTIN_T = _declare("MODULES_BUILTIN_T", "/lib/modules/{release}/modules.builtin", "file", "kernel",
                             "kernel")
SCHED_MODULES_T = _declare("SCHED_MODULES_T", "/lib/modules/{release}/kernel/net/sched", "listing", "kernel",
                           "kernel")
# The x_tables modules of libvirt's iptables rules (RHEL 10 ships them in kernel-modules-extra).
NETFILTER_MODULES_T = _declare("NETFILTER_MODULES_T", "/lib/modules/{release}/kernel/net/netfilter", "listing",
                               "kernel", "kernel")

# -- rulesets -------------------------------------------------------------------------------
NFT_CHAINS = _declare("NFT_CHAINS", "nft.chains", "command", "nft", "__init__")
NFT_TABLE_T = _declare("NFT_TABLE_T", "nft.table.{family}.{table}", "command", "nft", "__init__")
NFT_CHAIN_T = _declare("NFT_CHAIN_T", "nft.chain.{n}", "command", "nft", "__init__")
# An anonymous set's elements, read over netlink only when a packet check reaches a lookup in
# it (chains read over netlink name their anonymous sets instead of listing them inline).
NFT_SET_T = _declare("NFT_SET_T", "nft.set.{n}", "command", "nft", "nftsets")
# `iptables-nft -t TABLE -S CHAIN`, the n-th chain listed of the family.
IPT_CHAIN_T = _declare("IPT_CHAIN_T", "ipt.{family}.{n}", "command", "iptables", "__init__")
# `iptables-legacy-save -t TABLE`, only for tables /proc/net/ip*_tables_names lists.
LEGACY_TABLE_T = _declare("LEGACY_TABLE_T", "legacy.{family}.{table}", "command", "iptables", "__init__")


def prefix(template: str) -> str:
    """The fixed start of a template's keys: "ipt.{family}.{n}" -> "ipt."."""
    return template.split("{", 1)[0]


def family_prefix(template: str, family: str) -> str:
    """The keys of one family: "ipt.{family}.{n}", "ipv4" -> "ipt.ipv4."."""
    return template.split("{family}", 1)[0] + family + "."


# -- other firewall managers ----------------------------------------------------------------
DOCKER_DAEMON_JSON = _declare("DOCKER_DAEMON_JSON", "/etc/docker/daemon.json", "file", "docker", "docker")
# `dockerd --version` (live root only, like libvirt's daemon): which daemon.json keys it knows.
DOCKER_VERSION = _declare("DOCKER_VERSION", "dockerd.version", "command", "docker", "docker")
UFW_CONF = _declare("UFW_CONF", "/etc/ufw/ufw.conf", "file", "managers", "ufw")
UFW_DEFAULTS = _declare("UFW_DEFAULTS", "/etc/default/ufw", "file", "managers", "ufw")
UFW_USER_RULES = _declare("UFW_USER_RULES", "/etc/ufw/user.rules", "file", "managers", "ufw")
UFW_USER6_RULES = _declare("UFW_USER6_RULES", "/etc/ufw/user6.rules", "file", "managers")
UFW_BEFORE_RULES = _declare("UFW_BEFORE_RULES", "/etc/ufw/before.rules", "file", "managers")
FIREWALLD_CONF = _declare("FIREWALLD_CONF", "/etc/firewalld/firewalld.conf", "file", "managers", "firewalld")
FIREWALLD_ZONE_DIRS = tuple(_declare("FIREWALLD_ZONE_DIRS", d, "files", "managers", "firewalld")
                            for d in ("/etc/firewalld/zones", "/usr/lib/firewalld/zones"))
FIREWALLD_POLICY_DIRS = tuple(_declare("FIREWALLD_POLICY_DIRS", d, "files", "managers")
                              for d in ("/etc/firewalld/policies", "/usr/lib/firewalld/policies"))
FIREWALLD_STATE = _declare("FIREWALLD_STATE", "firewalld.state", "command", "managers", "firewalld")
FIREWALLD_ZONE_T = _declare("FIREWALLD_ZONE_T", "firewalld.zone.{bridge}", "command", "managers", "firewalld")
NFTABLES_CONFS = tuple(_declare("NFTABLES_CONFS", p, "file", "managers", "nftservice")
                       for p in ("/etc/sysconfig/nftables.conf", "/etc/nftables.conf"))
NFTABLES_INCLUDE_DIRS = tuple(_declare("NFTABLES_INCLUDE_DIRS", d, "files", "managers", "nftservice")
                              for d in ("/etc/nftables", "/etc/nftables.d", "/etc/sysconfig/nftables.d"))
IPTABLES_SERVICES_FILES = tuple(_declare("IPTABLES_SERVICES_FILES", p, "file", "managers", "persist")
                                for p in ("/etc/sysconfig/iptables", "/etc/sysconfig/ip6tables"))
NETFILTER_PERSISTENT_FILES = tuple(_declare("NETFILTER_PERSISTENT_FILES", p, "file", "managers", "persist")
                                   for p in ("/etc/iptables/rules.v4", "/etc/iptables/rules.v6"))
SHOREWALL_CONF = _declare("SHOREWALL_CONF", "/etc/shorewall/shorewall.conf", "file", "managers", "persist")
FERM_CONFS = tuple(_declare("FERM_CONFS", p, "file", "managers", "persist")
                   for p in ("/etc/ferm/ferm.conf", "/etc/ferm.conf"))
CSF_CONF = _declare("CSF_CONF", "/etc/csf/csf.conf", "file", "managers", "persist")
CONTAINERS_CONFS = tuple(_declare("CONTAINERS_CONFS", p, "file", "managers", "containers")
                         for p in ("/etc/containers/containers.conf", "/usr/share/containers/containers.conf"))
SYSTEMCTL_SHOW = _declare("SYSTEMCTL_SHOW", "systemctl.show", "command", "managers", "units")
# Where systemd records enabled units when systemctl cannot be asked (another root, no systemd).
WANTS_T = _declare("WANTS_T", "/etc/systemd/system/{wants}", "listing", "managers", "units")
WANTS = ("multi-user.target.wants", "sysinit.target.wants", "network-pre.target.wants",
         "basic.target.wants", "network.target.wants")

# -- vnetmigrate's own transactions ---------------------------------------------------------
TXN_JOURNALS = _declare("TXN_JOURNALS", "txn.journals", "command", "txnstate", "txn")

