"""Which firewall backend libvirt uses now, and whether an upgrade changes it."""

from __future__ import annotations

from vnetmigrate.checks._commands import pin_backend
from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity, Workaround
from vnetmigrate.firewall import Backend
from vnetmigrate.libvirt import netconf



def _conf_evidence(facts: HostFacts) -> Citation:
    lv = facts.libvirt
    if lv.configured_line:
        return Citation("file", f"{netconf.PATH}:{lv.configured_line}",
                        f'firewall_backend = "{lv.configured_backend}"')
    if lv.network_conf_present:
        return Citation("file", netconf.PATH, "firewall_backend is not set")
    if lv.conf_not_collected:
        return Citation("file", netconf.PATH, f"not collected: {lv.conf_not_collected}")
    return Citation("file", netconf.PATH, "absent")


def _version_evidence(facts: HostFacts) -> list[Citation]:
    ev = [_conf_evidence(facts)]
    if facts.libvirt.version_text:
        ev.append(Citation("command", facts.libvirt.version_source or "--version",
                           f"libvirt {facts.libvirt.version_text}"))
    return ev


@check("backend-unavailable", "libvirt cannot use any firewall backend", Severity.BLOCKER, needs=("libvirt",))
def backend_unavailable(facts: HostFacts):
    lv = facts.libvirt
    if lv.installed and lv.effective.backend is None:
        yield Finding("backend-unavailable", Severity.BLOCKER, "libvirt cannot use any firewall backend",
                      lv.effective.reason, evidence=tuple(_version_evidence(facts)),
                      workarounds=(Workaround("Install the userspace tool the configured backend needs",
                                              ("apt-get install nftables iptables   # Debian/Ubuntu",
                                               "dnf install nftables iptables-nft   # Fedora")),))


@check("backend-effective", "libvirt's firewall backend", Severity.INFO, needs=("libvirt",))
def backend_effective(facts: HostFacts):
    lv = facts.libvirt
    choice = lv.effective
    if not lv.installed or choice.backend is None:
        return
    note = " (assumed: the distribution's build-time priority is not recorded on the host)" \
        if choice.assumption else ""
    from vnetmigrate.libvirt.versions import resolve

    modelled = resolve(tuple(lv.version[:2]) if lv.version else None)[1]
    if modelled:
        note += f". The rules libvirt makes: {modelled}"
    yield Finding("backend-effective", Severity.INFO, f"libvirt uses its {choice.backend} backend",
                  choice.reason + note, evidence=tuple(_version_evidence(facts)))


@check("backend-switch-on-upgrade", "An upgrade switches libvirt to nftables", Severity.WARNING,
       needs=("libvirt",))
def backend_switch_on_upgrade(facts: HostFacts):
    lv = facts.libvirt
    now, after = lv.effective.backend, lv.after_upgrade.backend
    if not lv.installed or now != Backend.IPTABLES or after != Backend.NFTABLES:
        return
    target = f"libvirt {lv.upgrade_to[0]}.{lv.upgrade_to[1]}" if lv.upgrade_to else "a libvirt that prefers nftables"
    yield Finding(
        "backend-switch-on-upgrade", Severity.WARNING,
        f"Upgrading to {target} will switch this host to the nftables backend",
        "firewall_backend is not set in network.conf, so the upgrade moves every network's rules into the "
        f"`libvirt_network` tables at libvirt's next restart ({lv.after_upgrade.reason}). Check the findings "
        "below for what breaks then, or pin the current backend before upgrading.",
        evidence=(_conf_evidence(facts),),
        workarounds=(Workaround("Keep the iptables backend across the upgrade", (pin_backend(Backend.IPTABLES),)),))
