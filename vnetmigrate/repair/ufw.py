"""ufw dropping guests' traffic (finding ufw-blocks-guests), worked around with ufw's own rules.

`ufw allow in on BR`, `ufw route allow in on BR`, `ufw route allow out on BR`: ufw saves them in
its user rules and loads them at every start, so they persist without vnetmigrate editing ufw's
files. Each is undone by its exact inverse, `ufw delete ...` with the same rule.
"""

from __future__ import annotations

from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Finding
from vnetmigrate.repair._facts import bridges
from vnetmigrate.repair.remedies import NotRepairable, RepairContext, Remedy, remedy
from vnetmigrate.txn import steps

DROPS = ("DROP", "REJECT")
# What ufw 0.36 prints (exit 0) when `ufw delete` finds no such rule: the undo of a step that
# never took effect.
NOT_THERE = "Could not delete non-existent rule"


def missing_rules(facts: HostFacts) -> list[list[str]]:
    """The ufw rules (argv after `ufw`) that would let libvirt's bridges through, as the check finds them."""
    ufw = facts.ufw
    routed = bridges(facts, ("nat", "route"))
    rules = []
    if (ufw.default_input or "DROP").upper() in DROPS:
        rules += [["allow", "in", "on", b] for b in bridges(facts) if b not in ufw.allow_in]
    if (ufw.default_forward or "DROP").upper() in DROPS:
        rules += [["route", "allow", "in", "on", b] for b in routed if b not in ufw.route_in]
        rules += [["route", "allow", "out", "on", b] for b in routed if b not in ufw.route_out]
    return rules


def inverse(rule: list[str]) -> list[str]:
    """`allow in on BR` -> `delete allow in on BR`; `route allow ...` -> `route delete allow ...`."""
    return ["route", "delete", *rule[1:]] if rule[0] == "route" else ["delete", *rule]


@remedy("ufw-blocks-guests")
def ufw_blocks_guests(facts: HostFacts, finding: Finding, ctx: RepairContext) -> Remedy | NotRepairable:
    rules = missing_rules(facts) if facts.ufw and facts.libvirt else []
    if not rules:
        return NotRepairable(finding.id, "ufw's rules already let libvirt's bridges through")
    return Remedy(finding.id, "allow libvirt's bridges in ufw (" + "; ".join(" ".join(r) for r in rules) + ")",
                  "ufw keeps these rules in its own configuration and loads them at every start; they are added "
                  "with the ufw command, never by editing its files.",
                  tuple(steps.command(f"ufw {' '.join(r)}", ["ufw", *r], ["ufw", *inverse(r)], (NOT_THERE,))
                        for r in rules))
