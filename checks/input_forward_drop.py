"""Any base chain that drops or rejects libvirt guests' traffic, found by evaluating packets.

It reads the evaluator's verdicts for the guests' packets, now and after the switch (the
derived fact packet_verdicts, vnetmigrate.derived.verdicts). A chain is reported because the
packet meets its drop, whatever the table is called.

Duplicates: a drop that a specific detector already reports as a blocker (Docker's FORWARD
policy, ufw, iptables-services-style saved rules, libvirt's own reject of DNATed connections)
is named in the evidence with that finding's id and gets no blocker or workaround of its own
here: it defers to those checks and reads their findings. Only drops nothing else explains
make this finding a blocker. Verdicts the evaluator cannot decide make it a warning, with the
reasons.
"""

from __future__ import annotations

from vnetmigrate.checks._accept_rules import split_base
from vnetmigrate.checks._drop_report import finding
from vnetmigrate.checks.registry import check
from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.evaluate import Pass, Probe, Result
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity

# The specific checks whose blockers name a drop this check would otherwise report again.
SPECIFIC = ("docker-forward-drop", "ufw-blocks-guests", "iptables-manager-restrictive", "port-forward-nat-guest")


@dataclass(frozen=True)
class Drop:
    """A probe a base chain drops or rejects, now or after the switch, and the finding that explains it."""
    when: str
    probe: Probe
    result: Result
    by: Pass
    explained: str | None  # id of the specific finding that reports it


def _specific(facts: HostFacts) -> dict[str, Finding]:
    """The first blocker of each specific check that reported one in this run."""
    out: dict[str, Finding] = {}
    for check_id in SPECIFIC:
        for f in facts.findings_of(check_id):
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
       Severity.BLOCKER, needs=("libvirt", "nft"), optional=("nftables_service",), derived=("packet_verdicts",),
       defers_to=SPECIFIC, concerns_tools=("nftables.service",))
def input_forward_drop(facts: HostFacts):
    evaluated = facts.packet_verdicts
    if evaluated is None:  # libvirt is not installed, or no active network has probes
        return
    specific = _specific(facts)
    drops: list[Drop] = []
    unknown: list[tuple[str, Probe, Result]] = []
    for v in evaluated.verdicts:
        r = v.result
        if r.blocked and r.blockers:
            drops += [Drop(v.when, v.probe, r, b, _explained(b, v.probe, specific)) for b in r.blockers]
        elif r.verdict == "unknown" or r.blocked:  # blocked, but by no one chain that a fix could name
            unknown.append((v.when, v.probe, r))
    drops = [d for d in drops if d.explained != "libvirt"]  # libvirt's own rules: not a foreign drop
    if drops or unknown:
        yield finding(drops, unknown, facts, [Citation("fact", when, text) for when, text in evaluated.notes])
