"""Legacy x_tables rules beside nftables: both are evaluated, and a drop in either is final."""

from __future__ import annotations

from vnetmigrate import specs
from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity, Workaround


@check("legacy-xtables-in-use", "Legacy iptables (x_tables) rules beside nftables", Severity.WARNING,
       needs=("system", "iptables"))
def legacy_xtables(facts: HostFacts):
    if not facts.system.legacy_in_use or facts.system.iptables_variant == "legacy":
        return
    legacy = [s for s in facts.iptables.saves if s.source == "legacy"]
    rules = sum(len(c.rules) for s in legacy for c in s.chains())
    drops = [c for s in legacy for c in s.chains() if c.policy in ("DROP", "REJECT")]
    ev = [Citation("file", specs.TABLES_NAMES[f], " ".join(t))
          for f, t in facts.system.legacy_tables.items() if t]
    ev += [Citation("chain", f"iptables-legacy {c.where}", f"policy {c.policy}") for c in drops]
    yield Finding(
        "legacy-xtables-in-use", Severity.WARNING,
        f"Legacy x_tables are in use beside nftables ({rules} rules)",
        "Something uses iptables-legacy while the system's iptables is the nftables variant. Packets pass "
        "both: a DROP policy or rule in a legacy table blocks guests whatever libvirt's backend, and "
        "`iptables -L` does not show those rules. Find the tool that still calls iptables-legacy.",
        evidence=tuple(ev),
        workarounds=(Workaround("Inspect the legacy rules", ("iptables-legacy-save", "ip6tables-legacy-save")),))
