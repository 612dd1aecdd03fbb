"""Any base chain that drops or rejects libvirt guests' traffic, found by evaluating packets.

For every active network the guests' DHCP and DNS to the host, their new connections out,
the replies, and the connections DNATed to them (vnetmigrate.evaluate.probes) are evaluated
against the live ruleset ("now") and, when an upgrade would move libvirt to nftables, against
the ruleset after the switch (vnetmigrate.evaluate.switch). A chain is reported because the
packet meets its drop, whatever the table is called.

Duplicates: a drop that a specific detector already reports as a blocker (Docker's FORWARD
policy, ufw, iptables-services-style saved rules, libvirt's own reject of DNATed connections)
is named in the evidence with that finding's id and gets no blocker or workaround of its own
here; only drops nothing else explains make this finding a blocker. Verdicts the evaluator
cannot decide make it a warning, with the reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

from vnetmigrate.checks._accept_rules import split_base
from vnetmigrate.checks._drop_report import finding
from vnetmigrate.checks.registry import check
from vnetmigrate.evaluate import Pass, Probe, Result, after_switch, evaluate, host_probes, of_facts
from vnetmigrate.evaluate.switch import libvirt_tables
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity
from vnetmigrate.firewall import Backend

AFTER = "after the switch"


@dataclass(frozen=True)
class Drop:
    when: str
    probe: Probe
    result: Result
    by: Pass
    explained: str | None  # id of the specific finding that reports it


def _runs(facts: HostFacts, probes: list[Probe], notes: list[Citation]):
    rs = of_facts(facts)
    lv = facts.libvirt
    switching = lv.effective.backend != Backend.NFTABLES and lv.after_upgrade.backend == Backend.NFTABLES
    # `migrate --to nftables` is judged by the state it leaves: the simulated one (every other
    # table stays as it is, so a drop there shows in it too). Scan judges now and after.
    if not (switching and facts.migration_target == Backend.NFTABLES):
        yield "now", rs, probes
    if switching:
        after = after_switch(rs, libvirt_tables(facts))
        how = "libvirt's iptables rules removed (" + (", ".join(after.removed) or "none found") + "), "
        if after.libvirt_modelled:
            notes.append(Citation("fact", AFTER, how + "its nftables tables added as the libvirt model builds "
                                                       "them for the active networks"))
            yield AFTER, after.ruleset, probes
        else:  # without libvirt's own table, connections into guests are not decided (switch.py)
            notes.append(Citation("fact", AFTER, how + "its nftables tables not simulated (no model facts): "
                                                       "connections into guests not evaluated"))
            yield AFTER, after.ruleset, [p for p in probes if p.direction != "dnat"]


def _specific(facts: HostFacts) -> dict[str, Finding]:
    from vnetmigrate.checks import docker_forward_drop, persist_managers, port_forwards, ufw
    from vnetmigrate.checks.registry import REGISTRY

    out = {}
    for fn in (docker_forward_drop.docker_forward_drop, ufw.ufw_blocks_guests,
               persist_managers.iptables_manager_restrictive, port_forwards.port_forward_nat_guest):
        spec = next(c for c in REGISTRY.values() if c.fn is fn)
        if facts.missing(spec.needs):
            continue
        for f in fn(facts):
            if f.severity == Severity.BLOCKER:
                out.setdefault(f.id, f)
    return out


def _libvirt_own(p: Pass) -> bool:
    return split_base(p)[1] == "libvirt_network" or p.end.chain.rsplit(" ", 1)[-1].startswith("LIBVIRT_")


def _explained(p: Pass, probe: Probe, specific: dict[str, Finding]) -> str | None:
    _family, table, chain = split_base(p)
    end_chain = p.end.chain.rsplit(" ", 1)[-1]
    builtin = table == "filter" and chain in ("INPUT", "FORWARD") and p.kind != "nft"
    if _libvirt_own(p):
        return "port-forward-nat-guest" if probe.direction == "dnat" and "port-forward-nat-guest" in specific \
            else "libvirt"
    if "docker-forward-drop" in specific and builtin and chain == "FORWARD" and \
            (p.end.rule == "policy" or end_chain.startswith("DOCKER")):
        return "docker-forward-drop"
    if "ufw-blocks-guests" in specific and builtin and (p.end.rule == "policy" or end_chain.startswith("ufw")):
        return "ufw-blocks-guests"
    manager = specific.get("iptables-manager-restrictive")
    if manager and builtin:
        texts = {e.detail for e in manager.evidence}
        if p.end.text in texts or (p.end.rule == "policy" and f"policy {p.end.verdict.upper()}" in texts):
            return "iptables-manager-restrictive"
    return None


@check("input-forward-drop", "A base chain drops or rejects libvirt guests' traffic (found by evaluating packets)",
       Severity.BLOCKER, needs=("libvirt", "nft"))
def input_forward_drop(facts: HostFacts):
    if not facts.libvirt.installed:
        return
    probes = host_probes(facts)
    if not probes:
        return
    specific = _specific(facts)
    drops: list[Drop] = []
    unknown: list[tuple[str, Probe, Result]] = []
    notes: list[Citation] = []
    for when, rs, ps in _runs(facts, probes, notes):
        for probe in ps:
            r = evaluate(rs, probe.packet)
            if r.blocked and r.blockers:
                drops += [Drop(when, probe, r, b, _explained(b, probe, specific)) for b in r.blockers]
            elif r.verdict == "unknown" or r.blocked:  # blocked, but by no one chain that a fix could name
                unknown.append((when, probe, r))
    drops = [d for d in drops if d.explained != "libvirt"]  # libvirt's own rules: not a foreign drop
    if drops or unknown:
        yield finding(drops, unknown, facts, notes)
