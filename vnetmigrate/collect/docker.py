"""Collect Docker's daemon configuration (its chains come with the iptables listings)."""

from __future__ import annotations

from vnetmigrate.collect.host import LiveHost

DAEMON_JSON = "/etc/docker/daemon.json"


def collect(host: LiveHost) -> None:
    host.read(DAEMON_JSON)
