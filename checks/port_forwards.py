"""Port forwards into NAT guests, which libvirt's nftables backend rejects (docs/libvirt-rules.md §3)."""

from __future__ import annotations

from vnetmigrate.checks._commands import pin_backend, restart_libvirt_network
from vnetmigrate.checks._context import nftables_when
from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity, Workaround
from vnetmigrate.firewall import Backend
from vnetmigrate.words import plural


def _accepted(facts: HostFacts, p) -> bool:
    """Whether libvirt's table already accepts DNATed connections to the guest ahead of
    guest_input's reject: first in its `forward` chain (where `vnetmigrate repair` keeps such a
    rule) or in `guest_input` before the reject."""
    fam = "ip6" if ":" in (p.destination or "") else "ip"
    for name in ("forward", "guest_input"):
        chain = facts.nft.chain(fam, "libvirt_network", name) if facts.nft else None
        for rule in (chain.rules or ()) if chain else ():
            words = rule.text.split()
            if "reject" in words or "jump" in words:
                break
            if "accept" in words and "dnat" in words and p.destination in words:
                return True
    return False


@check("port-forward-nat-guest", "Port forwards into NAT guests break under the nftables backend",
       Severity.BLOCKER, needs=("port_forwards", "libvirt"), optional=("migration_target", "nft"),
       applies_to_backend=Backend.NFTABLES)
def port_forward_nat_guest(facts: HostFacts):
    when = nftables_when(facts)
    lv = facts.libvirt
    nat_nets = {n.name: n for n in lv.networks if n.forward_mode == "nat"}
    dnat = [p for p in facts.port_forwards if p.source != "hook" and p.network in nat_nets]
    hooks = [p for p in facts.port_forwards if p.source == "hook"]
    if not dnat and not hooks:
        return
    if when is None:
        return  # the iptables backend lets an ACCEPT before LIBVIRT_FWI through: nothing breaks
    done = [p for p in dnat if when == "now" and _accepted(facts, p)]
    if done and len(done) == len(dnat) and not hooks:
        yield Finding(
            "port-forward-nat-guest", Severity.INFO, "Port forwards into NAT guests are accepted ahead of "
            "guest_input's reject",
            "libvirt's table accepts DNATed connections to every forwarded guest before its reject. Keep the "
            "accept persistent: a reboot empties the table (`vnetmigrate repair` keeps it with a libvirt hook).",
            evidence=tuple(Citation("rule", p.where, p.text) for p in dnat))
        return
    dnat = [p for p in dnat if p not in done]
    ev = tuple(Citation("rule" if p.source != "hook" else "file", p.where,
                        p.text + (f"  -> network {p.network}" if p.network else "")) for p in dnat + hooks)
    cmds = []
    for p in dnat:
        br = nat_nets[p.network].bridge
        fam = "ip6" if ":" in (p.destination or "") else "ip"
        cmds.append(f'nft insert rule {fam} libvirt_network guest_input oif "{br}" {fam} daddr {p.destination} '
                    "ct status dnat accept")
    workarounds = []
    if cmds:
        workarounds.append(Workaround(
            "Accept DNATed connections to these guests ahead of guest_input's reject (libvirt re-creates its "
            "table when its network daemon restarts: re-add them from a /etc/libvirt/hooks/network script on "
            "'started')", tuple(dict.fromkeys(cmds)), repairable=True, id="accept-dnat-to-guests"))
    workarounds.append(Workaround("Keep libvirt on its iptables backend, where an ACCEPT before the "
                                  "LIBVIRT_FWI jump lets forwarded connections in",
                                  (pin_backend(Backend.IPTABLES), restart_libvirt_network())))
    what = f"{plural(len(dnat), 'DNAT rule')} into NAT guests" if dnat else ""
    what += (" and " if dnat and hooks else "") + (f"{plural(len(hooks), 'hook script line')} using iptables" if hooks else "")
    severity = Severity.BLOCKER if dnat else Severity.WARNING
    yield Finding(
        "port-forward-nat-guest", severity, f"Port forwards into NAT guests will be rejected {when}",
        f"Found {what}. Under libvirt's nftables backend a new connection forwarded to a guest on a NAT "
        "network meets `guest_input`'s reject, which is final; an ACCEPT in another table or chain cannot "
        "override it. Hook scripts that insert iptables ACCEPT rules for such forwards stop working too.",
        evidence=ev, workarounds=tuple(workarounds))
