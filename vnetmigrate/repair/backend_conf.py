"""network.conf names another backend than the one libvirt's network daemon runs
(`libvirt-restart-pending`: after `migrate --no-restart`, or an edit of network.conf).

Two ways out, and which is right is the admin's choice: so it is repaired only when `--only`
names it. Restart into what is configured: the migration's own path to that backend (its rules
for every network, verified, the daemon restarted with the guard, its copies removed). Pin what
runs instead where that cannot work: the configured backend lacks its prerequisites on this host
(libvirt would fail to add its rules at the restart), or no restart is allowed (--no-restart);
then network.conf is set to the running backend and the configured backend's copies of libvirt's
rules, left over once the file agrees, are removed.
"""

from __future__ import annotations

from vnetmigrate.facts.ownership import restart_pending
from vnetmigrate.firewall import Backend, Family
from vnetmigrate.libvirt.ownership import classify
from vnetmigrate.libvirt.versions import nearest_version
from vnetmigrate.repair.leftovers import removal
from vnetmigrate.repair.migration import migration
from vnetmigrate.repair.remedies import NotRepairable, Remedy, RepairContext, remedy
from vnetmigrate.specs import NETWORK_CONF
from vnetmigrate.txn import libvirt_steps as ls
from vnetmigrate.txn import planner, steps

ID = "libvirt-restart-pending"
PREREQUISITES = "nftables-prerequisites"


@remedy(ID, named_only=True)
def restart_or_pin(facts, finding, ctx: RepairContext) -> Remedy | NotRepairable:
    lv = facts.libvirt
    pending = restart_pending(lv)
    running = {Backend(b) for b in pending.values()}
    if len(running) != 1 or lv.configured_backend is None:
        return NotRepairable(finding.id, "the networks' status files name both backends: restart libvirt's network "
                             "daemon by hand, then scan again")
    (now,) = running
    configured = Backend(lv.configured_backend)
    if configured is Backend.NFTABLES and PREREQUISITES in ctx.blocking:
        return _pin(facts, finding, now, configured, "the configured nftables backend cannot work on this host "
                    "(nftables-prerequisites): restarting into it would leave the networks without rules")
    if ctx.restart is None:
        return _pin(facts, finding, now, configured, "no restart is allowed (--no-restart)")
    mplan, why_not = migration(facts, configured, ctx)
    if mplan is None:
        return _pin(facts, finding, now, configured, f"restarting into {configured} is blocked: {why_not}")
    return Remedy(finding.id, f"restart libvirt's network daemon into the configured {configured} backend",
                  f"network.conf says {configured} and its prerequisites are met: the daemon is restarted into it "
                  f"the way `vnetmigrate migrate --to {configured}` does (every network's {configured} rules first, "
                  "verified; its traffic guarded during the restart; the copies it re-creates removed)",
                  mplan.plan.steps, covers=("libvirt-rules-both-backends", "libvirt-leftover-rules",
                                            "libvirt-leftover-chains"))


def _pin(facts, finding, now: Backend, configured: Backend, because: str) -> Remedy | NotRepairable:
    """network.conf set to the running backend. Make before break: the running backend's rules
    for the networks that lack them (a `migrate --no-restart` removed them), verified; then the
    configured backend's copies, left over once the file agrees; then the file."""
    networks = facts.networks
    if networks is None or networks.conf is None:
        return NotRepairable(finding.id, "network.conf could not be read")
    version, _exact = nearest_version(facts.libvirt.version, now)
    saves = list(facts.iptables.saves) if facts.iptables is not None else []
    own = classify(networks.pairs, version, iptables=saves, nft=facts.nft, known=list(networks.known))
    lacking = sorted({m.network for m in own.missing if Backend(m.backend) is now})
    made: list[steps.Step] = []
    if lacking:
        nets = [n for n, _b in networks.pairs if n.name in lacking]
        if now is Backend.NFTABLES:
            made.append(steps.nft(f"add the nftables rules of {', '.join(lacking)}", ls.nft_add(nets, version, facts.nft),
                                  ls.nft_touched()))
        else:
            for family in Family:
                frag = ls.ipt_add(nets, version, family, ls.ipt_save(saves, family))
                if frag:
                    made.append(steps.ipt(f"add the {family} iptables rules of {', '.join(lacking)}", family, frag,
                                          ls.ipt_touched(family)))
        made.append(planner.verify_rules(facts, now, f"every active network's {now} rules are there"))
    removed, _done, _kept = removal(facts, own)
    made += removed
    made.append(steps.file(f'set firewall_backend = "{now}" in network.conf (what runs)', NETWORK_CONF,
                           networks.conf.with_backend(now), networks.conf.text))
    if networks.active:
        made.append(planner.verify_rules(facts, now, f"libvirt's rules are exactly what every active network needs "
                                         f"({now})", final=True))
    return Remedy(finding.id, f'pin what runs: firewall_backend = "{now}" in network.conf, and remove libvirt\'s '
                  f"{configured} copies", f"{because}; the daemon keeps running {now}, and network.conf now says so "
                  f"(to move to {configured} later: `vnetmigrate migrate --to {configured}`)", tuple(made),
                  covers=("libvirt-rules-both-backends", "libvirt-leftover-rules", "libvirt-leftover-chains"))
