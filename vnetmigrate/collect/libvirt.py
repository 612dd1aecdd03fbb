"""Collect libvirt's network configuration: network.conf, definitions, status files."""

from __future__ import annotations

from vnetmigrate.collect.host import LiveHost

NETWORK_CONF = "/etc/libvirt/network.conf"
DEFINITIONS = "/etc/libvirt/qemu/networks"
AUTOSTART = "/etc/libvirt/qemu/networks/autostart"
STATUS = "/run/libvirt/network"


def collect(host: LiveHost) -> None:
    host.read(NETWORK_CONF)
    host.listdir(DEFINITIONS, ".xml")
    host.listdir(AUTOSTART, ".xml")
    host.listdir(STATUS, ".xml")
