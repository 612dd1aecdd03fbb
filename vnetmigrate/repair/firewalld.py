"""libvirt's bridges in a firewalld zone that rejects guests (finding firewalld-zones): each bridge
bound to the `libvirt` zone, at runtime (now) and with --permanent (from the next reload or boot),
through firewall-cmd. Each binding is undone by its exact inverse: the bridge back to the zone
it was in, or its permanent binding removed when it had none.
"""

from __future__ import annotations

from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Finding
from vnetmigrate.repair._facts import bridges
from vnetmigrate.repair.remedies import NotRepairable, RepairContext, Remedy, remedy
from vnetmigrate.txn import steps

GOOD_ZONES = ("libvirt", "libvirt-routed", "trusted")
ZONE = "libvirt"
# firewalld's error codes (as firewall-cmd prints them) for removing a permanent binding that is
# not there: the step never took effect, so its undo has nothing to do. Not seen here: firewalld
# needs D-Bus and cannot run in this workplace.
NOT_THERE = ("UNKNOWN_INTERFACE", "NOT_ENABLED")


def binding_steps(bridge: str, runtime_zone: str, permanent_zone: str | None) -> tuple[steps.Step, ...]:
    runtime = steps.command(f"firewall-cmd --zone={ZONE} --change-interface={bridge} (runtime, from {runtime_zone})",
                            ["firewall-cmd", f"--zone={ZONE}", f"--change-interface={bridge}"],
                            ["firewall-cmd", f"--zone={runtime_zone}", f"--change-interface={bridge}"])
    if permanent_zone is not None:
        permanent = steps.command(
            f"firewall-cmd --permanent --zone={ZONE} --change-interface={bridge} (from {permanent_zone})",
            ["firewall-cmd", "--permanent", f"--zone={ZONE}", f"--change-interface={bridge}"],
            ["firewall-cmd", "--permanent", f"--zone={permanent_zone}", f"--change-interface={bridge}"])
    else:
        permanent = steps.command(
            f"firewall-cmd --permanent --zone={ZONE} --add-interface={bridge}",
            ["firewall-cmd", "--permanent", f"--zone={ZONE}", f"--add-interface={bridge}"],
            ["firewall-cmd", "--permanent", f"--zone={ZONE}", f"--remove-interface={bridge}"], NOT_THERE)
    return permanent, runtime


@remedy("firewalld-zones")
def firewalld_zones(facts: HostFacts, finding: Finding, ctx: RepairContext) -> Remedy | NotRepairable:
    fw = facts.firewalld
    if fw is None or not fw.running:
        return NotRepairable(finding.id, "firewalld is not running")
    if not fw.has_libvirt_zone:
        return NotRepairable(finding.id, "firewalld has no `libvirt` zone: reinstall libvirt's network driver")
    wrong = {b: fw.zone_of[b] for b in bridges(facts) if b in fw.zone_of and fw.zone_of[b] not in GOOD_ZONES}
    if not wrong:
        return NotRepairable(finding.id, "libvirt's bridges are already in zones that let guests in")
    out = tuple(s for b, z in wrong.items() for s in binding_steps(b, z, fw.permanent_zone_of.get(b)))
    return Remedy(finding.id, f"bind {', '.join(wrong)} to firewalld's `{ZONE}` zone (permanent and runtime)",
                  f"The `{ZONE}` zone is the one libvirt ships for its bridges: it accepts guests' DHCP, DNS and "
                  "forwarded traffic. --permanent keeps the binding across reloads and reboots; the runtime "
                  "change applies it now.", out)
