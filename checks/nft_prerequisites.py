"""What the kernel and userspace must offer before libvirt can use its nftables backend.

nf_tables for the tables themselves; for libvirt >= 11, tc with the u32 classifier, the htb
qdisc and the csum action: libvirt adds `tc filter ... action csum ip and udp` for every
network, and when that fails the network does not start (seen here: this kernel lacks
CONFIG_NET_ACT_CSUM, and libvirt 11.3 then cannot start any network with the nftables backend).
"""

from __future__ import annotations

from vnetmigrate.checks._commands import pin_backend, restart_libvirt_network
from vnetmigrate.checks._context import nftables_when
from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity, Workaround
from vnetmigrate.firewall import Backend

TC_NEEDS = {"CONFIG_NET_ACT_CSUM": "the csum action (act_csum)", "CONFIG_NET_CLS_U32": "the u32 classifier",
            "CONFIG_NET_SCH_HTB": "the htb qdisc"}


@check("nftables-prerequisites", "The nftables backend's kernel and userspace prerequisites", Severity.BLOCKER,
       needs=("kernel", "libvirt", "system"), optional=("migration_target",),
       applies_to_backend=Backend.NFTABLES)
def nftables_prerequisites(facts: HostFacts):
    when = nftables_when(facts)
    if when is None:
        return
    k, lv = facts.kernel, facts.libvirt
    # The switch of an older libvirt comes with an upgrade, most likely to 11 or later (Debian 13:
    # 11.3, Fedora 42: 11.0): judge by what that version needs.
    version_11 = lv.version is None or lv.version >= (11, 0, 0) or (when != "now" and lv.version < (10, 4, 0))
    missing, unknown, ev = [], [], []
    needs = {"CONFIG_NF_TABLES": "nf_tables"}
    if version_11:
        needs.update(TC_NEEDS)
    for config, what in needs.items():
        state = k.state(config)
        feature = k.features.get(config)
        if state in ("y", "m"):
            continue
        if state == "n":
            missing.append(what)
            ev.append(Citation("file", feature.where if feature and feature.where else config, "not available"))
        else:
            unknown.append(what)
    if version_11 and not facts.system.has("tc"):
        missing.append("the tc binary (iproute2)")
        ev.append(Citation("command", "tc", "not installed"))
    if k.config_source is None:
        ev.append(Citation("file", "/proc/config.gz, /boot/config-" + (k.release or "RELEASE"), "unreadable"))
    which = f"libvirt {lv.version_text}" if lv.version and lv.version >= (10, 4, 0) else "libvirt 11 and later"
    if missing:
        yield Finding(
            "nftables-prerequisites", Severity.BLOCKER,
            f"libvirt's nftables backend cannot work on this host {when}: missing {', '.join(missing)}",
            f"{which} needs these for its nftables backend; without them networks fail to start, or after a "
            "daemon restart stay 'active' without their rules (guests lose NAT).",
            evidence=tuple(ev),
            workarounds=(Workaround("Keep libvirt on its iptables backend on this kernel",
                                    (pin_backend(Backend.IPTABLES), restart_libvirt_network())),
                         Workaround("Or boot a kernel built with CONFIG_NET_ACT_CSUM, CONFIG_NET_CLS_U32 and "
                                    "CONFIG_NET_SCH_HTB, and install iproute2")))
    elif unknown:
        yield Finding(
            "nftables-prerequisites", Severity.WARNING,
            f"Cannot tell whether this kernel offers {', '.join(unknown)}",
            "The kernel configuration could not be read (no /proc/config.gz or /boot/config-RELEASE) and no "
            f"module was found for them. {which} needs them for its nftables backend: check before switching.",
            evidence=tuple(ev),
            workarounds=(Workaround("Look for the action module and try the filter libvirt adds on a scratch bridge",
                                    ("modinfo act_csum",)),))
