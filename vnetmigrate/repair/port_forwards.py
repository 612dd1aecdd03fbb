"""Port forwards into NAT guests under libvirt's nftables backend (finding port-forward-nat-guest).

An accept for DNATed connections to each forwarded guest, first in libvirt's `forward` base chain,
ahead of its jump to `guest_input` (whose reject would end the connection), kept there across
reboots by vnetmigrate's libvirt network hook. Not in `guest_input` itself: libvirt 11.3 removes
and re-inserts a network's rules at the head of `guest_input` whenever the network or its daemon
restarts, which leaves an accept there behind the reject, and no hook runs after a daemon restart
re-inserted them; the jumps in `forward` are created once with the table and never re-inserted
(seen with real libvirt 11.3, docs/other-firewalls.md §9).
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
        lines.append(f'nft {fam} libvirt_network forward oifname "{nat[p.network].bridge}" '
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
    return Remedy(finding.id, "accept DNATed connections to the forwarded guests ahead of guest_input's reject, "
                  "kept by a libvirt network hook",
                  "The accept goes first in libvirt's forward chain, which libvirt leaves alone when a network or "
                  "its daemon restarts (in guest_input they re-insert their reject ahead of it); a reboot empties "
                  "the table, and the hook puts the accept back when the network starts.", kept)
