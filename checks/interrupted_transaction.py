"""A vnetmigrate transaction that did not finish: the host may be half-migrated."""

from __future__ import annotations

import shlex

from vnetmigrate.checks.registry import check
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Citation, Finding, Severity, Workaround

WHY = {"incomplete": "it was interrupted (crash, kill, power loss) before it committed or rolled back",
       "needs-attention": "its rollback failed: part of the old state could not be restored",
       "corrupt": "its journal is corrupt, so nobody can tell what it changed"}
NEXT = {"incomplete": "`vnetmigrate migrate` rolls an interrupted transaction back before it starts.",
        "needs-attention": "`vnetmigrate migrate` refuses until it is rolled back; if restarting libvirt's daemon "
                           "is what failed, roll back with --restart-command CMD or --no-restart.",
        "corrupt": "`vnetmigrate migrate` refuses until it is moved aside."}


# handled_by_migrate: migrate rolls an interrupted transaction back before it plans, and judges
# the others transaction by transaction (vnetmigrate.usecases.plan.transaction_blockers).
@check("interrupted-transaction", "A migration did not finish", Severity.BLOCKER, needs=("transactions",),
       handled_by_migrate=True)
def interrupted_transaction(facts: HostFacts):
    txn = facts.transactions
    for t in txn.unfinished:
        state = shlex.quote(txn.state_dir)
        progress = f"{t.steps_done}/{t.steps} steps done" if t.steps is not None else "steps unknown"
        fixes = [Workaround("Roll it back to the state before it (verified against its snapshot)",
                            (f"vnetmigrate rollback {t.id} --state-dir {state}",), repairable=True,
                            id="rollback-transaction")]
        if t.status == "corrupt":
            fixes = [Workaround("Check the host by hand (vnetmigrate scan), then move the transaction aside",
                                (f"mv {state}/txn/{t.id} {state}/corrupt-{t.id}",))]
        yield Finding(
            "interrupted-transaction", Severity.BLOCKER,
            f"vnetmigrate transaction {t.id} did not finish ({t.status})",
            f"{t.title or 'A migration'}: {WHY.get(t.status, t.status)}. The firewall may be half-way "
            "between backends; do not upgrade or migrate until it is rolled back. " + NEXT.get(t.status, ""),
            evidence=(Citation("file", f"{txn.state_dir}/txn/{t.id}/journal.jsonl", progress),
                      *(Citation("fact", "journal", e) for e in t.errors)),
            workarounds=tuple(fixes))
