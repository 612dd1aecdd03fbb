"""ufw against libvirt's nftables backend (libvirt issue #644).

ufw's INPUT and FORWARD defaults drop what it does not allow. Under the iptables backend
libvirt's LIBVIRT_INP/FWX/FWI/FWO jumps sit first in INPUT and FORWARD and accept guests'
DHCP, DNS and forwarded traffic; under the nftables backend they cannot override ufw's drop.
"""

from __future__ import annotations

from vnetmigrate import specs
from vnetmigrate.checks._commands import pin_backend, restart_libvirt_network
from vnetmigrate.checks._context import bridges, nftables_when
from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity, Workaround
from vnetmigrate.firewall import Backend

DROPS = ("DROP", "REJECT")


@check("ufw-blocks-guests", "ufw drops libvirt guests' traffic under the nftables backend", Severity.BLOCKER,
       needs=("ufw", "libvirt"), optional=("migration_target",), applies_to_backend=Backend.NFTABLES,
       concerns_tools=("ufw",))
def ufw_blocks_guests(facts: HostFacts):
    ufw = facts.ufw
    when = nftables_when(facts)
    if not ufw.active or when is None:
        return
    brs = bridges(facts)
    routed = bridges(facts, ("nat", "route"))
    need_in = [b for b in brs if b not in ufw.allow_in] if (ufw.default_input or "DROP").upper() in DROPS else []
    need_route_in = [b for b in routed if b not in ufw.route_in] \
        if (ufw.default_forward or "DROP").upper() in DROPS else []
    need_route_out = [b for b in routed if b not in ufw.route_out] \
        if (ufw.default_forward or "DROP").upper() in DROPS else []
    if not (need_in or need_route_in or need_route_out):
        return
    ev = [Citation("file", f"{specs.UFW_CONF}:{ufw.conf_line}" if ufw.conf_line else specs.UFW_CONF,
                   "ENABLED=yes" if ufw.enabled else "ufw's chains are loaded")]
    for key, value in (("DEFAULT_INPUT_POLICY", ufw.default_input), ("DEFAULT_FORWARD_POLICY", ufw.default_forward)):
        line = ufw.policy_lines.get(key)
        ev.append(Citation("file", f"{specs.UFW_DEFAULTS}:{line}" if line else specs.UFW_DEFAULTS,
                           f"{key}={value or 'DROP (default)'}"))
    broken = []
    if need_in:
        broken.append(f"DHCP and DNS from guests to the host on {', '.join(need_in)}")
    if need_route_in or need_route_out:
        broken.append(f"forwarded (NAT and routed) traffic of {', '.join(sorted(set(need_route_in + need_route_out)))}")
    cmds = [f"ufw allow in on {b}" for b in need_in]
    cmds += [f"ufw route allow in on {b}" for b in need_route_in]
    cmds += [f"ufw route allow out on {b}" for b in need_route_out]
    yield Finding(
        "ufw-blocks-guests", Severity.BLOCKER, f"ufw will drop guests' traffic {when}",
        "ufw is enabled with dropping defaults and its rules do not allow libvirt's bridges. "
        f"Under libvirt's nftables backend ufw drops {' and '.join(broken)}: libvirt's accept rules "
        "live in their own table and cannot override ufw's drop.",
        evidence=tuple(ev),
        workarounds=(Workaround("Allow libvirt's bridges in ufw (persistent: ufw saves its rules)", tuple(cmds),
                                repairable=True, id="ufw-allow-bridges"),
                     Workaround("Keep libvirt on its iptables backend", (pin_backend(Backend.IPTABLES),
                                                                        restart_libvirt_network()))),
        links=("https://gitlab.com/libvirt/libvirt/-/issues/644",))
