"""Collect libvirt's network configuration: network.conf, definitions, status files."""

from __future__ import annotations

from vnetmigrate.collect.host import LiveHost
from vnetmigrate.specs import NETWORK_AUTOSTART, NETWORK_CONF, NETWORK_DEFINITIONS, NETWORK_STATUS


def collect(host: LiveHost) -> None:
    host.read(NETWORK_CONF)
    host.listdir(NETWORK_DEFINITIONS, ".xml")
    host.listdir(NETWORK_AUTOSTART, ".xml")
    host.listdir(NETWORK_STATUS, ".xml")


def bridges(ev) -> set[str]:
    """The bridge names libvirt's networks use, as far as the files say (for pruning reads).
    The files are parsed as facts parse them (the parser remembers each file's result, so
    facts/networks.py does not parse them again), without summarising them."""
    from vnetmigrate.errors import InputError
    from vnetmigrate.libvirt.xml import parse_network, parse_status

    found = set()
    for directory, status in ((NETWORK_DEFINITIONS, False), (NETWORK_STATUS, True)):
        for rec in ev.files_in(directory, ".xml"):
            try:
                text = rec.content or ""
                net = parse_status(text, rec.path).network if status else parse_network(text, rec.path)
            except InputError:
                continue
            if net.bridge:
                found.add(net.bridge)
    return found or {"virbr0"}
