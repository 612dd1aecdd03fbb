"""Port forwards into NAT guests under libvirt's nftables backend (finding port-forward-nat-guest).

An accept for DNATed connections to each forwarded guest, first in libvirt's `guest_input` chain
(ahead of its reject), kept there by vnetmigrate's libvirt network hook: libvirt re-inserts its
own rules at the head of the chain when a network starts, and a reboot empties the table.
"""

from __future__ import annotations

from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Finding
from vnetmigrate.repair._facts import libvirt_on_nftables
from vnetmigrate.repair.hookrules import kept_by_hook
from vnetmigrate.repair.remedies import NotRepairable, RepairContext, Remedy, remedy
from vnetmigrate.txn.snapshot import FileUnusable


def accept_lines(facts: HostFacts) -> list[str]:
    nat = {n.name: n for n in facts.libvirt.networks if n.forward_mode == "nat" and n.bridge}
    lines = []
    for p in facts.port_forwards or ():
        if p.source == "hook" or p.network not in nat or not p.destination:
            continue
        fam = "ip6" if ":" in p.destination else "ip"
        # oifname, not oif: at boot the hook may run before this bridge exists.
        lines.append(f'nft {fam} libvirt_network guest_input oifname "{nat[p.network].bridge}" '
                     f"{fam} daddr {p.destination} ct status dnat accept")
    return list(dict.fromkeys(lines))


@remedy("port-forward-nat-guest")
def port_forward_nat_guest(facts: HostFacts, finding: Finding, ctx: RepairContext) -> Remedy | NotRepairable:
    if not libvirt_on_nftables(facts):
        return NotRepairable(finding.id, "libvirt uses its iptables backend now, where these forwards still "
                                         "work: repair them after the switch")
    lines = accept_lines(facts)
    if not lines:
        return NotRepairable(finding.id, "only hook scripts forward ports here: change them by hand")
    try:
        kept = kept_by_hook(ctx.root, finding.id, "accept DNATed connections to these guests ahead of "
                            "guest_input's reject", lines)
    except FileUnusable as exc:
        return NotRepairable(finding.id, exc.message)
    return Remedy(finding.id, f"accept DNATed connections into {len(lines)} guest address(es) in guest_input, "
                  "kept there by a libvirt network hook",
                  "libvirt's table cannot be given the rule for good: libvirt re-inserts its own rules ahead of "
                  "it when the network starts, and a reboot empties the table; the hook runs right after.", kept)
