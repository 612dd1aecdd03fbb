"""packet_verdicts: the evaluator's results for the guests' probes, now and after the switch.

For every active network the guests' DHCP and DNS to the host, their new connections out,
the replies, and the connections DNATed to them (vnetmigrate.evaluate.probes) are evaluated
against the live ruleset ("now") and, when an upgrade would move libvirt to nftables, against
the ruleset after the switch (vnetmigrate.evaluate.switch). `migrate --to nftables` is judged
by the state it leaves only: the simulated one (every other table stays as it is, so a drop
there shows in it too).
"""

from __future__ import annotations

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.derived import derivation
from vnetmigrate.evaluate import Probe, Result, after_switch, evaluate, host_probes, of_facts
from vnetmigrate.evaluate.switch import libvirt_commands
from vnetmigrate.firewall import Backend

NOW, AFTER = "now", "after the switch"


@dataclass(frozen=True)
class Verdict:
    """The evaluator's result for one probe, now or after the switch."""
    when: str  # NOW or AFTER
    probe: Probe
    result: Result


@dataclass(frozen=True)
class PacketVerdicts:
    """Every probe's verdict, and how the ruleset after the switch was simulated."""
    verdicts: tuple[Verdict, ...]  # run by run, probe by probe
    # (when, text): how the ruleset after the switch was simulated, for evidence
    notes: tuple[tuple[str, str], ...] = ()


@derivation("packet_verdicts", needs=("libvirt", "nft"),
            optional=("iptables", "port_forwards", "ownership", "migration_target"))
def packet_verdicts(facts) -> PacketVerdicts | None:
    """None when libvirt is not installed or no active network has a probe."""
    if not facts.libvirt.installed:
        return None
    probes = host_probes(facts)
    if not probes:
        return None
    notes: list[tuple[str, str]] = []
    verdicts = [Verdict(when, probe, evaluate(rs, probe.packet))
                for when, rs, ps in _runs(facts, of_facts(facts), probes, notes)
                for probe in ps]
    return PacketVerdicts(tuple(verdicts), tuple(notes))


def _runs(facts, rs, probes: list[Probe], notes: list[tuple[str, str]]):
    """(when, ruleset, probes) to evaluate; notes say how the after-switch ruleset was made."""
    lv = facts.libvirt
    switching = lv.effective.backend != Backend.NFTABLES and lv.after_upgrade.backend == Backend.NFTABLES
    if not (switching and facts.migration_target == Backend.NFTABLES):
        yield NOW, rs, probes
    if switching:
        after = after_switch(rs, libvirt_commands(facts))
        how = "libvirt's iptables rules removed (" + (", ".join(after.removed) or "none found") + "), "
        if after.libvirt_modelled:
            notes.append((AFTER, how + "its nftables tables added as the libvirt model builds them for the "
                                       "active networks"))
            yield AFTER, after.ruleset, probes
        else:  # without libvirt's own table, connections into guests are not decided (switch.py)
            notes.append((AFTER, how + "its nftables tables not simulated (no model facts): connections into "
                                       "guests not evaluated"))
            yield AFTER, after.ruleset, [p for p in probes if p.direction != "dnat"]
