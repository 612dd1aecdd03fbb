"""Docker's FORWARD DROP policy against libvirt's nftables backend (Fedora change "Known issue: docker").

Under the iptables backend libvirt's ACCEPT rules sit in the same FORWARD chain as Docker's
DROP policy and win. Under the nftables backend they sit in their own table; a packet must
pass every base chain on the forward hook, and the DROP policy of `ip filter FORWARD` is final.
"""

from __future__ import annotations

import json

from vnetmigrate import specs
from vnetmigrate.checks._accept_rules import IptablesAccept
from vnetmigrate.checks._commands import (forwarding_at_boot, iptables_binary, json_file_set, pin_backend,
                                          restart_libvirt_network)
from vnetmigrate.checks._context import nftables_when
from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.facts.docker import forward_drops
from vnetmigrate.findings import Citation, Finding, Severity, Workaround
from vnetmigrate.firewall import Backend, Family

LINKS = ("https://github.com/moby/moby/issues/52612", "https://github.com/docker/for-linux/issues/949",
         "https://fedoraproject.org/wiki/Changes/LibvirtVirtualNetworkNFTables")


def _accepts(save, bridge: str) -> tuple[bool, bool]:
    """Whether FORWARD or DOCKER-USER accepts traffic from and to `bridge` before Docker's policy."""
    def matches(name):
        return name is not None and (name == bridge or (name.endswith("+") and bridge.startswith(name[:-1])))

    rules = [r for chain in ("DOCKER-USER", "FORWARD") if (c := save.chain("filter", chain)) for r in c.rules]
    accepted = [r for r in rules if r.target == "ACCEPT"]
    return any(matches(r.in_interface) for r in accepted), any(matches(r.out_interface) for r in accepted)


def docker_user_commands(bridges: list[str], family: str, source: str, has_docker_user: bool) -> tuple[str, ...]:
    """Accept the bridges' traffic where Docker lets users put rules first (DOCKER-USER), with
    the iptables variant that holds Docker's chains."""
    accept = IptablesAccept(family, "filter", "DOCKER-USER" if has_docker_user else "FORWARD", source)
    return tuple(cmd for br in bridges for cmd in (accept.out(br), accept.back(br)))


@check("docker-forward-drop", "Docker's FORWARD DROP policy blocks guests under the nftables backend",
       Severity.BLOCKER, needs=("libvirt", "iptables", "docker"),
       optional=("migration_target",), applies_to_backend=Backend.NFTABLES, concerns_tools=("docker",))
def docker_forward_drop(facts: HostFacts):
    lv, docker = facts.libvirt, facts.docker
    if not docker.present or not lv.installed:
        return
    when = nftables_when(facts)
    if when is None:
        return
    dropping = forward_drops(facts)
    if not dropping:
        return
    forwarding = [n for n in lv.networks if n.creates_rules and n.forward_mode in ("nat", "route")]
    bridges = sorted({n.bridge for n in forwarding if n.bridge}) or ["virbr0"]
    ev = [Citation("chain", f"{Family(f).nft} filter FORWARD",
                   f"policy DROP ({'iptables-legacy' if s == 'legacy' else 'iptables-nft'})") for f, s in dropping]
    ev += [Citation("chain", f"{f} filter {', '.join(ch)}", "Docker's chains") for f, ch in docker.chains.items() if ch]
    if docker.daemon_json is not None:
        ev.append(Citation("file", specs.DOCKER_DAEMON_JSON,
                           ", ".join(f"\"{k}\": {json.dumps(docker.daemon_json[k])}" for k in
                                     ("iptables", "ip-forward", "ip-forward-no-drop", "firewall-backend")
                                     if k in docker.daemon_json) or "no firewall-related keys"))
    saves = {(s.family, s.source): s for s in facts.iptables.saves}
    if all(all(_accepts(saves[d], b)) for d in dropping for b in bridges):
        yield Finding(
            "docker-forward-drop", Severity.INFO,
            f"Docker's FORWARD DROP policy is worked around for {', '.join(bridges)}",
            "FORWARD or DOCKER-USER accepts traffic from and to libvirt's bridges before Docker's DROP "
            "policy applies. Keep those rules persistent: Docker does not remove DOCKER-USER's rules, "
            "but they are gone after a reboot unless something re-adds them.",
            evidence=tuple(ev), links=LINKS)
        return
    workarounds = []
    for family, source in dropping:
        has_user = "DOCKER-USER" in docker.chains.get(family, ())
        workarounds.append(Workaround(
            f"Accept libvirt's traffic in {'DOCKER-USER' if has_user else 'FORWARD'} ({family}) before "
            "Docker's policy applies (Docker keeps DOCKER-USER's rules first; make them persistent, "
            "e.g. in a unit that runs after docker.service)",
            docker_user_commands(bridges, family, source, has_user), repairable=True, id="docker-user-accept"))
    # The policy is reset with the binary of the table the evidence shows dropping (one per family).
    reset = tuple(f"{iptables_binary(family, source)} -P FORWARD ACCEPT" for family, source in dropping)
    workarounds += [
        Workaround("Tell Docker not to set the DROP policy (Docker >= 28): add \"ip-forward-no-drop\": true "
                   f"to {specs.DOCKER_DAEMON_JSON}, restart Docker, then reset the policy",
                   (json_file_set(specs.DOCKER_DAEMON_JSON, "ip-forward-no-drop", True), "systemctl restart docker",
                    *reset), repairable=True, id="ip-forward-no-drop"),
        Workaround("Enable forwarding before dockerd starts so it never sets the policy",
                   (forwarding_at_boot(), "sysctl --system", *reset)),
        Workaround("Move Docker to its nftables backend (Docker >= 29, experimental): add \"firewall-backend\": "
                   f"\"nftables\" to {specs.DOCKER_DAEMON_JSON}; it sets no DROP policy, but the one set earlier "
                   "stays until reset or reboot",
                   (json_file_set(specs.DOCKER_DAEMON_JSON, "firewall-backend", "nftables"), "systemctl restart docker",
                    *reset)),
        Workaround("Keep libvirt on its iptables backend, where its rules share Docker's FORWARD chain",
                   (pin_backend(Backend.IPTABLES), restart_libvirt_network())),
    ]
    workarounds.append(Workaround("Or run containers with Podman, whose netavark firewall does not set a DROP "
                                  "policy (the Fedora 41 change's suggestion)"))
    yield Finding(
        "docker-forward-drop", Severity.BLOCKER,
        f"Docker's FORWARD DROP policy blocks guest traffic {when}",
        "Docker set the iptables filter FORWARD policy to DROP. With libvirt's nftables backend its "
        "accept rules live in the separate `libvirt_network` table and cannot override that policy, "
        f"so guests on {', '.join(bridges)} lose NAT and routed traffic.",
        evidence=tuple(ev), workarounds=tuple(workarounds), links=LINKS)
