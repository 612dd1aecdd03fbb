"""What libvirt left behind: classified by the model (vnetmigrate.libvirt.ownership), not by name.

- empty LIBVIRT_* chains and their jumps once the nftables backend is in use (docs/libvirt-rules.md §6);
- rules libvirt created for networks that are no longer active, or in the backend no active
  network uses, and the emptied `libvirt_network` tables a switch back to iptables leaves.
"""

from __future__ import annotations

from vnetmigrate.checks._commands import iptables_binary, quote_args
from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity, Workaround


def removal_commands(chain) -> list[str]:
    """Delete each jump to the chain, then the chain: in that order the kernel accepts it."""
    binary = iptables_binary(chain.family, chain.source)
    cmds = [f"{binary} -t {chain.table} -D {jump.chain} {quote_args(jump.args)}" for jump in chain.jumps]
    cmds.append(f"{binary} -t {chain.table} -X {chain.name}")
    return cmds


def _leftover(facts: HostFacts, kind: str) -> dict[str, object]:
    from vnetmigrate.libvirt.ownership import Owner

    return {i.where: i for i in facts.ownership.ownership.of(Owner.LEFTOVER, kind)}


@check("libvirt-leftover-chains", "Empty LIBVIRT_* chains left behind", Severity.WARNING,
       needs=("libvirt_rules", "ownership"), optional=("libvirt",))
def leftover_chains(facts: HostFacts):
    leftover = _leftover(facts, "chain")
    empty = [c for c in facts.libvirt_rules.empty_ipt_chains
             if f"{c.family} {c.source} {c.table} {c.name}" in leftover]
    if not empty:
        return
    commands: list[str] = []
    for chain in empty:
        commands.extend(removal_commands(chain))
    backend = facts.libvirt.effective.backend if facts.libvirt else None
    yield Finding(
        "libvirt-leftover-chains", Severity.WARNING,
        f"{len(empty)} empty LIBVIRT_* chains are left over from the iptables backend",
        f"No active network has its rules in the iptables backend{f' (libvirt uses {backend})' if backend else ''}, "
        "but the chains it created remain, empty, with the jumps to them from INPUT, OUTPUT, FORWARD "
        "and POSTROUTING. They are harmless but every packet still traverses them, and they confuse "
        "anyone reading the firewall. They go away at reboot, or can be removed now.",
        evidence=tuple(Citation("chain", c.where, f"empty; jumped to from "
                                f"{', '.join(sorted({j.chain for j in c.jumps})) or 'nowhere'}") for c in empty),
        workarounds=(Workaround("Remove the empty chains and the jumps to them", tuple(commands),
                                repairable=True, id="remove-leftover-chains"),))


def _nft_rule_commands(facts: HostFacts, leftover) -> list[tuple[str, str, str]]:
    out = []
    for chain in facts.nft.chains() if facts.nft else ():
        for rule in chain.rules or ():
            item = leftover.get(rule.where())
            if item is not None and rule.handle:
                out.append((rule.where(), item.reason, f"nft delete rule {rule.family} {rule.table} {rule.chain} "
                                                        f"handle {rule.handle}"))
    return out


def _ipt_rule_commands(facts: HostFacts, leftover) -> list[tuple[str, str, str]]:
    out = []
    for save in facts.iptables.saves if facts.iptables else ():
        for chain in save.chains():
            if not chain.name.startswith("LIBVIRT_"):
                continue  # jumps from built-in chains go with their chain (libvirt-leftover-chains)
            for rule in chain.rules:
                item = leftover.get(rule.where())
                if item is not None:
                    out.append((rule.where(), item.reason, f"{iptables_binary(save.family, save.source)} -t "
                                                           f"{chain.table} -D {chain.name} {quote_args(rule.args)}"))
    return out


@check("libvirt-leftover-rules", "libvirt rules and tables no active network needs", Severity.WARNING,
       needs=("ownership",), optional=("nft", "iptables"))
def leftover_rules(facts: HostFacts):
    rules = _leftover(facts, "rule")
    found = _ipt_rule_commands(facts, rules) + _nft_rule_commands(facts, rules)
    tables = sorted(_leftover(facts, "table"))
    if not found and not tables:
        return
    commands = [c for _w, _r, c in found] + [f"nft delete table {t}" for t in tables]
    evidence = [Citation("rule", w, r) for w, _r2, _c in found for r in (_r2,)]
    evidence += [Citation("table", t, "libvirt's table, but no active network uses the nftables backend")
                 for t in tables]
    yield Finding(
        "libvirt-leftover-rules", Severity.WARNING,
        f"{len(found)} libvirt rule(s) and {len(tables)} table(s) are not needed by any active network",
        "They were created by libvirt for networks that are no longer active, or in the backend libvirt "
        "no longer uses (a switch back to iptables leaves the libvirt_network tables behind, emptied). "
        "Stale accept rules may let through traffic libvirt no longer intends.",
        evidence=tuple(evidence),
        workarounds=(Workaround("Remove them", tuple(commands), repairable=True, id="remove-leftover-rules"),))
