"""firewalld: the one manager libvirt integrates with, through its `libvirt` zone."""

from __future__ import annotations

from vnetmigrate import specs
from vnetmigrate.checks._commands import restart_libvirt_network
from vnetmigrate.checks._context import bridges
from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity, Workaround

GOOD_ZONES = ("libvirt", "libvirt-routed", "trusted")


@check("firewalld-zones", "firewalld zones of libvirt's bridges", Severity.WARNING, needs=("firewalld", "libvirt"),
       concerns_tools=("firewalld",))
def firewalld_zones(facts: HostFacts):
    fw = facts.firewalld
    if not fw.installed or not fw.running:
        return
    ev = [Citation("fact", "firewalld", fw.running_evidence),
          Citation("file", f"{specs.FIREWALLD_CONF}:{fw.backend_line}" if fw.backend_line
                   else specs.FIREWALLD_CONF, f"FirewallBackend={fw.backend}")]
    if not fw.has_libvirt_zone:
        yield Finding(
            "firewalld-zones", Severity.WARNING, "firewalld runs but has no `libvirt` zone",
            "libvirt puts its bridges into firewalld's `libvirt` zone, which allows guests' DHCP, DNS and "
            "SSH to the host. Without it the bridges land in the default zone, which rejects them. The zone "
            "file ships with libvirt's network driver package.",
            evidence=tuple(ev + [Citation("file", "/usr/lib/firewalld/zones/libvirt.xml", "absent")]),
            workarounds=(Workaround("Reinstall libvirt's network driver so the zone file comes back, then reload",
                                    ("dnf reinstall libvirt-daemon-driver-network   # Fedora",
                                     "firewall-cmd --reload", restart_libvirt_network())),))
        return
    wrong = {b: fw.zone_of[b] for b in bridges(facts) if b in fw.zone_of and fw.zone_of[b] not in GOOD_ZONES}
    if wrong:
        yield Finding(
            "firewalld-zones", Severity.WARNING,
            "libvirt bridges are in a firewalld zone that rejects guests: " + ", ".join(
                f"{b} in {z}" for b, z in wrong.items()),
            "Guests' DHCP and DNS to the host are rejected by that zone in either backend.",
            evidence=tuple(ev + [Citation("fact", b, f"zone {z}") for b, z in wrong.items()]),
            workarounds=(Workaround("Move the bridges to the libvirt zone", tuple(
                f"firewall-cmd --zone=libvirt --change-interface={b} --permanent" for b in wrong) +
                ("firewall-cmd --reload",), repairable=True, id="bind-libvirt-zone"),))
