"""nftables.service flushing the whole ruleset (finding nftables-service-flush), made to delete
only its own tables: each `flush ruleset` line of its configuration becomes `table X` + `delete
table X` for every table the configuration defines (the first line makes the table exist, so the
delete never fails; the file's own definition then re-creates it). The file is rewritten
atomically; its old content is kept beside it (PATH.before-vnetmigrate) and in the journal.
"""

from __future__ import annotations

import re

from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Finding
from vnetmigrate.repair.remedies import NotRepairable, RepairContext, Remedy, remedy
from vnetmigrate.txn import steps
from vnetmigrate.txn.snapshot import FileUnusable, read_file

_FLUSH = re.compile(r"^(\s*)flush\s+ruleset\b[^#]*(#.*)?$")
BACKUP_SUFFIX = ".before-vnetmigrate"


def without_flush(text: str, tables: tuple[str, ...]) -> str:
    out = []
    for line in text.splitlines(keepends=True):
        m = _FLUSH.match(line.rstrip("\n"))
        if m is None:
            out.append(line)
            continue
        indent = m.group(1)
        out += [f"{indent}{part}\n" for t in tables for part in (f"table {t}", f"delete table {t}")]
    return "".join(out)


@remedy("nftables-service-flush")
def nftables_service_flush(facts: HostFacts, finding: Finding, ctx: RepairContext) -> Remedy | NotRepairable:
    svc = facts.nftables_service
    if svc is None or not svc.flush_lines:
        return NotRepairable(finding.id, "no configuration of nftables.service flushes the ruleset")
    if not svc.tables:
        return NotRepairable(finding.id, "its configuration defines no table of its own to delete instead")
    out = []
    for path in dict.fromkeys(ln.path for ln in svc.flush_lines):
        try:
            old = read_file(ctx.root, path)
            backup_old = read_file(ctx.root, path + BACKUP_SUFFIX)
        except FileUnusable as exc:
            return NotRepairable(finding.id, exc.message)
        if old is None:
            continue
        new = without_flush(old, svc.tables)
        if new == old:
            continue
        if backup_old is None:
            out.append(steps.file(f"keep a copy of {path} as {path}{BACKUP_SUFFIX}", path + BACKUP_SUFFIX, old, None))
        out.append(steps.file(f"{path}: delete only {', '.join(svc.tables)} instead of `flush ruleset`", path, new,
                              old))
    if not out:
        return NotRepairable(finding.id, "the configuration changed since the scan read it")
    return Remedy(finding.id, "nftables.service deletes only its own tables on reload (" + ", ".join(svc.tables) + ")",
                  "`flush ruleset` deletes every table, libvirt's too, at each start or reload of the service; "
                  "deleting only the tables its configuration defines keeps libvirt's. Takes effect at the "
                  "next reload or boot; nothing is reloaded now.", tuple(out))
