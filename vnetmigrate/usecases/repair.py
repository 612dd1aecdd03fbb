"""`repair`: scan the host, turn every finding a remedy can fix into steps of the transaction
engine (vnetmigrate.repair), show the plan, apply it as one journaled, verified transaction
(rolled back on failure), and scan again: the verdict after the repair is the result.

Like migrate, it first rolls back what an interrupted transaction left, and refuses while a
transaction needs attention. Exit codes follow scan's: 0 healthy afterwards, 3 or 4 when
findings remain (each listed with why repair left it), 5 rolled back, 6 needs attention.
"""

from __future__ import annotations

import re
from dataclasses import field
from pathlib import Path
from typing import Any, Callable, ClassVar

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.exitcodes import ExitCode
from vnetmigrate.usecases.outcome import TxnOutcome, quiet
from vnetmigrate.usecases.plan import TXN_BLOCKER, PlannedStep, transaction_blockers

REFUSED_TXN = "a transaction in the state dir needs attention; nothing was changed"
NOT_CONFIRMED = "not confirmed; nothing was changed"
NO_REMEDY = "no automatic repair: see the scan's workarounds"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Options:
    """repair's command line."""
    netns: str | None
    root: Path
    state_dir: Path
    restart_command: str | None = None
    no_restart: bool = False
    only: tuple[str, ...] = ()      # repair only these finding ids (and allow the named-only ones)
    skip: tuple[str, ...] = ()      # never these


@dataclass(frozen=True)
class Verdict:
    """What scan says of the host: its verdict line, exit code and findings (id, severity, title)."""

    verdict: str
    exit_code: int
    findings: tuple[tuple[str, str, str], ...]

    @classmethod
    def of(cls, scan) -> Verdict:
        return cls(scan.verdict, int(scan.exit_code), tuple((f.id, f.severity.value, f.title) for f in scan.findings))

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "exit_code": self.exit_code,
                "findings": [{"id": i, "severity": s, "title": t} for i, s, t in self.findings]}


@dataclass(frozen=True)
class PlannedRemedy:
    """A remedy as the plan shows it."""
    finding: str
    summary: str
    why: str
    covers: tuple[str, ...]
    steps: tuple[int, ...]          # the 1-based indexes of its steps in the plan

    def to_dict(self) -> dict[str, Any]:
        return {"finding": self.finding, "summary": self.summary, "why": self.why, "covers": list(self.covers),
                "steps": list(self.steps)}


@dataclass(frozen=True)
class Left:
    """A finding the repair leaves, and why."""

    finding: str
    severity: str
    title: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"finding": self.finding, "severity": self.severity, "title": self.title, "reason": self.reason}


@dataclass(frozen=True)
class RepairResult:
    """What repair planned or did, and what it left."""
    command: ClassVar[str] = "repair"
    before: Verdict | None
    remedies: tuple[PlannedRemedy, ...] = ()
    left: tuple[Left, ...] = ()
    steps: tuple[PlannedStep, ...] = ()
    restart: tuple[str, ...] | None = None
    fingerprint: str | None = None
    exit_code: ExitCode = ExitCode.OK
    dry_run: bool = False
    recovered: tuple[TxnOutcome, ...] = ()
    refused: str | None = None
    transaction: TxnOutcome | None = None
    after: Verdict | None = None
    notes: tuple[str, ...] = field(default=())
    host: tuple[str | None, str | None, str | None] = (None, None, None)  # hostname, os, libvirt version

    @property
    def nothing_to_do(self) -> bool:
        return not self.steps

    @property
    def status(self) -> str:
        if self.refused:
            return "refused"
        return {ExitCode.OK: "ok", ExitCode.WARNINGS: "findings-remain", ExitCode.BLOCKERS: "findings-remain",
                ExitCode.ROLLED_BACK: "rolled-back", ExitCode.ERROR: "refused"}.get(self.exit_code, "needs-attention")

    def to_data(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "before": self.before.to_dict() if self.before else None,
                "remedies": [r.to_dict() for r in self.remedies], "left": [x.to_dict() for x in self.left],
                "steps": [{"index": s.index, "kind": s.kind, "title": s.title} for s in self.steps],
                "restart": list(self.restart) if self.restart is not None else None,
                "fingerprint": self.fingerprint, "recovered": [o.to_dict() for o in self.recovered],
                "refused": self.refused, "transaction": self.transaction.to_dict() if self.transaction else None,
                "after": self.after.to_dict() if self.after else None, "notes": list(self.notes)}


def repairable_ids() -> frozenset[str]:
    """The findings repair can act on: each remedy's, and the interrupted transaction it rolls back first."""
    from vnetmigrate.repair import remedies

    return frozenset(remedies.load_all()) | {TXN_BLOCKER}


def check_options(opts: Options) -> None:
    """Bad input, before anything is read: one readable error."""
    from vnetmigrate.errors import InputError

    if not opts.root.is_dir():
        raise InputError(f"--root {opts.root}: not a directory")
    if opts.restart_command and opts.no_restart:
        raise InputError("--restart-command and --no-restart exclude each other")
    for flag, ids in (("--only", opts.only), ("--skip", opts.skip)):
        for fid in ids:
            if not _ID.match(fid):
                raise InputError(f"{flag} {fid!r}: not a finding id (ids are like libvirt-leftover-chains)",
                                 hint="`vnetmigrate scan` lists the findings with their ids")
    if both := sorted(set(opts.only) & set(opts.skip)):
        raise InputError(f"--only and --skip both name {', '.join(both)}")
    known = repairable_ids()
    for flag, ids in (("--only", opts.only), ("--skip", opts.skip)):
        # a typo would otherwise repair nothing (--only) or everything (--skip) without a word
        if unknown := sorted(set(ids) - known):
            raise InputError(f"{flag} {', '.join(unknown)}: repair has no remedy for "
                             f"{'it' if len(unknown) == 1 else 'them'}",
                             hint="it repairs: " + ", ".join(sorted(known)))


def repair(opts: Options, dry_run: bool = False, confirm: Callable[[RepairResult], bool] | None = None,
           say: Callable[[str], None] = quiet) -> RepairResult:
    """Recover, scan, plan the remedies, ask `confirm` (None: confirmed), apply, scan again.
    `dry_run`: plan only, change nothing (no recovery either)."""
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import engine, recovery
    from vnetmigrate.txn.hostlock import HostLock
    from vnetmigrate.txn.statedir import StateDir

    check_options(opts)
    if dry_run:
        planned, _plan = _prepare(opts)
        return _replace(planned, dry_run=True, exit_code=ExitCode(planned.before.exit_code))
    with HostLock(opts.netns), StateDir(opts.state_dir) as state:
        for note in recovery.tidy(state, opts.root):
            say(note)
        recovered = tuple(TxnOutcome.of(o) for o in recovery.recover(
            state, "interrupted transaction found by repair", where=recovery.Where(opts.netns, opts.root)))
        planned, plan = _prepare(opts)
        planned = _replace(planned, recovered=recovered)
        if any(not o.rolled_back for o in recovered):
            return _replace(planned, exit_code=ExitCode.NEEDS_ATTENTION)
        if planned.refused:
            return planned
        if planned.nothing_to_do:
            return _replace(planned, exit_code=ExitCode(planned.before.exit_code), after=planned.before)
        if confirm is not None and not confirm(planned):
            return _replace(planned, refused=NOT_CONFIRMED, exit_code=ExitCode.ERROR)
        with entered(opts.netns):
            outcome = engine.run(plan, state, opts.root, netns=opts.netns, command="repair")
    done = _replace(planned, transaction=TxnOutcome.of(outcome))
    if outcome.status != "committed":
        return _replace(done, exit_code=outcome.exit_code)
    after = Verdict.of(_scan(opts))
    return _replace(done, after=after, exit_code=ExitCode(after.exit_code))


def _replace(result: RepairResult, **changes: Any) -> RepairResult:
    from dataclasses import replace

    return replace(result, **changes)


def _scan(opts: Options):
    from vnetmigrate.collect import collect_live
    from vnetmigrate.scan import analyse

    return analyse(collect_live(root=str(opts.root), netns=opts.netns, state_dir=str(opts.state_dir)))


def _prepare(opts: Options):
    """Scan, and the plan of the remedies: (the result so far, the engine's plan)."""
    from dataclasses import replace

    from vnetmigrate.errors import InputError
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import daemon, snapshot

    scan = _scan(opts)
    notes = []
    try:
        argv, why = daemon.restart_argv(opts.restart_command, opts.no_restart, opts.netns)
    except InputError as exc:
        if opts.restart_command:
            raise
        argv, why = None, exc.message
        notes.append(f"libvirt's network daemon will not be restarted: {exc.message}")
    result, plan = planned(scan, opts, argv, why, tuple(notes))
    if plan is not None and plan.steps:
        with entered(opts.netns):
            fingerprint = snapshot.probe(plan.touched)
        plan = replace(plan, fingerprint=fingerprint)
        result = replace(result, fingerprint=fingerprint)
    return result, plan


def planned(scan, opts: Options, argv: list[str] | None, restart_why: str, notes: tuple[str, ...] = ()):
    """What repair would do on the host `scan` read (pure: nothing is read or changed):
    (the result so far, the engine's plan, None when a transaction needs attention)."""
    from vnetmigrate.txn import steps

    before = Verdict.of(scan)
    system, lv = scan.facts.system, scan.facts.libvirt
    host = (scan.meta.get("hostname"), system.os.pretty_name if system is not None else None,
            lv.version_text if lv is not None else None)
    blockers = transaction_blockers(scan)
    if blockers:
        return RepairResult(before, left=tuple(Left(TXN_BLOCKER, "blocker", b.title, REFUSED_TXN) for b in blockers),
                            refused=REFUSED_TXN, exit_code=ExitCode.BLOCKERS, host=host), None
    remedies, left, plan_steps = plan_remedies(scan, opts, argv, restart_why)
    plan = steps.Plan("repair: " + ", ".join(r.finding for r in remedies) if remedies else "repair", plan_steps,
                      meta={"repair": [r.finding for r in remedies], "netns": opts.netns, "root": str(opts.root),
                            "reference_files": list(scan.facts.networks.status_paths)
                            if scan.facts.networks is not None else []})
    result = RepairResult(before, tuple(remedies), tuple(left),
                          tuple(PlannedStep(i + 1, s.kind, s.title) for i, s in enumerate(plan_steps)),
                          tuple(argv) if argv is not None else None, notes=notes, host=host)
    return result, plan


def plan_remedies(scan, opts: Options, argv: list[str] | None, restart_why: str):
    """Each finding's remedy (in the registry's order), or why it is left: (remedies, left, steps)."""
    from vnetmigrate.repair import remedies as registry

    builders = registry.load_all()
    ctx = registry.RepairContext(opts.root, opts.netns, tuple(argv) if argv is not None else None, restart_why,
                                 frozenset(opts.only), frozenset(f.id for f in scan.findings),
                                 frozenset(f.id for f in scan.findings if f.severity.value == "blocker"))
    first: dict[str, Any] = {}
    for f in scan.findings:
        first.setdefault(f.id, f)
    order = [i for i in registry.ORDER if i in first] + [i for i in first if i not in registry.ORDER]
    covered: dict[str, str] = {}
    planned: list[PlannedRemedy] = []
    left: list[Left] = []
    all_steps: list = []
    for fid in order:
        finding = first[fid]
        if finding.severity.value == "info":
            continue  # information, nothing to repair

        def leave(reason: str) -> None:
            left.append(Left(fid, finding.severity.value, finding.title, reason))
        if fid in covered:
            continue  # listed under the remedy that covers it
        if fid == TXN_BLOCKER:
            leave("repair rolls an interrupted transaction back first, before it plans (as migrate does)")
            continue
        if fid in opts.skip:
            leave("skipped (--skip)")
            continue
        if opts.only and fid not in opts.only:
            leave("not named by --only")
            continue
        builder = builders.get(fid)
        if builder is None:
            leave(NO_REMEDY)
            continue
        if fid in registry.NAMED_ONLY and fid not in opts.only:
            leave(f"repaired only on request: `vnetmigrate repair --only {fid}` (the plan then says which way)")
            continue
        out = builder(scan.facts, finding, ctx)
        if isinstance(out, registry.NotRepairable):
            leave(out.reason)
            continue
        covers = tuple(c for c in out.covers if c in first and c not in covered and c != fid
                       and c not in {r.finding for r in planned})
        start = len(all_steps)
        all_steps += out.steps
        planned.append(PlannedRemedy(fid, out.summary, out.why, covers, tuple(range(start + 1, len(all_steps) + 1))))
        for c in covers:
            covered[c] = fid
    return planned, left, tuple(all_steps)
