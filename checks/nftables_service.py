"""nftables.service: `flush ruleset` on every reload wipes libvirt's rules."""

from __future__ import annotations

from vnetmigrate.checks._commands import restart_libvirt_network
from vnetmigrate.checks._context import nftables_when
from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity, Workaround


@check("nftables-service-flush", "nftables.service flushes the whole ruleset", Severity.WARNING,
       needs=("nftables_service", "libvirt"), optional=("migration_target",),
       concerns_tools=("nftables.service",))
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
        evidence=tuple(Citation("file", ln.where, ln.text) for ln in svc.flush_lines) +
        tuple(Citation("file", ln.where, ln.text) for ln in svc.drop_policies) +
        (Citation("fact", "nftables.service", "enabled" if svc.enabled else "active"),),
        workarounds=(_workaround(svc, first.path),))


def _workaround(svc, path: str) -> Workaround:
    """Replace `flush ruleset` by `table X` + `delete table X` for each table the configuration
    defines: the first line makes the table exist, so the delete never fails, and the file's
    own definition then re-creates it; every other table (libvirt's) is left alone."""
    lines = [part for t in svc.tables for part in (f"table {t}", f"delete table {t}")]
    if not lines:
        return Workaround("Remove `flush ruleset` from the configuration and delete only the tables it "
                          "defines before re-creating them", (f"grep -n 'flush ruleset' {path}",))
    replacement = "\\n".join(lines)
    return Workaround(
        "Replace `flush ruleset` by deleting only the tables the configuration defines, then reload "
        "and let libvirt re-create its rules",
        (f"sed -i -E 's/^[[:space:]]*flush ruleset.*/{replacement}/' {path}",
         "systemctl reload nftables.service", restart_libvirt_network()),
        repairable=True, id="delete-own-tables")
