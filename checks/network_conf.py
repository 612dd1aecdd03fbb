"""A malformed /etc/libvirt/network.conf stops libvirt's network driver from starting."""

from __future__ import annotations

import re

from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity, Workaround
from vnetmigrate.libvirt import netconf


@check("network-conf-invalid", "network.conf is malformed", Severity.BLOCKER, needs=("libvirt",))
def network_conf_invalid(facts: HostFacts):
    error = facts.libvirt.conf_error
    if error is None:
        return
    m = re.search(r": line (\d+): ", error)
    where = f"{netconf.PATH}:{m.group(1)}" if m else netconf.PATH
    yield Finding(
        "network-conf-invalid", Severity.BLOCKER, "network.conf is malformed: libvirt's network driver will not start",
        "libvirt refuses to load its network driver when network.conf does not parse (values are quoted "
        "strings, numbers or lists) or names an unknown firewall backend: no virtual network starts, in "
        "either backend. vnetmigrate judged the rest of the host as if firewall_backend were unset.",
        evidence=(Citation("file", where, error.split(": ", 1)[-1]),),
        workarounds=(Workaround("Fix the line (e.g. firewall_backend = \"iptables\", with the quotes), then "
                                "check the file parses", (f"grep -n firewall_backend {netconf.PATH}",)),))
