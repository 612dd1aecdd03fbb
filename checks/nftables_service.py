"""nftables.service: `flush ruleset` on every reload wipes libvirt's rules."""

from __future__ import annotations

from vnetmigrate.checks._commands import restart_libvirt_network
from vnetmigrate.checks._context import nftables_when
from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Evidence, Finding, Severity, Workaround


@check("nftables-service-flush", "nftables.service flushes the whole ruleset", Severity.WARNING,
       needs=("nftables_service", "libvirt"))
def nftables_service_flush(facts: HostFacts):
    svc = facts.nftables_service
    if not svc.in_use or not svc.flush_lines:
        return
    when = nftables_when(facts)
    victim = "the libvirt_network tables" if when == "now" else "libvirt's LIBVIRT_* chains (and, after the " \
        "switch, its libvirt_network tables)"
    first = svc.flush_lines[0]
    yield Finding(
        "nftables-service-flush", Severity.WARNING,
        "nftables.service runs `flush ruleset`: every reload deletes libvirt's rules",
        f"Starting, reloading or stopping nftables.service flushes every table, {victim} included, "
        "and guests lose NAT and forwarding until libvirt's network daemon restarts. Flush only the "
        "service's own tables instead.",
        evidence=tuple(Evidence("file", ln.where, ln.text) for ln in svc.flush_lines) +
        tuple(Evidence("file", ln.where, ln.text) for ln in svc.drop_policies) +
        (Evidence("fact", "nftables.service", "enabled" if svc.enabled else "active"),),
        workarounds=(Workaround(
            "Replace `flush ruleset` by deleting only the tables the file defines (for each `table FAMILY "
            "NAME` it defines, put `table FAMILY NAME` and `delete table FAMILY NAME` before it), then reload "
            "and let libvirt re-create its rules",
            (f"sed -i 's/^\\(\\s*\\)flush ruleset/\\1# flush ruleset (removed: it deletes libvirt_network)/' "
             f"{first.path}", "systemctl reload nftables.service", restart_libvirt_network())),))
