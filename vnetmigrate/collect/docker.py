"""Collect Docker's daemon configuration (its chains come with the iptables listings)."""

from __future__ import annotations

from vnetmigrate.collect.host import LiveHost
from vnetmigrate.specs import DOCKER_DAEMON_JSON


def collect(host: LiveHost) -> None:
    host.read(DOCKER_DAEMON_JSON)
