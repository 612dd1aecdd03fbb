"""Render the results of plan, migrate, rollback and history for a terminal with rich.

One line per fact; a command or id is never wrapped (a copied one stays one line), prose and
lists of names wrap at 80 columns under their heading, and a list that grows with the host (500
networks) is summarised ("net0, ..., net4 and 495 more"; `--format json` keeps every name).
Colours only say what the words already say: blockers and failures red, what succeeded green. Unlike scan's
renderers (which read the envelope, so a saved scan renders too), these take the use cases'
typed results (vnetmigrate.usecases): nothing renders a saved plan later.
"""

from __future__ import annotations

import io
import textwrap

from rich.console import Console
from rich.text import Text

from vnetmigrate.reports.view import printable  # strings from the host go through it
from vnetmigrate.usecases.history import NEEDS_ATTENTION, HistoryResult
from vnetmigrate.usecases.migrate import MigrateResult
from vnetmigrate.usecases.outcome import TxnOutcome
from vnetmigrate.usecases.plan import Count, PlanResult
from vnetmigrate.usecases.repair import RepairResult, Verdict
from vnetmigrate.usecases.rollback import RollbackResult
from vnetmigrate.reports import view
from vnetmigrate.words import names, plural, shorten_lists

BAD, GOOD, DIM, HEAD = "bold red", "bold green", "dim", "bold"


def _line(*parts: str | tuple[str, str]) -> Text:
    return Text.assemble(*((printable(p), "") if isinstance(p, str) else (printable(p[0]), p[1]) for p in parts))


def counts(items: tuple[Count, ...]) -> str:
    return ", ".join(f"{c.number} {c.what.replace('_', ' ')}" for c in items) or "nothing"


def plan_lines(plan: PlanResult) -> list[Text]:
    s = plan.summary
    if plan.nothing_to_do or s is None:
        out = [_line((f"Nothing to do: libvirt's rules are already in {plan.target} and network.conf says so.", GOOD))]
    else:
        out = [_line((f"Migration of libvirt's firewall: {s.source} -> {s.target} "
                      f"(modelled as libvirt {s.libvirt_version})", HEAD)),
               _line(*_prose("  networks moved: ", names(s.networks_moved) or "none", "    "))]
        if s.networks_already:
            out.append(_line(*_prose(f"  already in {plan.target}: ", names(s.networks_already), "    ")))
        out.append(_line(f"  add: {counts(s.add)}"))
        out += [_line(f"  remove ({r.where}): {counts(r.counts)}") for r in s.remove]
        out += [_line(f"  {line}") for line in view.kept_lines(s.unexpected_kept)]
        out.append(_line(f"  restart: {' '.join(s.restart) if s.restart else 'none'}"))
        if s.network_conf:
            out.append(_line("  network.conf:"))
            out += [_line(("    " + ln, _diff_style(ln))) for ln in s.network_conf.rstrip("\n").splitlines()]
        out.append(_line(("Steps:", HEAD)))
        out += [_step(st) for st in plan.steps]
    out += [_line(*_prose(("Note: ", DIM), shorten_lists(note), "  ")) for note in plan.notes]
    for b in plan.blockers:
        head = (("BLOCKER", BAD), f" {b.id}", (" (forced)", "yellow") if b.forced else "", ": ")
        out.append(_line(*_blocker_title(head, shorten_lists(b.title), b.forcible)))
    return out


_REFUSED = "[cannot be forced]"


def _blocker_title(head: tuple, title: str, forcible: bool) -> tuple:
    """`head` and the title wrapped at 80 columns under a two-space indent; an unforcible
    blocker's refusal stays whole and red on whichever line it lands."""
    if forcible:
        return _hanging(head, title, "  ")
    glued = _REFUSED.replace(" ", "\xa0")  # textwrap never breaks at a no-break space
    *_, wrapped = _hanging(head, f"{title} {glued}", "  ")
    return (*head, wrapped[:-len(glued)], (_REFUSED, BAD))


def _diff_style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return HEAD
    return {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")


def outcome_lines(o: TxnOutcome) -> list[Text]:
    """A rollback's outcome (rollback, and the recoveries migrate runs first)."""
    if o.rolled_back:
        head = _line(f"{o.id}: ", ("rolled back; the old state is verified back", GOOD))
    else:
        head = _line(f"{o.id}: ", ("ROLLBACK INCOMPLETE: the host needs attention", BAD))
    return [head, *detail_lines(o)]


def detail_lines(o: TxnOutcome) -> list[Text]:
    """What went wrong in a rollback, what differs, how to retry, and notes."""
    out = [_line(f"  - {e}") for e in o.rollback_errors]
    out += [_line(f"  - differs from the snapshot: {d}") for d in o.differences]
    if o.status == "needs-attention":
        out.append(_line(f"  retry with `vnetmigrate rollback {o.id}` (with --restart-command CMD or --no-restart "
                         "if restarting the daemon is what failed)"))
    return out + [_line(("  note:", DIM), f" {n}") for n in o.notes]


def migrate_lines(r: MigrateResult) -> list[Text]:
    out = []
    for o in r.recovered:
        out.append(_line(("Interrupted transaction found first:", HEAD)))
        out += [Text("  ") + ln for ln in outcome_lines(o)]
    return out + plan_lines(r.plan) + result_lines(r)


def result_lines(r: MigrateResult) -> list[Text]:
    """migrate's last word: dry run, refused, or its transaction's outcome."""
    if r.dry_run:
        return [_line(("Dry run: nothing was changed.", HEAD))]
    if r.refused:
        return [_line(("Refused:", BAD), f" {r.refused}.")]
    t = r.transaction
    if t is None:
        return []
    if t.status == "committed":
        return [_line((f"Transaction {t.id} committed: libvirt's rules are in {r.plan.target}, verified.", GOOD))]
    failed = f"step {t.failed_step + 1}" if t.failed_step is not None else "the commit"
    out = [_line(f"Transaction {t.id} ", ("FAILED", BAD), f" at {failed}: {t.error}")]
    if t.rolled_back:
        out.append(_line("  everything it did was rolled back; the old state is verified back"))
    else:
        out.append(_line("  its ", ("ROLLBACK IS INCOMPLETE", BAD), ": the host needs attention"))
    return out + detail_lines(t)


def rollback_lines(r: RollbackResult) -> list[Text]:
    if not r.transactions:
        return [_line(f"nothing to roll back in {r.state_dir}")]
    return [ln for o in r.transactions for ln in outcome_lines(o)]


def history_lines(r: HistoryResult) -> list[Text]:
    if not r.transactions:
        return [_line(f"no transactions in {r.state_dir}")]
    width = max([len("ID"), *(len(t.id) for t in r.transactions)])
    out = [_line((f"{'ID':<{width}} {'STATUS':<16} {'STEPS':>5}  TITLE", HEAD))]
    for t in r.transactions:
        steps = "-" if t.status == "corrupt" else f"{t.steps_done}/{t.steps if t.steps is not None else '?'}"
        style = BAD if t.status in NEEDS_ATTENTION else GOOD if t.status == "committed" else ""
        out.append(_line(f"{t.id:<{width}} ", (f"{t.status:<16}", style), f" {steps:>5}  {shorten_lists(t.title or '')}"))
        out += [_line(f"{'':<{width}} ", (e, BAD)) for e in t.errors]
    return out


def repair_plan_lines(r: RepairResult) -> list[Text]:
    """What repair found and what it will change: per finding its remedy (and why this way),
    the steps, and the findings it leaves with the reason."""
    out = []
    for o in r.recovered:
        out.append(_line(("Interrupted transaction found first:", HEAD)))
        out += [Text("  ") + ln for ln in outcome_lines(o)]
    applied = r.transaction is not None
    if r.before is not None and (r.remedies or r.refused):
        out.append(_line(("Scan before the repair: " if applied else "Scan: ", HEAD), r.before.verdict))
    if r.remedies:
        out.append(_line(("Repairs:", HEAD)))
        for rem in r.remedies:
            out.append(_line(*_prose(f"  {rem.finding}: ", shorten_lists(rem.summary), "    ")))
            out.append(_line(*_prose(("    why: ", DIM), shorten_lists(rem.why), "         ")))
            if rem.covers:
                out.append(_line(("    also repairs: ", DIM), ", ".join(rem.covers)))
        out.append(_line(("Steps:", HEAD)))
        out += [_step(st) for st in r.steps]
        out.append(_line(f"  restart: {' '.join(r.restart) if r.restart else 'none'}"))
    elif not r.refused and r.dry_run and r.left:  # not "nothing to repair" above a list of what is wrong
        out.append(_line(("No automatic repair for what scan found.", HEAD)))
    elif not r.refused and r.dry_run:
        out.append(_line(("Nothing to repair.", GOOD if r.before and r.before.exit_code == 0 else HEAD)))
    if r.left:
        out.append(_line(("Left as they are:", HEAD)))
        out += [_line(f"  {x.severity} {x.finding}: ", shorten_lists(x.reason)) for x in r.left]
    out += [_line(("Note:", DIM), f" {shorten_lists(note)}") for note in r.notes]
    return out


def _prose(head: str | tuple[str, str], text: str, indent: str) -> tuple[str | tuple[str, str], str]:
    """A sentence after `head`, wrapped at 80 columns under an indent (ids and commands are
    never in it: they stay on lines of their own)."""
    return _hanging((head,), text, indent)


def _hanging(head: tuple, text: str, indent: str) -> tuple:
    """`head` (plain or (text, style) parts) then `text` wrapped at 80 columns, its further lines
    under `indent`."""
    width = sum(len(p if isinstance(p, str) else p[0]) for p in head)
    wrapped = textwrap.fill(text, 80, initial_indent=" " * width, subsequent_indent=indent,
                            break_on_hyphens=False, break_long_words=False)
    return (*head, wrapped[width:])


def _step(st) -> Text:
    """A numbered step, its title wrapped under itself."""
    head = (f"  {st.index}. ", (f"[{st.kind}]", DIM), " ")
    return _line(*_hanging(head, shorten_lists(st.title), " " * (len(f"  {st.index}. [{st.kind}] "))))


def repair_result_lines(r: RepairResult) -> list[Text]:
    """repair's last word: dry run, refused, its transaction's outcome, and the scan after it."""
    if r.dry_run:
        return [_line(("Dry run: nothing was changed.", HEAD))]
    if r.refused:
        return [_line(("Refused:", BAD), f" {r.refused}.")]
    out = []
    t = r.transaction
    if t is not None and t.status == "committed":
        out.append(_line((f"Transaction {t.id} committed: repaired, verified.", GOOD),
                         f" (undo: vnetmigrate rollback {t.id})"))
    elif t is not None:
        failed = f"step {t.failed_step + 1}" if t.failed_step is not None else "the commit"
        out.append(_line(f"Transaction {t.id} ", ("FAILED", BAD), f" at {failed}: {t.error}"))
        if t.rolled_back:
            out.append(_line("  everything it did was rolled back; the old state is verified back"))
        else:
            out.append(_line("  its ", ("ROLLBACK IS INCOMPLETE", BAD), ": the host needs attention"))
        out += detail_lines(t)
    if r.after is not None:
        out += verdict_lines("Scan after the repair: " if t is not None else "Scan: ", r.after)
    return out


def verdict_lines(head: str, v: Verdict) -> list[Text]:
    style = GOOD if v.exit_code == 0 else BAD if v.exit_code == 4 else "yellow"
    out = [_line((head, HEAD), (v.verdict, style))]
    shown = [{"id": fid, "severity": sev, "title": title} for fid, sev, title in v.findings if sev != "info"]
    for f, hidden in view.collapsed(shown):  # one per network on some hosts: the first, then a count
        out.append(_line(f"  {f['severity']} {f['id']}: {shorten_lists(f['title'])}"))
        if hidden:
            out.append(_line((f"    {view.more_findings(f, hidden)}", DIM)))
    return out


def repair_headline(r: RepairResult) -> Text:
    """The one line that says how it ended (--quiet prints only this)."""
    t = r.transaction
    if r.dry_run:
        return _line((f"Repair plan (dry run): {plural(len(r.remedies), 'repair')}, {plural(len(r.steps), 'step')}; "
                      f"{plural(len(r.left), 'finding')} left", HEAD))
    if r.refused:
        return _line(("Repair refused:", BAD), f" {r.refused}")
    if t is None:
        if any(not o.rolled_back for o in r.recovered):
            return _line(("Repair stopped:", BAD), " an interrupted transaction could not be rolled back")
        return _line(("Nothing to repair: ", HEAD), r.after.verdict if r.after else "")
    if t.status == "committed":
        return _line((f"Repaired ({plural(len(r.remedies), 'repair')}, transaction {t.id}); scan after: ", GOOD),
                     r.after.verdict if r.after else "")
    if t.rolled_back:
        return _line(("Repair FAILED and was rolled back", BAD), f" (transaction {t.id})")
    return _line(("Repair FAILED and its ROLLBACK IS INCOMPLETE", BAD), f" (transaction {t.id})")


def repair_lines(r: RepairResult) -> list[Text]:
    return [repair_headline(r), *repair_plan_lines(r), *repair_result_lines(r)]


def _plain(lines_: list[Text]) -> str:
    buf = io.StringIO()
    console = Console(file=buf, highlight=False, width=80, force_terminal=False, color_system=None)
    for line in lines_:
        console.print(line, soft_wrap=True)
    return "\n".join(line.rstrip() for line in buf.getvalue().split("\n"))


def repair_plan_text(r: RepairResult) -> str:
    return _plain(repair_plan_lines(r))


def repair_outcome_text(r: RepairResult) -> str:
    return _plain([repair_headline(r), *repair_result_lines(r)])


def lines(result) -> list[Text]:
    if isinstance(result, RepairResult):
        return repair_lines(result)
    if isinstance(result, PlanResult):
        return plan_lines(result)
    if isinstance(result, MigrateResult):
        return migrate_lines(result)
    if isinstance(result, RollbackResult):
        return rollback_lines(result)
    if isinstance(result, HistoryResult):
        return history_lines(result)
    raise TypeError(f"no terminal renderer for {type(result).__name__}")


def quiet_line(result) -> str:
    """The one line --quiet prints: how it ended. migrate's is its outcome (committed, failed,
    refused, dry run), not the plan's heading it starts with."""
    if isinstance(result, MigrateResult):
        first = (result_lines(result) or plan_lines(result.plan))[0]
    else:
        first = lines(result)[0]
    return _plain([first]).split("\n", 1)[0]


def render(result, console: Console) -> None:
    for line in lines(result):
        console.print(line, soft_wrap=True)


def to_text(result) -> str:
    """The same lines without colours, for a file or a pipe."""
    buf = io.StringIO()
    render(result, Console(file=buf, highlight=False, width=80, force_terminal=False, color_system=None))
    return "\n".join(line.rstrip() for line in buf.getvalue().split("\n"))
