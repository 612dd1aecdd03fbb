"""Collect Docker's daemon configuration (its chains come with the iptables listings)."""

from __future__ import annotations

from vnetmigrate.collect.host import LiveHost
from vnetmigrate.programs import which
from vnetmigrate.specs import DOCKER_DAEMON_JSON, DOCKER_VERSION


def collect(host: LiveHost) -> None:
    host.read(DOCKER_DAEMON_JSON)
    # Under --root nothing of the root is executed (it may be an untrusted image).
    if str(host.root) == "/" and which("dockerd"):
        host.run(DOCKER_VERSION, ["dockerd", "--version"])
