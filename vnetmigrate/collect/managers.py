"""Collect what identifies other firewall managers: their configuration files and unit states.

Unit state comes from `systemctl show` where systemd runs (PID 1 is systemd: /run/systemd/system
exists) and the live root is being read; otherwise from the unit symlinks under
/etc/systemd/system/*.wants, which is also what a saved root or another --root shows.
"""

from __future__ import annotations

import json
import os

from vnetmigrate import specs
from vnetmigrate.collect.host import LiveHost

UNITS = (
    "firewalld.service", "ufw.service", "nftables.service", "iptables.service", "ip6tables.service",
    "netfilter-persistent.service", "shorewall.service", "shorewall6.service", "ferm.service",
    "csf.service", "lfd.service", "docker.service", "podman.service", "kube-proxy.service", "kubelet.service",
    "lxd.service", "snap.lxd.daemon.service", "incus.service", "virtnetworkd.service", "libvirtd.service",
    "virtnwfilterd.service",
)
FILES = (
    specs.UFW_CONF, specs.UFW_DEFAULTS, specs.UFW_USER_RULES, specs.UFW_USER6_RULES, specs.UFW_BEFORE_RULES,
    specs.FIREWALLD_CONF, *specs.NFTABLES_CONFS, *specs.IPTABLES_SERVICES_FILES, *specs.NETFILTER_PERSISTENT_FILES,
    specs.SHOREWALL_CONF, *specs.FERM_CONFS, specs.CSF_CONF, *specs.CONTAINERS_CONFS,
)
DIRECTORIES = (
    *((d, ".xml") for d in specs.FIREWALLD_ZONE_DIRS), *((d, ".xml") for d in specs.FIREWALLD_POLICY_DIRS),
    *((d, ".nft") for d in specs.NFTABLES_INCLUDE_DIRS),
    (specs.LIBVIRT_HOOKS, ""), (specs.LIBVIRT_QEMU_HOOKS, ""), (specs.LIBVIRT_NETWORK_HOOKS, ""),
    (specs.DOMAIN_DEFINITIONS, ".xml"), (specs.NWFILTER_DEFINITIONS, ".xml"),
)


def systemd_running(host: LiveHost) -> bool:
    return str(host.root) == "/" and os.path.isdir("/run/systemd/system")


def collect(host: LiveHost) -> None:
    for path in FILES:
        host.read(path)
    for directory, suffix in DIRECTORIES:
        host.listdir(directory, suffix)
    for wants in specs.WANTS:
        # only the names matter: the symlinks say which units are enabled
        directory = specs.WANTS_T.format(wants=wants)
        host.ev.listings[directory] = _names(host, directory)
    rec = host.ev.command(specs.TOOLS)
    tools = json.loads(rec.stdout) if rec is not None and rec.ok else {}
    if systemd_running(host) and tools.get("systemctl"):
        host.run(specs.SYSTEMCTL_SHOW, ["systemctl", "show", "--property=Id,LoadState,UnitFileState,ActiveState",
                                    "--", *UNITS])
    if tools.get("firewall-cmd") and str(host.root) == "/":
        state = host.run(specs.FIREWALLD_STATE, ["firewall-cmd", "--state"], timeout=10)
        if state.ok:
            from vnetmigrate.collect.libvirt import bridges

            for bridge in sorted(bridges(host.ev)):  # names validated by the network parser
                host.run(specs.FIREWALLD_ZONE_T.format(bridge=bridge), ["firewall-cmd", f"--get-zone-of-interface={bridge}"],
                         timeout=10)


def _names(host: LiveHost, directory: str) -> list[str] | None:
    try:
        return sorted(os.listdir(host.root / directory.lstrip("/")))
    except OSError:
        return None
