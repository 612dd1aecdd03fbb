"""Whether each active network has exactly the rules libvirt creates for it (the model says),
and whether libvirt's network daemon has applied the backend network.conf names."""

from __future__ import annotations

from collections import defaultdict

from vnetmigrate.checks._commands import quote_args, restart_libvirt_network
from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity, Workaround
from vnetmigrate.firewall import Backend
from vnetmigrate.libvirt import netconf
from vnetmigrate.words import plural


@check("libvirt-rules-both-backends", "libvirt's rules are in both backends at once", Severity.WARNING,
       needs=("libvirt_rules",))
def both_backends(facts: HostFacts):
    rules = facts.libvirt_rules
    if rules.ipt_rule_count == 0 or rules.nft_rule_count == 0:
        return
    ev = [Citation("chain", c.where, f"{len(c.rules)} rules") for c in rules.ipt_chains if c.rules]
    ev += [Citation("table", f"{t.family} libvirt_network", f"{len(t.rules)} per-network rules")
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
                                (restart_libvirt_network(),)),
                     Workaround("Or remove the copy in the backend libvirt does not use (libvirt's rules only)",
                                repairable=True, id="remove-inactive-copy")))


def _likely_cause(facts: HostFacts, backend: str) -> str:
    k = facts.kernel
    if backend == Backend.NFTABLES and k is not None and k.state("CONFIG_NET_ACT_CSUM") == "n":
        return (" This kernel has no act_csum (CONFIG_NET_ACT_CSUM): libvirt 11's nftables backend then "
                "fails to add the rules of networks it restarts, and keeps them 'active' anyway.")
    return ""


# handled_by_migrate: a migration adds the target backend's rules to every network that lacks any.
@check("libvirt-rules-missing", "Active networks without the rules they need", Severity.BLOCKER,
       needs=("libvirt", "ownership"), optional=("kernel",), handled_by_migrate=True)
def rules_missing(facts: HostFacts):
    own = facts.ownership.ownership
    by_net: dict[tuple[str, str], list] = defaultdict(list)
    for m in own.missing:
        by_net[(m.network, m.backend.value)].append(m)
    if not by_net:
        return
    for (name, backend), missing in sorted(by_net.items()):
        net = facts.libvirt.network(name)
        bridge = f" ({net.bridge})" if net and net.bridge else ""
        yield Finding(
            "libvirt-rules-missing", Severity.BLOCKER,
            f"Network {name}{bridge} is active but {len(missing)} of its {backend} rules are missing",
            f"libvirt reports {name} active with its rules in the {backend} backend, but the kernel does not "
            "have all the rules libvirt creates for it: its guests lose NAT, forwarding or access to the host. "
            "This is how a backend switch fails silently, and what `nft flush ruleset` by nftables.service "
            "leaves behind." + _likely_cause(facts, backend),
            evidence=tuple(Citation("rule", m.where, f"missing: {m.text}") for m in missing),
            workarounds=(Workaround("Restart libvirt's network daemon so it re-creates the rules, then scan again",
                                    (restart_libvirt_network(),)),
                         Workaround("If they are still missing, restart the network to see libvirt's error",
                                    (f"virsh net-destroy {quote_args([name])} && virsh net-start {quote_args([name])}",)),
                         Workaround("Or re-create them from libvirt's model, verified (where this kernel cannot run the "
                                    "backend, move libvirt back to iptables and pin it instead)",
                                    repairable=True, id="recreate-missing-rules")))


@check("libvirt-unexpected-rules", "Rules inside libvirt's chains that libvirt did not create", Severity.WARNING,
       needs=("ownership",))
def unexpected_rules(facts: HostFacts):
    from vnetmigrate.libvirt.ownership import Owner

    items = facts.ownership.ownership.of(Owner.UNEXPECTED)
    if not items:
        return
    yield Finding(
        "libvirt-unexpected-rules", Severity.WARNING,
        f"{len(items)} {'rule or chain' if len(items) == 1 else 'rules or chains'} inside libvirt's firewall "
        f"objects {'is' if len(items) == 1 else 'are'} not libvirt's",
        "libvirt rebuilds its chains and tables at will (network start and stop, daemon restart, a backend "
        "switch): anything someone added inside them is lost then, silently. Keep your own rules in your "
        "own chains or tables." + (f" (Model: libvirt {facts.ownership.ownership.version}; "
                                   + "; ".join(facts.ownership.notes) + ")" if facts.ownership.notes else ""),
        evidence=tuple(Citation(i.kind, i.where, i.text or i.reason) for i in items))


@check("libvirt-restart-pending", "libvirt's network daemon has not applied the configured backend",
       Severity.WARNING, needs=("libvirt",), derived=("restart_pending",))
def restart_pending(facts: HostFacts):
    lv = facts.libvirt
    pending = facts.restart_pending
    if not pending:
        return
    configured = lv.configured_backend
    old = " and ".join(sorted(set(pending.values())))
    nets = sorted(pending)
    where = f"{netconf.PATH}:{lv.configured_line}" if lv.configured_line else netconf.PATH
    yield Finding(
        "libvirt-restart-pending", Severity.WARNING,
        f"libvirt's network daemon has not been restarted since the backend changed; its status files still "
        f"name {old}",
        f"network.conf sets firewall_backend = \"{configured}\", but the status files of {', '.join(nets)} record "
        f"rules of the {old} backend: libvirt applies the setting only when its network daemon restarts (after "
        f"`vnetmigrate migrate --no-restart`, or an edit of network.conf). Until then each of these networks may "
        f"have its rules in either backend; none of them is a leftover, and none should be deleted. At the restart "
        f"libvirt removes the rules its status files name and creates the {configured} ones, on top of any already "
        "there.",
        evidence=(Citation("file", where, f'firewall_backend = "{configured}"'),
                  *(Citation("file", n.status_path or n.name, f"removal recipe of the {n.status_backend} backend")
                    for n in lv.active_networks if n.name in pending)),
        workarounds=(Workaround("Restart libvirt's network daemon so it applies the configured backend",
                                (restart_libvirt_network(),)),
                     Workaround("Then remove the copies of the rules the restarted daemon re-created on top of "
                                "those vnetmigrate put there (nothing to do if it put none)",
                                (f"vnetmigrate migrate --to {configured}",))))
