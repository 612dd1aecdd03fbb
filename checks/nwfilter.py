"""nwfilter keeps using iptables/ebtables whatever the virtual-network backend."""

from __future__ import annotations

from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity, Workaround


@check("nwfilter-needs-iptables", "nwfilter in use: iptables and ebtables must stay installed", Severity.WARNING,
       needs=("nwfilter", "system"))
def nwfilter_needs_iptables(facts: HostFacts):
    nw = facts.nwfilter
    if not nw.in_use:
        return
    missing = [t for t in ("iptables", "ebtables") if not facts.system.has(t)]
    ev = [Citation("file", path, "filterref " + ", ".join(refs)) for path, refs in sorted(nw.guests.items())]
    ev += [Citation("chain", c) for c in nw.live_chains[:10]]
    severity = Severity.WARNING if missing else Severity.INFO
    yield Finding(
        "nwfilter-needs-iptables", severity,
        "Guests use libvirt's nwfilter" + (f"; {' and '.join(missing)} missing" if missing else ""),
        "nwfilter (per-guest <filterref> filters) still uses iptables and ebtables even after the virtual "
        "networks move to nftables: keep both installed, and expect libvirt-* chains in iptables listings.",
        evidence=tuple(ev),
        workarounds=(Workaround("Install what nwfilter needs", ("apt-get install iptables ebtables   # Debian",
                                                                  "dnf install iptables-nft ebtables-nft   # Fedora")),)
        if missing else ())
