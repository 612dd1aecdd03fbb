"""Empty LIBVIRT_* chains left behind by a switch to the nftables backend (domain.md section 4)."""

from __future__ import annotations

from vnetmigrate.checks._commands import iptables_binary, quote_args
from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Evidence, Finding, Severity, Workaround


def removal_commands(chain) -> list[str]:
    """Delete each jump to the chain, then the chain: in that order the kernel accepts it."""
    binary = iptables_binary(chain.family, chain.source)
    cmds = [f"{binary} -t {chain.table} -D {jump.chain} {quote_args(jump.args)}" for jump in chain.jumps]
    cmds.append(f"{binary} -t {chain.table} -X {chain.name}")
    return cmds


@check("libvirt-leftover-chains", "Empty LIBVIRT_* chains left behind", Severity.WARNING,
       needs=("libvirt", "libvirt_rules"))
def leftover_chains(facts: HostFacts):
    if facts.libvirt.effective.backend == "iptables":
        return  # libvirt's own chains, merely unused while no network is active
    empty = facts.libvirt_rules.empty_ipt_chains
    if not empty:
        return
    commands: list[str] = []
    for chain in empty:
        commands.extend(removal_commands(chain))
    backend = facts.libvirt.effective.backend or "no"
    yield Finding(
        "libvirt-leftover-chains", Severity.WARNING,
        f"{len(empty)} empty LIBVIRT_* chains are left over from the iptables backend",
        f"libvirt uses the {backend} backend, but the chains its iptables backend created remain, "
        "empty, with the jumps to them from INPUT, OUTPUT, FORWARD and POSTROUTING. They are harmless "
        "but every packet still traverses them, and they confuse anyone reading the firewall. "
        "They go away at reboot, or can be removed now.",
        evidence=tuple(Evidence("chain", c.where, f"empty; jumped to from "
                                f"{', '.join(sorted({j.chain for j in c.jumps})) or 'nowhere'}") for c in empty),
        workarounds=(Workaround("Remove the empty chains and the jumps to them", tuple(commands),
                                repairable=True, id="remove-leftover-chains"),))
