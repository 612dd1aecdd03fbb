"""Render the results of plan, migrate, repair, rollback and history as Markdown, for tickets and wikis.

The same facts as the terminal renderer (reports/txn_terminal.py), escaped as reports/markdown.py
escapes a scan: names, titles and errors come from the host and its journals.
"""

from __future__ import annotations

from vnetmigrate import __version__
from vnetmigrate.reports.markdown import cell, code, fenced, text
from vnetmigrate.reports.txn_terminal import counts
from vnetmigrate.usecases.history import HistoryResult
from vnetmigrate.usecases.migrate import MigrateResult
from vnetmigrate.usecases.outcome import TxnOutcome
from vnetmigrate.usecases.plan import PlanResult
from vnetmigrate.usecases.repair import RepairResult, Verdict
from vnetmigrate.usecases.rollback import RollbackResult
from vnetmigrate.reports import view
from vnetmigrate.words import names, shorten_lists


def plan_section(plan: PlanResult) -> list[str]:
    s = plan.summary
    if plan.nothing_to_do or s is None:
        out = [f"Nothing to do: libvirt's rules are already in {text(plan.target)} and network.conf says so.", ""]
    else:
        out = [f"**Migration of libvirt's firewall: {text(s.source)} → {text(s.target)}** "
               f"(modelled as libvirt {text(s.libvirt_version)})", "",
               f"- networks moved: {names(code(n) for n in s.networks_moved) or 'none'}"]
        if s.networks_already:
            out.append(f"- already in {text(plan.target)}: {names(code(n) for n in s.networks_already)}")
        out.append(f"- add: {text(counts(s.add))}")
        out += [f"- remove ({text(r.where)}): {text(counts(r.counts))}" for r in s.remove]
        if len(s.unexpected_kept) >= view.REPEAT_AT:
            out.append(f"- {text(view.kept_lines(s.unexpected_kept)[0])}")
        else:
            out += [f"- kept (not libvirt's rule in its container): {code(w)}" for w in s.unexpected_kept]
        out += [f"- restart: {code(' '.join(s.restart)) if s.restart else 'none'}", ""]
        if s.network_conf:
            out += ["network.conf:", "", fenced(s.network_conf.rstrip("\n").splitlines(), "diff"), ""]
        out += ["## Steps", "", *_steps_table(plan.steps), ""]
    if plan.notes:
        out += ["## Notes", "", *(f"- {text(shorten_lists(n))}" for n in plan.notes), ""]
    if plan.blockers:
        out += ["## Blockers", ""]
        for b in plan.blockers:
            how = " (forced)" if b.forced else "" if b.forcible else " *(cannot be forced)*"
            out.append(f"- **BLOCKER** {code(b.id)}{how}: {text(shorten_lists(b.title))}")
        out.append("")
    return out


def outcome_section(o: TxnOutcome) -> list[str]:
    head = ("rolled back; the old state is verified back" if o.rolled_back
            else "**ROLLBACK INCOMPLETE: the host needs attention**")
    return [f"- {code(o.id)}: {head}", *(f"  - {t}" for t in detail_items(o))]


def detail_items(o: TxnOutcome) -> list[str]:
    out = [text(e) for e in o.rollback_errors]
    out += [f"differs from the snapshot: {text(d)}" for d in o.differences]
    if o.status == "needs-attention":
        out.append(f"retry with {code(f'vnetmigrate rollback {o.id}')} (with `--restart-command CMD` or "
                   "`--no-restart` if restarting the daemon is what failed)")
    return out + [f"note: {text(n)}" for n in o.notes]


def migrate_section(r: MigrateResult) -> list[str]:
    out = _recovered(r.recovered) + plan_section(r.plan) + ["## Result", ""]
    out += _ended(r.dry_run, r.refused, r.transaction,
                  lambda _done: f"libvirt's rules are in {text(r.plan.target)}, verified.")
    return out + [""]


def _recovered(recovered: tuple[TxnOutcome, ...]) -> list[str]:
    """The interrupted transactions a command rolled back before its own."""
    if not recovered:
        return []
    return ["## Interrupted transactions found first", "", *(ln for o in recovered for ln in outcome_section(o)), ""]


def _ended(dry_run: bool, refused: str | None, t: TxnOutcome | None, did) -> list[str]:
    """How migrate or repair ended; `did(t)`: what its committed transaction `t` did."""
    if dry_run:
        return ["Dry run: nothing was changed."]
    if refused:
        return [f"**Refused:** {text(refused)}."]
    if t is None:
        return ["Nothing was changed."]
    if t.status == "committed":
        return [f"Transaction {code(t.id)} committed: {did(t)}"]
    failed = f"step {t.failed_step + 1}" if t.failed_step is not None else "the commit"
    out = [f"Transaction {code(t.id)} **FAILED** at {failed}: {text(t.error or '')}", "",
           "Everything it did was rolled back; the old state is verified back." if t.rolled_back
           else "Its **ROLLBACK IS INCOMPLETE**: the host needs attention."]
    if items := detail_items(t):
        out += ["", *(f"- {i}" for i in items)]
    return out


def _steps_table(steps) -> list[str]:
    return ["| # | kind | step |", "|---|---|---|",
            *(f"| {st.index} | {cell(code(st.kind))} | {cell(text(shorten_lists(st.title)))} |" for st in steps)]


def repair_section(r: RepairResult) -> list[str]:
    """What repair found, what it changes and why (per finding), the steps, what it leaves and
    how it ended: the terminal's order (txn_terminal.repair_lines)."""
    out = _recovered(r.recovered)
    applied = r.transaction is not None
    if r.before is not None and (r.remedies or r.refused):
        out += [f"{'Scan before the repair' if applied else 'Scan'}: **{text(r.before.verdict)}**", ""]
    if r.remedies:
        out += ["## Repairs", ""]
        for rem in r.remedies:
            out.append(f"- {code(rem.finding)}: {text(shorten_lists(rem.summary))}")
            out.append(f"  - why: {text(shorten_lists(rem.why))}")
            if rem.covers:
                out.append(f"  - also repairs: {names(code(c) for c in rem.covers)}")
        out += ["", "## Steps", "", *_steps_table(r.steps), "",
                f"Restart: {code(' '.join(r.restart)) if r.restart else 'none'}", ""]
    elif not r.refused and r.dry_run:
        out += ["No automatic repair for what scan found." if r.left else "Nothing to repair.", ""]
    if r.left:
        out += ["## Left as they are", ""]
        out += [f"- {text(x.severity)} {code(x.finding)}: {text(shorten_lists(x.reason))}" for x in r.left] + [""]
    if r.notes:
        out += ["## Notes", "", *(f"- {text(shorten_lists(n))}" for n in r.notes), ""]
    return out + ["## Result", "", *_repair_result(r), ""]


def _repair_result(r: RepairResult) -> list[str]:
    t = r.transaction
    out = _ended(r.dry_run, r.refused, t,
                 lambda done: f"repaired, verified (undo: {code(f'vnetmigrate rollback {done.id}')}).")
    if r.dry_run or r.refused:
        return out
    if r.after is not None:
        out += ["", *_verdict(f"{'Scan after the repair' if t is not None else 'Scan'}", r.after)]
    return out


def _verdict(head: str, v: Verdict) -> list[str]:
    """The scan's verdict and its findings above info, one line per check (txn_terminal.verdict_lines)."""
    out = [f"{head}: **{text(v.verdict)}**"]
    shown = [{"id": fid, "severity": sev, "title": title} for fid, sev, title in v.findings if sev != "info"]
    if shown:
        out.append("")
    for f, hidden in view.collapsed(shown):
        out.append(f"- {text(f['severity'])} {code(f['id'])}: {text(shorten_lists(f['title']))}")
        if hidden:
            out.append(f"  - {text(view.more_findings(f, hidden))}")
    return out


def rollback_section(r: RollbackResult) -> list[str]:
    if not r.transactions:
        return [f"Nothing to roll back in {code(str(r.state_dir))}.", ""]
    return [ln for o in r.transactions for ln in outcome_section(o)] + [""]


def history_section(r: HistoryResult) -> list[str]:
    if not r.transactions:
        return [f"No transactions in {code(str(r.state_dir))}.", ""]
    out = [f"State dir: {code(str(r.state_dir))}, newest first.", "",
           "| id | status | steps | title | errors |", "|---|---|---|---|---|"]
    for t in r.transactions:
        steps = "-" if t.status == "corrupt" else f"{t.steps_done}/{t.steps if t.steps is not None else '?'}"
        out.append(f"| {cell(code(t.id))} | {cell(text(t.status))} | {steps} | {cell(text(shorten_lists(t.title or '')))} | "
                   f"{cell(text('; '.join(t.errors)))} |")
    return out + [""]


SECTIONS = ((PlanResult, "plan", plan_section), (MigrateResult, "migrate", migrate_section),
            (RepairResult, "repair", repair_section),
            (RollbackResult, "rollback", rollback_section), (HistoryResult, "history", history_section))


def render(result) -> str:
    for kind, command, section in SECTIONS:
        if isinstance(result, kind):
            body = section(result)
            break
    else:
        raise TypeError(f"no Markdown renderer for {type(result).__name__}")
    return "\n".join([f"# vnetmigrate {command}: {result.status}", "", *body,
                      f"*vnetmigrate {text(__version__)}, exit code {int(result.exit_code)}*"]) + "\n"
