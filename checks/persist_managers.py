"""iptables-based managers (iptables-services, netfilter-persistent, shorewall, ferm, csf)."""

from __future__ import annotations

from vnetmigrate.checks._commands import pin_backend, restart_libvirt_network
from vnetmigrate.checks._context import bridges, nftables_when
from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity, Workaround
from vnetmigrate.firewall import Backend

ALLOW_HINT = {
    "shorewall": "declare the bridges in /etc/shorewall/interfaces and allow them in /etc/shorewall/policy",
    "ferm": "add `interface BR ACCEPT;` style rules for the bridges in INPUT and FORWARD of ferm.conf",
    "csf": "add the bridges to ETH_DEVICE_SKIP in /etc/csf/csf.conf, then `csf -r`",
}


def _allow_commands(name: str, config: str | None, brs: list[str]) -> tuple[str, ...]:
    if name in ("iptables-services", "netfilter-persistent"):
        cmds = []
        for b in brs:
            cmds += [f"iptables -I INPUT -i {b} -p udp -m multiport --dports 53,67 -j ACCEPT",
                     f"iptables -I INPUT -i {b} -p tcp --dport 53 -j ACCEPT",
                     f"iptables -I FORWARD -i {b} -j ACCEPT",
                     f"iptables -I FORWARD -o {b} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"]
        save = "service iptables save" if name == "iptables-services" else "netfilter-persistent save"
        return tuple(cmds) + (save,)
    return ()


@check("iptables-manager-restrictive", "An iptables-based firewall manager rejects libvirt's traffic",
       Severity.BLOCKER, needs=("persist", "libvirt"), optional=("migration_target",),
       concerns_tools=("iptables-services", "netfilter-persistent", "shorewall", "ferm", "csf"))
def iptables_manager_restrictive(facts: HostFacts):
    when = nftables_when(facts)
    for m in facts.persist:
        if not m.enabled:
            continue
        known = bool(m.restrictions)
        if m.name in ("iptables-services", "netfilter-persistent") and not known and not m.error:
            continue  # its saved rules accept everything: nothing to fix
        severity = Severity.BLOCKER if when and known else Severity.WARNING
        brs = bridges(facts)
        summary = (f"{m.name} restores a rule set whose INPUT/FORWARD end in DROP or REJECT. " if known else
                   f"{m.name} manages the firewall with restrictive defaults. ")
        summary += ("Under libvirt's nftables backend those drops apply to guests' DHCP, DNS and forwarded "
                    "traffic and libvirt cannot override them. " if when else
                    "Under the iptables backend libvirt inserts its rules ahead of them, but every restart of "
                    f"{m.name} removes libvirt's rules until libvirt's network daemon restarts. ")
        cmds = _allow_commands(m.name, m.config, brs)
        workarounds = []
        if cmds:
            workarounds.append(Workaround(f"Allow libvirt's bridges in {m.name}'s rules and save them", cmds))
        elif m.name in ALLOW_HINT:
            workarounds.append(Workaround(ALLOW_HINT[m.name]))
        workarounds.append(Workaround("Keep libvirt on its iptables backend", (pin_backend(Backend.IPTABLES),
                                                                               restart_libvirt_network())))
        ev = [Citation("fact", ", ".join(m.units), "enabled")]
        ev += [Citation("file", r.where, r.text) for r in m.restrictions]
        if m.error:
            ev.append(Citation("file", m.config or m.name, f"could not be read: {m.error}"))
        title = f"{m.name} rejects guests' traffic {when}" if when and known else \
            f"{m.name} manages the firewall beside libvirt"
        yield Finding("iptables-manager-restrictive", severity, title, summary, evidence=tuple(ev),
                      workarounds=tuple(workarounds))
