"""Where libvirt's per-network rules are: one backend, both at once, or neither."""

from __future__ import annotations

from vnetmigrate.checks._commands import quote_args, restart_libvirt_network
from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Evidence, Finding, Severity, Workaround


@check("libvirt-rules-both-backends", "libvirt's rules are in both backends at once", Severity.WARNING,
        needs=("libvirt_rules",))
def both_backends(facts: HostFacts):
    rules = facts.libvirt_rules
    if rules.ipt_rule_count == 0 or rules.nft_rule_count == 0:
        return
    ev = [Evidence("chain", c.where, f"{len(c.rules)} rules") for c in rules.ipt_chains if c.rules]
    ev += [Evidence("table", f"{t.family} libvirt_network", f"{len(t.rules)} per-network rules")
           for t in rules.nft_tables if t.rules]
    yield Finding(
        "libvirt-rules-both-backends", Severity.WARNING,
        "libvirt's rules exist in both the iptables chains and the nftables tables",
        f"{rules.ipt_rule_count} rules in LIBVIRT_* chains and {rules.nft_rule_count} in libvirt_network: "
        "a switch was interrupted, or rules were restored by hand or by a firewall service. "
        "Only one backend's rules are maintained by libvirt; the other set is stale and may "
        "accept or reject traffic libvirt no longer intends.",
        evidence=tuple(ev),
        workarounds=(Workaround("Let libvirt rebuild its rules from its saved recipes",
                                (restart_libvirt_network(),)),))


@check("libvirt-rules-missing", "Active networks without firewall rules", Severity.BLOCKER,
        needs=("libvirt", "libvirt_rules"))
def rules_missing(facts: HostFacts):
    rules = facts.libvirt_rules
    seen = rules.ipt_interfaces() | rules.nft_interfaces()
    bare = [n for n in facts.libvirt.active_networks if n.creates_rules and n.bridge and n.bridge not in seen]
    if not bare:
        return
    names = ", ".join(f"{n.name} ({n.bridge})" for n in bare)
    yield Finding(
        "libvirt-rules-missing", Severity.BLOCKER,
        f"{len(bare)} active network(s) have no firewall rules in either backend: {names}",
        "libvirt reports these networks active, yet neither the LIBVIRT_* chains nor the "
        "libvirt_network tables mention their bridges: guests get no NAT and no forwarding. "
        "This is how a backend switch fails silently (for example libvirt 11 without the kernel's "
        "act_csum), and what `nft flush ruleset` by nftables.service leaves behind.",
        evidence=tuple(Evidence("fact", n.status_path or n.name,
                                f"active, {n.forward_mode}, bridge {n.bridge}, "
                                f"recipe backend {n.status_backend or 'none'}") for n in bare),
        workarounds=(Workaround("Restart libvirt's network daemon so it re-creates the rules, then scan again",
                                (restart_libvirt_network(),)),
                     Workaround("If they are still missing, restart each network to see libvirt's error",
                                tuple(f"virsh net-destroy {quote_args([n.name])} && virsh net-start {quote_args([n.name])}"
                                      for n in bare))))
