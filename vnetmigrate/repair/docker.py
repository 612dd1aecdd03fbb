"""Docker's FORWARD DROP policy (finding docker-forward-drop), worked around so it persists.

Where the installed Docker knows `"ip-forward-no-drop": true` (28.0 and later; docs/other-firewalls.md
§2) the repair sets it in daemon.json, so no later start of Docker sets the policy, and resets
the policy Docker already set. Docker is not restarted: it reads daemon.json only when it starts,
and restarting it would restart the containers. Elsewhere (an older Docker, or a version the scan
could not read) libvirt's bridges are accepted in DOCKER-USER (FORWARD where there is none) by
vnetmigrate's libvirt network hook, which puts the rules back whenever a network starts.
"""

from __future__ import annotations

import json

from vnetmigrate.facts import HostFacts
from vnetmigrate.facts.docker import forward_drops
from vnetmigrate.findings import Finding, Severity
from vnetmigrate.repair._facts import bridges, iptables_binary
from vnetmigrate.repair.hookrules import kept_by_hook
from vnetmigrate.repair.remedies import NotRepairable, RepairContext, Remedy, remedy
from vnetmigrate.specs import DOCKER_DAEMON_JSON
from vnetmigrate.txn import steps
from vnetmigrate.txn.snapshot import FileUnusable, read_file

NO_DROP_KEY = "ip-forward-no-drop"
NO_DROP_SINCE = (28, 0)  # moby/moby#48594, Docker Engine 28.0.0


def accept_lines(facts: HostFacts, drops: list[tuple[str, str]]) -> list[str]:
    brs = bridges(facts, ("nat", "route"))
    lines = []
    for family, source in drops:
        chain = "DOCKER-USER" if "DOCKER-USER" in facts.docker.chains.get(family, ()) else "FORWARD"
        head = f"{iptables_binary(family, source)} filter {chain}"
        for br in brs:
            lines += [f"{head} -i {br} -j ACCEPT",
                      f"{head} -o {br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"]
    return lines


@remedy("docker-forward-drop")
def docker_forward_drop(facts: HostFacts, finding: Finding, ctx: RepairContext) -> Remedy | NotRepairable:
    drops = forward_drops(facts) if facts.iptables and facts.libvirt and facts.docker else []
    if finding.severity is not Severity.BLOCKER or not drops:
        return NotRepairable(finding.id, "Docker's FORWARD DROP policy does not block libvirt's guests here")
    version = facts.docker.version
    if version is not None and version >= NO_DROP_SINCE and facts.docker.daemon_json_error is None:
        try:
            old = read_file(ctx.root, DOCKER_DAEMON_JSON)
            config = json.loads(old) if old and old.strip() else {}
        except FileUnusable as exc:
            return NotRepairable(finding.id, exc.message)
        except json.JSONDecodeError as exc:
            return NotRepairable(finding.id, f"{DOCKER_DAEMON_JSON} is not valid JSON (line {exc.lineno}: {exc.msg})")
        if not isinstance(config, dict):
            return NotRepairable(finding.id, f"{DOCKER_DAEMON_JSON} is not a JSON object")
        config[NO_DROP_KEY] = True
        policy = [steps.command(f"reset {fam} filter FORWARD's policy to ACCEPT (Docker set it to DROP)",
                                [iptables_binary(fam, src), "-w", "-P", "FORWARD", "ACCEPT"],
                                [iptables_binary(fam, src), "-w", "-P", "FORWARD", "DROP"]) for fam, src in drops]
        return Remedy(
            finding.id, f"set \"{NO_DROP_KEY}\": true in {DOCKER_DAEMON_JSON} and reset the FORWARD policy",
            f"Docker {version[0]}.{version[1]} knows \"{NO_DROP_KEY}\" (28.0 and later): with it no later start "
            "of Docker sets the DROP policy. Docker is not restarted (that would restart its containers); it "
            "reads the setting at its next start.",
            (steps.file(f"set \"{NO_DROP_KEY}\": true in {DOCKER_DAEMON_JSON}", DOCKER_DAEMON_JSON,
                        json.dumps(config, indent=2) + "\n", old), *policy))
    lines = accept_lines(facts, drops)
    known = f"Docker {version[0]}.{version[1]} predates" if version else "the scan could not tell whether Docker knows"
    why = f"{known} \"{NO_DROP_KEY}\" (28.0 and later), so libvirt's bridges are accepted ahead of Docker's policy"
    try:
        kept = kept_by_hook(ctx.root, finding.id, "accept libvirt's bridges ahead of Docker's FORWARD DROP", lines)
    except FileUnusable as exc:
        return NotRepairable(finding.id, exc.message)
    return Remedy(finding.id, "accept libvirt's bridges in DOCKER-USER, kept there by a libvirt network hook",
                  why + "; Docker never removes DOCKER-USER's rules, and the hook puts them back whenever a "
                  "libvirt network starts (at boot too).", kept)
