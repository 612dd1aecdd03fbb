"""What the kernel and userspace must offer before libvirt can use its nftables backend.

nf_tables for the tables themselves; for the releases with the DHCP checksum fix (11.x and
later, docs/libvirt-versions.md), tc with the u32 classifier, the htb qdisc and the csum
action: libvirt adds `tc filter ... action csum ip and udp` for every network, and when that
fails the network does not start (seen here: this kernel lacks CONFIG_NET_ACT_CSUM, and libvirt
11.3 and 12.9 then cannot start any network with the nftables backend). A 10.x host whose
nftables networks work without tc breaks on the upgrade that brings the fix: that is judged
before the upgrade.
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


def _release_needing_tc(facts: HostFacts, when: str) -> tuple[bool, str]:
    """Whether the libvirt that runs the nftables backend `when` adds tc filters, and which it is."""
    from vnetmigrate.libvirt.versions import NEWEST_KNOWN, resolve

    lv = facts.libvirt
    if when == "now" or facts.migration_target is not None:
        release = tuple(lv.version[:2]) if lv.version else None
        which = f"libvirt {lv.version_text}" if lv.version else "libvirt"
    elif lv.upgrade_to is not None:
        release, which = lv.upgrade_to, f"libvirt {lv.upgrade_to[0]}.{lv.upgrade_to[1]}"
    else:
        # The distribution's next libvirt: its release is unknown; every release after 11.3
        # checked has the fix, so judge by the newest known.
        release, which = NEWEST_KNOWN, "the libvirt an upgrade brings (11.x and later)"
    return resolve(release)[0].nft_checksum == "tc", which


def _extra_modules(facts: HostFacts) -> tuple[str, ...]:
    """RHEL 10 without kernel-modules-extra: the iptables backend needs it first."""
    from vnetmigrate.facts.kernel import rhel10_xt_missing

    return ("dnf install kernel-modules-extra",) if rhel10_xt_missing(facts.kernel, facts.system.os) else ()


def _upgrade_breaks(facts: HostFacts) -> bool:
    """A host on nftables now without tc filters (10.x) whose upgrade keeps nftables."""
    lv = facts.libvirt
    return (facts.migration_target is None and lv.effective.backend is Backend.NFTABLES
            and lv.after_upgrade.backend is Backend.NFTABLES and not _release_needing_tc(facts, "now")[0]
            and _release_needing_tc(facts, "after the upgrade")[0])


@check("nftables-prerequisites", "The nftables backend's kernel and userspace prerequisites", Severity.BLOCKER,
       needs=("kernel", "libvirt", "system"), optional=("migration_target",),
       applies_to_backend=Backend.NFTABLES)
def nftables_prerequisites(facts: HostFacts):
    when = nftables_when(facts)
    if when is None:
        return
    k, lv = facts.kernel, facts.libvirt
    version_11, which = _release_needing_tc(facts, when)
    if not version_11 and _upgrade_breaks(facts):
        when = "after the upgrade"
        version_11, which = _release_needing_tc(facts, when)
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
    if missing:
        yield Finding(
            "nftables-prerequisites", Severity.BLOCKER,
            f"libvirt's nftables backend cannot work on this host {when}: missing {', '.join(missing)}",
            f"{which} needs these for its nftables backend; without them networks fail to start, or after a "
            "daemon restart stay 'active' without their rules (guests lose NAT).",
            evidence=tuple(ev),
            workarounds=(Workaround("Keep libvirt on its iptables backend on this kernel",
                                    _extra_modules(facts) + (pin_backend(Backend.IPTABLES), restart_libvirt_network())),
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
