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
from vnetmigrate.words import hanging, names, plural, shorten_lists

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


def outcome_lines(o: TxnOutcome, width: int | None = 80) -> list[Text]:
    """A rollback's outcome (rollback, and the recoveries migrate runs first)."""
    if o.rolled_back:
        head = _line(f"{o.id}: ", ("rolled back; the old state is verified back", GOOD))
    else:
        head = _line(f"{o.id}: ", ("ROLLBACK INCOMPLETE: the host needs attention", BAD))
    return [head, *detail_lines(o, width)]


def detail_lines(o: TxnOutcome, width: int | None = 80) -> list[Text]:
    """What went wrong in a rollback, what differs, how to retry, and notes."""
    out = [_line(*_hanging(("  - ",), e, "    ", width)) for e in o.rollback_errors]
    out += [_line(*_hanging(("  - ",), f"differs from the snapshot: {d}", "    ", width)) for d in o.differences]
    if o.status == "needs-attention":
        retry = (f"retry with `vnetmigrate rollback {o.id}` (with --restart-command CMD or --no-restart "
                 "if restarting the daemon is what failed)")
        out.append(_line(*_hanging(("  ",), retry, "    ", width,
                                   whole=(f"`vnetmigrate rollback {o.id}`", "--restart-command CMD"))))
    return out + [_line(*_hanging((("  note:", DIM), " "), n, "    ", width)) for n in o.notes]


def _indented(lines_: list[Text], indent: str) -> list[Text]:
    """`lines_` moved right by `indent`, each wrapped line too."""
    return [Text(indent) + part for ln in lines_ for part in ln.split("\n")]


def migrate_lines(r: MigrateResult, width: int | None = 80) -> list[Text]:
    out = []
    for o in r.recovered:
        out.append(_line(("Interrupted transaction found first:", HEAD)))
        out += _indented(outcome_lines(o, None if width is None else width - 2), "  ")
    return out + plan_lines(r.plan) + result_lines(r, width)


def result_lines(r: MigrateResult, width: int | None = 80) -> list[Text]:
    """migrate's last word: dry run, refused, or its transaction's outcome."""
    if r.dry_run:
        return [_line(("Dry run: nothing was changed.", HEAD))]
    if r.refused:
        return [_line(*_hanging((("Refused:", BAD), " "), f"{r.refused}.", "  ", width))]
    t = r.transaction
    if t is None:
        return []
    if t.status == "committed":
        return [_line((_wrapped(f"Transaction {t.id} committed: libvirt's rules are in {r.plan.target}, verified.",
                                "  ", width), GOOD))]
    return failed_lines(t, width)


def failed_lines(t: TxnOutcome, width: int | None) -> list[Text]:
    """A failed transaction of migrate or repair: where it failed, whether its rollback is complete, details."""
    failed = f"step {t.failed_step + 1}" if t.failed_step is not None else "the commit"
    out = [_line(*_hanging((f"Transaction {t.id} ", ("FAILED", BAD), f" at {failed}: "), t.error or "", "  ", width))]
    if t.rolled_back:
        out.append(_line("  everything it did was rolled back; the old state is verified back"))
    else:
        out.append(_line("  its ", ("ROLLBACK IS INCOMPLETE", BAD), ": the host needs attention"))
    return out + detail_lines(t, width)


def rollback_lines(r: RollbackResult, width: int | None = 80) -> list[Text]:
    if not r.transactions:
        return [_line(_wrapped(f"nothing to roll back in {r.state_dir}", "  ", width))]
    return [ln for o in r.transactions for ln in outcome_lines(o, width)]


_STATUS, _STEPS = 16, 5
TITLE_COLUMN = 20  # narrower than this, a transaction's title goes on lines of its own under its row


def history_lines(r: HistoryResult, width: int | None = 80) -> list[Text]:
    """The table: a title wraps under its column, an error under its row (at the status column
    where every error fits on one line there, as on a wide terminal, else two columns in, so
    that a journal's path stays whole on its line)."""
    if not r.transactions:
        return [_line(_wrapped(f"no transactions in {r.state_dir}", "  ", width))]
    ids = max([len("ID"), *(len(t.id) for t in r.transactions)])
    title_at = ids + 1 + _STATUS + 1 + _STEPS + 2
    title_own_lines = width is not None and width - title_at < TITLE_COLUMN
    errors_at = ids + 1
    if width is not None and any(errors_at + len(e) > width for t in r.transactions for e in t.errors):
        errors_at = 2
    out = [_line((f"{'ID':<{ids}} {'STATUS':<{_STATUS}} {'STEPS':>{_STEPS}}  TITLE", HEAD))]
    for t in r.transactions:
        steps = "-" if t.status == "corrupt" else f"{t.steps_done}/{t.steps if t.steps is not None else '?'}"
        style = BAD if t.status in NEEDS_ATTENTION else GOOD if t.status == "committed" else ""
        head = (f"{t.id:<{ids}} ", (f"{t.status:<{_STATUS}}", style), f" {steps:>{_STEPS}}  ")
        title = shorten_lists(t.title or "")
        if title_own_lines and title:
            out.append(_line(*head[:2], head[2].rstrip()))
            out.append(_line(*_hanging(("  ",), title, "  ", width)))
        else:
            out.append(_line(*_hanging(head, title, " " * title_at, width)))
        out += [_line((" " * errors_at + _wrapped(e, " " * errors_at, width, errors_at), BAD)) for e in t.errors]
    return out


def repair_plan_lines(r: RepairResult, width: int | None = 80) -> list[Text]:
    """What repair found and what it will change: per finding its remedy (and why this way),
    the steps, and the findings it leaves with the reason."""
    out = []
    for o in r.recovered:
        out.append(_line(("Interrupted transaction found first:", HEAD)))
        out += _indented(outcome_lines(o, None if width is None else width - 2), "  ")
    applied = r.transaction is not None
    if r.before is not None and (r.remedies or r.refused):
        out.append(_line(*_hanging((("Scan before the repair: " if applied else "Scan: ", HEAD),), r.before.verdict,
                                   "  ", width)))
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
        out += [_line(*_hanging((f"  {x.severity} {x.finding}: ",), shorten_lists(x.reason), "    ", width))
                for x in r.left]
    out += [_line(*_hanging((("Note:", DIM), " "), shorten_lists(note), "  ", width)) for note in r.notes]
    return out


def _prose(head: str | tuple[str, str], text: str, indent: str) -> tuple[str | tuple[str, str], str]:
    """A sentence after `head`, wrapped at 80 columns under an indent (ids and commands are
    never in it: they stay on lines of their own)."""
    return _hanging((head,), text, indent)


def _hanging(head: tuple, text: str, indent: str, width: int | None = 80, whole: tuple[str, ...] = ()) -> tuple:
    """`head` (plain or (text, style) parts) then `text` wrapped at `width` columns (None: not
    at all), its further lines under `indent`; each of `whole` (a command with its arguments)
    stays on one line."""
    used = sum(len(p if isinstance(p, str) else p[0]) for p in head)
    wrapped = _wrapped(text, indent, width, used, whole)
    if width is not None and text and used > len(indent) and used + len(wrapped.split("\n", 1)[0]) > width:
        # its first word does not fit after the head: it starts the next line, under the indent
        *head, last = head
        head = (*head, last.rstrip() if isinstance(last, str) else last)
        wrapped = "\n" + indent + _wrapped(text, indent, width, len(indent), whole)
    return (*head, wrapped)


def _wrapped(text: str, indent: str, width: int | None, used: int = 0, whole: tuple[str, ...] = ()) -> str:
    """`text` after `used` columns, wrapped at `width` (None: as it is) by words.hanging."""
    return text if width is None else hanging(text, width, indent, used, whole)


def _step(st) -> Text:
    """A numbered step, its title wrapped under itself."""
    head = (f"  {st.index}. ", (f"[{st.kind}]", DIM), " ")
    return _line(*_hanging(head, shorten_lists(st.title), " " * (len(f"  {st.index}. [{st.kind}] "))))


def repair_result_lines(r: RepairResult, width: int | None = 80) -> list[Text]:
    """repair's last word: dry run, refused, its transaction's outcome, and the scan after it."""
    if r.dry_run:
        return [_line(("Dry run: nothing was changed.", HEAD))]
    if r.refused:
        return [_line(*_hanging((("Refused:", BAD), " "), f"{r.refused}.", "  ", width))]
    out = []
    t = r.transaction
    if t is not None and t.status == "committed":
        undo = f"vnetmigrate rollback {t.id}"
        out.append(_line(*_hanging(((f"Transaction {t.id} committed: repaired, verified.", GOOD), " "),
                                   f"(undo: {undo})", "  ", width, whole=(undo,))))
    elif t is not None:
        out += failed_lines(t, width)
    if r.after is not None:
        out += verdict_lines("Scan after the repair: " if t is not None else "Scan: ", r.after, width)
    return out


def verdict_lines(head: str, v: Verdict, width: int | None = 80) -> list[Text]:
    style = GOOD if v.exit_code == 0 else BAD if v.exit_code == 4 else "yellow"
    out = [_line((head, HEAD), (_wrapped(v.verdict, "  ", width, len(head)), style))]
    shown = [{"id": fid, "severity": sev, "title": title} for fid, sev, title in v.findings if sev != "info"]
    for f, hidden in view.collapsed(shown):  # one per network on some hosts: the first, then a count
        out.append(_line(*_hanging((f"  {f['severity']} {f['id']}: ",), shorten_lists(f["title"]), "    ", width)))
        if hidden:
            out.append(_line(("    " + _wrapped(view.more_findings(f, hidden), "    ", width, 4), DIM)))
    return out


def repair_headline(r: RepairResult, width: int | None = 80) -> Text:
    """The line that says how it ended (--quiet prints only this, unwrapped: width None)."""
    t = r.transaction
    if r.dry_run:
        return _line((_wrapped(f"Repair plan (dry run): {plural(len(r.remedies), 'repair')}, "
                               f"{plural(len(r.steps), 'step')}; {plural(len(r.left), 'finding')} left", "  ", width),
                      HEAD))
    if r.refused:
        return _line(*_hanging((("Repair refused:", BAD), " "), r.refused, "  ", width))
    if t is None:
        if any(not o.rolled_back for o in r.recovered):
            return _line(("Repair stopped:", BAD), " an interrupted transaction could not be rolled back")
        return _line(*_hanging((("Nothing to repair: ", HEAD),), r.after.verdict if r.after else "", "  ", width))
    if t.status == "committed":
        head = f"Repaired ({plural(len(r.remedies), 'repair')}, transaction {t.id}); scan after:"
        return _line(*_hanging(((head, GOOD), " "), r.after.verdict if r.after else "", "  ", width))
    if t.rolled_back:
        return _line(*_hanging((("Repair FAILED and was rolled back", BAD), " "), f"(transaction {t.id})", "  ", width))
    return _line(*_hanging((("Repair FAILED and its ROLLBACK IS INCOMPLETE", BAD), " "), f"(transaction {t.id})", "  ",
                           width))


def repair_lines(r: RepairResult, width: int | None = 80) -> list[Text]:
    return [repair_headline(r, width), *repair_plan_lines(r, width), *repair_result_lines(r, width)]


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


def lines(result, width: int | None = 80) -> list[Text]:
    """`result`'s lines; its outcome, history's table and the errors in them wrap at `width`
    (None: not at all), the plan's prose at 80 columns."""
    if isinstance(result, RepairResult):
        return repair_lines(result, width)
    if isinstance(result, PlanResult):
        return plan_lines(result)
    if isinstance(result, MigrateResult):
        return migrate_lines(result, width)
    if isinstance(result, RollbackResult):
        return rollback_lines(result, width)
    if isinstance(result, HistoryResult):
        return history_lines(result, width)
    raise TypeError(f"no terminal renderer for {type(result).__name__}")


def quiet_line(result) -> str:
    """The one line --quiet prints: how it ended. migrate's is its outcome (committed, failed,
    refused, dry run), not the plan's heading it starts with. It is never wrapped: a script
    reads it whole."""
    if isinstance(result, MigrateResult):
        first = (result_lines(result, None) or plan_lines(result.plan))[0]
    else:
        first = lines(result, None)[0]
    return _plain([first]).split("\n", 1)[0]


def render(result, console: Console) -> None:
    """On a terminal the outcome wraps at its width (COLUMNS, as rich reads it): a wide one
    keeps one line per message."""
    for line in lines(result, console.width):
        console.print(line, soft_wrap=True)


def to_text(result) -> str:
    """The same lines without colours, for a file or a pipe."""
    buf = io.StringIO()
    render(result, Console(file=buf, highlight=False, width=80, force_terminal=False, color_system=None))
    return "\n".join(line.rstrip() for line in buf.getvalue().split("\n"))
