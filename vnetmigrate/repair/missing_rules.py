"""Active networks without their rules (`libvirt-rules-missing`): the silent failure of a
backend switch (docs/libvirt-rules.md §6), or a flush by another program.

Where the backend that lacks the rules cannot work on this host (scan's nftables-prerequisites,
e.g. libvirt 11's tc filter on a kernel without act_csum: libvirt itself fails to add them),
re-creating them would only last until libvirt's next restart: libvirt goes back to iptables
through the migration's own path, with `firewall_backend = "iptables"` pinned in network.conf.
Otherwise the missing networks' rules are re-created in the backend in use, from the model,
and verified; where some of a network's rules were still there, the copies are removed after
(keeping the one libvirt's status file records).
"""

from __future__ import annotations

from vnetmigrate.firewall import Backend, Family
from vnetmigrate.libvirt.versions import nearest_version
from vnetmigrate.repair.migration import migration
from vnetmigrate.repair.remedies import NotRepairable, Remedy, RepairContext, remedy
from vnetmigrate.specs import NETWORK_STATUS
from vnetmigrate.txn import libvirt_steps as ls
from vnetmigrate.txn import planner, steps
from vnetmigrate.words import plural

PREREQUISITES = "nftables-prerequisites"
# What going back to iptables repairs as well: the same migration removes libvirt's nftables
# objects and its duplicates, reuses the LIBVIRT_* chains, pins network.conf and restarts.
BACK_COVERS = (PREREQUISITES, "libvirt-leftover-chains", "libvirt-leftover-rules", "libvirt-rules-both-backends",
               "libvirt-restart-pending")


@remedy("libvirt-rules-missing")
def missing_rules(facts, finding, ctx: RepairContext) -> Remedy | NotRepairable:
    own = facts.ownership.ownership
    by_backend: dict[Backend, set[str]] = {}
    for m in own.missing:
        by_backend.setdefault(Backend(m.backend), set()).add(m.network)
    if not by_backend:
        return NotRepairable(finding.id, "no rule is missing any more")
    if Backend.NFTABLES in by_backend and PREREQUISITES in ctx.blocking:
        return _back_to_iptables(facts, finding, ctx, sorted(by_backend[Backend.NFTABLES]))
    return _recreate(facts, finding, by_backend)


def _back_to_iptables(facts, finding, ctx: RepairContext, names: list[str]) -> Remedy | NotRepairable:
    mplan, why_not = migration(facts, Backend.IPTABLES, ctx)
    if mplan is None:
        return NotRepairable(finding.id, f"going back to the iptables backend is blocked: {why_not}")
    restart = "restarts libvirt's network daemon" if ctx.restart is not None else \
        f"does not restart libvirt's network daemon ({ctx.restart_why})"
    return Remedy(
        finding.id,
        f"move libvirt back to its iptables backend and pin firewall_backend = \"iptables\" "
        f"({plural(len(names), 'network')} without rules: {', '.join(names)})",
        "the nftables backend cannot work on this host (see nftables-prerequisites): libvirt would fail to add "
        "these rules again at its next restart. The migration adds the iptables rules of every active network, "
        "verifies them, removes libvirt's nftables objects, pins the backend in network.conf so that restarts "
        f"and upgrades keep it, and {restart}",
        mplan.plan.steps, covers=BACK_COVERS)


def _recreate(facts, finding, by_backend: dict[Backend, set[str]]) -> Remedy | NotRepairable:
    lv = facts.libvirt
    nets = {n.name: n for n, _b in facts.networks.pairs}
    made: list[steps.Step] = []
    summary = []
    for backend, names in sorted(by_backend.items()):
        version, _exact = nearest_version(lv.version if lv is not None else None, backend)
        chosen = [nets[name] for name in sorted(names) if name in nets]
        if not chosen:
            continue
        partly = _partly_present(facts, backend, names)
        if backend is Backend.NFTABLES:
            cmds = ls.nft_add(chosen, version, facts.nft)
            made.append(steps.nft(f"re-create the nftables rules of {plural(len(chosen), 'network')}", cmds,
                                  ls.nft_touched()))
        else:
            saves = list(facts.iptables.saves) if facts.iptables is not None else []
            for family in Family:
                frag = ls.ipt_add(chosen, version, family, ls.ipt_save(saves, family))
                if frag:
                    made.append(steps.ipt(f"re-create the {family} iptables rules of "
                                          f"{plural(len(chosen), 'network')}", family, frag, ls.ipt_touched(family)))
        if partly:
            made.append(steps.dedupe(f"remove the second copies of the {backend} rules that were still there",
                                     backend, NETWORK_STATUS, planner.everything_touched()))
        made.append(planner.verify_rules(facts, backend, f"every active network's {backend} rules are there"))
        summary.append(f"re-create the {backend} rules of {', '.join(n.name for n in chosen)}")
    if not made:
        return NotRepairable(finding.id, "the networks without rules are not in libvirt's status files")
    return Remedy(finding.id, "; ".join(summary),
                  "the backend in use works on this host (no missing prerequisite was found): its rules are "
                  "re-created from libvirt's model, exactly as libvirt creates them, and verified; libvirt keeps "
                  "them across restarts of its daemon", tuple(made))


def _partly_present(facts, backend: Backend, names: set[str]) -> bool:
    """Whether any of these networks still has some of its rules in `backend`."""
    items = facts.ownership.ownership.items
    prefix = ("ip ", "ip6 ") if backend is Backend.NFTABLES else ("ipv4 ", "ipv6 ")
    return any(i.network in names and i.kind == "rule" and i.where.startswith(prefix) for i in items)
