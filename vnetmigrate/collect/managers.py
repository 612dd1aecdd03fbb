"""Collect what identifies other firewall managers: their configuration files and unit states.

Unit state comes from `systemctl show` where systemd runs (PID 1 is systemd: /run/systemd/system
exists) and the live root is being read; otherwise from the unit symlinks under
/etc/systemd/system/*.wants, which is also what a saved root or another --root shows.
"""

from __future__ import annotations

import json
import os

from vnetmigrate.collect.host import LiveHost

UNITS = (
    "firewalld.service", "ufw.service", "nftables.service", "iptables.service", "ip6tables.service",
    "netfilter-persistent.service", "shorewall.service", "shorewall6.service", "ferm.service",
    "csf.service", "lfd.service", "docker.service", "podman.service", "kube-proxy.service", "kubelet.service",
    "lxd.service", "snap.lxd.daemon.service", "incus.service", "virtnetworkd.service", "libvirtd.service",
    "virtnwfilterd.service",
)
FILES = (
    "/etc/ufw/ufw.conf", "/etc/default/ufw", "/etc/ufw/user.rules", "/etc/ufw/user6.rules",
    "/etc/ufw/before.rules",
    "/etc/firewalld/firewalld.conf", "/etc/sysconfig/nftables.conf", "/etc/nftables.conf",
    "/etc/sysconfig/iptables", "/etc/sysconfig/ip6tables", "/etc/iptables/rules.v4", "/etc/iptables/rules.v6",
    "/etc/shorewall/shorewall.conf", "/etc/ferm/ferm.conf", "/etc/ferm.conf", "/etc/csf/csf.conf",
    "/etc/containers/containers.conf", "/usr/share/containers/containers.conf",
)
DIRECTORIES = (
    ("/etc/firewalld/zones", ".xml"), ("/usr/lib/firewalld/zones", ".xml"),
    ("/etc/firewalld/policies", ".xml"), ("/usr/lib/firewalld/policies", ".xml"),
    ("/etc/nftables", ".nft"), ("/etc/nftables.d", ".nft"), ("/etc/sysconfig/nftables.d", ".nft"),
    ("/etc/libvirt/hooks", ""), ("/etc/libvirt/hooks/qemu.d", ""), ("/etc/libvirt/hooks/network.d", ""),
    ("/etc/libvirt/qemu", ".xml"), ("/etc/libvirt/nwfilter", ".xml"),
)
WANTS = ("multi-user.target.wants", "sysinit.target.wants", "network-pre.target.wants",
         "basic.target.wants", "network.target.wants")


def systemd_running(host: LiveHost) -> bool:
    return str(host.root) == "/" and os.path.isdir("/run/systemd/system")


def collect(host: LiveHost) -> None:
    for path in FILES:
        host.read(path)
    for directory, suffix in DIRECTORIES:
        host.listdir(directory, suffix)
    for wants in WANTS:
        # only the names matter: the symlinks say which units are enabled
        names = _names(host, f"/etc/systemd/system/{wants}")
        host.ev.listings[f"/etc/systemd/system/{wants}"] = names
    rec = host.ev.command("tools")
    tools = json.loads(rec.stdout) if rec is not None and rec.ok else {}
    if systemd_running(host) and tools.get("systemctl"):
        host.run("systemctl.show", ["systemctl", "show", "--property=Id,LoadState,UnitFileState,ActiveState",
                                    "--", *UNITS])
    if tools.get("firewall-cmd") and str(host.root) == "/":
        state = host.run("firewalld.state", ["firewall-cmd", "--state"], timeout=10)
        if state.ok:
            from vnetmigrate.collect.libvirt import bridges

            for bridge in sorted(bridges(host.ev)):  # names validated by the network parser
                host.run(f"firewalld.zone.{bridge}", ["firewall-cmd", f"--get-zone-of-interface={bridge}"],
                         timeout=10)


def _names(host: LiveHost, directory: str) -> list[str] | None:
    try:
        return sorted(os.listdir(host.root / directory.lstrip("/")))
    except OSError:
        return None
