"""Run a plan as a transaction: snapshot, journal, steps, verification, rollback, recovery.

Recovery rule (documented in vnetmigrate(8)): an interrupted transaction — a journal without
commit, rolled-back or rollback-failed, or one whose rollback (also of a committed
transaction) started after its last outcome and never finished — is always rolled back to the fully-old state, by the
next `rollback` or `migrate` (which then starts afresh). Rolling back needs only the journal
and the snapshot, and every undo is state-based, so it is right wherever the crash came;
rolling forward would need the plan's assumptions to still hold, which nobody can check
after an unknown time.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import field
from pathlib import Path
from typing import Any, Callable

from vnetmigrate import bounded
from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import VnmError
from vnetmigrate.exitcodes import ExitCode
from vnetmigrate.txn import boundaries, execute, journal, kernel, snapshot
from vnetmigrate.txn.fsutil import atomic_write
from vnetmigrate.txn.journal import Journal
from vnetmigrate.txn.snapshot import Touched
from vnetmigrate.txn.statedir import StateDir, StateDirError
from vnetmigrate.txn.steps import Plan, Step

SNAPSHOT = "snapshot.json"


class Conflict(VnmError):
    """Someone else changed what the plan touches: the step was not run."""


@dataclass(frozen=True)
class Restart:
    """How a rollback restarts libvirt's network daemon when the transaction restarted it:
    as journaled (default), with another command (`argv`), or not at all (`skip`)."""

    argv: list[str] | None = None
    skip: bool = False

    def choose(self, journaled: list[str] | None) -> list[str] | None:
        if journaled is None or self.skip:
            return None
        return self.argv or journaled

    def describe(self) -> str:
        return "not restarted (--no-restart)" if self.skip else \
            f"restarted with `{' '.join(self.argv)}`" if self.argv else "restarted as journaled"


AS_JOURNALED = Restart()


@dataclass
class TxnResult:
    """How running or rolling back one transaction ended."""

    txn_id: str
    status: str                     # committed, rolled-back, needs-attention
    error: str | None = None
    failed_step: int | None = None
    rollback_errors: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        return {"committed": ExitCode.OK, "rolled-back": ExitCode.ROLLED_BACK}.get(
            self.status, ExitCode.NEEDS_ATTENTION)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.txn_id, "status": self.status, "error": self.error, "failed_step": self.failed_step,
                "rollback_errors": self.rollback_errors, "differences": self.differences, "notes": self.notes}


def run(plan: Plan, state: StateDir, root: Path, *, netns: str | None = None, command: str = "migrate",
        before_step: Callable[[int], None] | None = None) -> TxnResult:
    """Apply `plan` (the caller holds the state dir's lock and has entered the namespace)."""
    touched = plan.touched
    txn_dir = state.new_txn_dir()
    try:
        snap = snapshot.capture(touched, root)
        # Files the transaction reads but never writes (libvirt's status files): kept for
        # whoever repairs the host by hand, not restored.
        snap["reference"] = snapshot.read_files(root, plan.meta.get("reference_files", ()))
        atomic_write(txn_dir / SNAPSHOT, json.dumps(snap, sort_keys=True), mode=0o600)  # rulesets, configuration
        jr = Journal.create(txn_dir)
        boundaries.reached("created")
        jr.append("begin", command=command, title=plan.title, steps=len(plan.steps), netns=netns,
                  root=os.path.abspath(root),
                  pid=os.getpid(), fingerprint=plan.fingerprint, meta=plan.meta, touched=touched.to_dict())
    except BaseException as exc:
        # Nothing has changed yet: leave no trace that could look like an interrupted transaction.
        import shutil  # only here: shutil loads the compression modules

        shutil.rmtree(txn_dir, ignore_errors=True)
        if isinstance(exc, OSError):
            raise StateDirError(f"cannot record a transaction in {txn_dir.parent}: {exc.strerror or exc}",
                                hint="nothing was changed")
        raise
    try:
        jr.append("snapshot", file=SNAPSHOT, fingerprint=snapshot.fingerprint(snap))
        baseline = plan.fingerprint or snapshot.probe(touched)
        boundaries.reached("planned", len(plan.steps))
        intents: list[dict[str, Any]] = []
        for i, step in enumerate(plan.steps):
            try:
                if before_step is not None:
                    before_step(i)
                intents.append(jr.append("intent", step=i, do=step.to_dict(), undo=step.undo_record()))
                boundaries.reached("before", i)
                # The fingerprint is compared last, right before the step acts (after its intent
                # is on disk): what someone changes any earlier is seen, and the window left
                # is this process's own, without a write or fsync in it.
                if step.changes_kernel and snapshot.probe(touched) != baseline:
                    # It never ran: its undo would restore its objects to the snapshot and take
                    # the other program's change with it.
                    intents.pop()
                    raise Conflict(f"the firewall changed since the plan was made: step {i + 1} "
                                   f"({step.title}) was not run")
                if step.changes_kernel:
                    boundaries.reached("checked", i)
                started = time.monotonic()
                result = step.apply(root)
                result["seconds"] = round(time.monotonic() - started, 4)
                boundaries.reached("after", i)
                if step.changes_kernel:
                    baseline = snapshot.probe(touched)
                jr.append("done", step=i, result=result)
            except (Exception, KeyboardInterrupt) as exc:
                message = _message(exc)
                extra: dict[str, Any] = {}
                if isinstance(exc, (Conflict, kernel.NothingChanged)):
                    # `ran: false`: the step was refused before it acted, or the kernel refused
                    # all of it; no undo of it, ever (it would take what someone else added).
                    extra = {"ran": False}
                    if intents and intents[-1]["step"] == i:
                        intents.pop()
                elif isinstance(exc, kernel.PartlyChanged) and intents and intents[-1]["step"] == i:
                    # Only what its transactions that happened touched is restored and compared.
                    extra = {"changed": exc.changed.to_dict()}
                    intents[-1] = _narrowed(intents[-1], extra["changed"])
                _note(jr, [], "failed", step=i, error=message, **extra)
                out = rollback(jr, snap, intents, root, reason=f"step {i + 1} failed: {message}")
                out.txn_id, out.error, out.failed_step = txn_dir.name, message, i
                return out
        boundaries.reached("commit")
        try:
            jr.append("commit", fingerprint=snapshot.probe(touched))
        except VnmError as exc:  # not recorded as committed: undo, so journal and host agree
            out = rollback(jr, snap, intents, root, reason=f"the commit could not be recorded: {exc.message}")
            out.txn_id, out.error = txn_dir.name, exc.message
            return out
        return TxnResult(txn_dir.name, "committed")
    finally:
        jr.close()


def rollback(jr: Journal, snap: dict[str, Any], intents: list[dict[str, Any]], root: Path,
             reason: str, how: Restart = AS_JOURNALED, unsure: Touched = Touched()) -> TxnResult:
    """Undo every started step in reverse, then verify the touched objects equal the snapshot.

    `how`: whether and how to restart libvirt's daemon again if a step restarted it.
    `unsure`: objects of steps the journal does not show starting, though it cannot show that
    they never ran (its forward run ends without an outcome: killed, or the journal lost its
    tail). They are compared with the snapshot too, never restored: equal, nothing of them
    happened; different, someone must look (another program changed them, or they ran).
    """
    errors: list[str] = []
    journaled = next((i["undo"]["restart_after_restore"] for i in intents
                      if i["undo"].get("restart_after_restore")), None)
    restart = how.choose(journaled)
    _note(jr, errors, "rollback", reason=reason,
          **({"restart": restart, "restart_how": how.describe()} if journaled is not None else {}))
    settle: dict[str, Any] | None = None
    for intent in reversed(intents):
        _note(jr, errors, "undoing", step=intent["step"])
        boundaries.reached("undo", intent["step"])
        try:
            Step.from_dict(intent["do"]).undo(snap, root)
        except Exception as exc:
            errors.append(f"step {intent['step'] + 1}: {_message(exc)}")
            _note(jr, errors, "undo-failed", step=intent["step"], error=_message(exc))
        else:
            boundaries.reached("undone", intent["step"])
            _note(jr, errors, "undone", step=intent["step"])
        settle = settle or intent["undo"].get("settle")
    # Only what the started steps touched is restored: a step that never ran changed nothing,
    # and someone else's change to its objects is not ours to undo. Compared: that, and what
    # the journal cannot vouch for (`unsure`).
    touched = Touched()
    for intent in intents:
        touched = touched.union(Touched.from_dict(intent["undo"]["restore"]))
    compared = touched.union(unsure)
    if restart is not None:
        # The daemon was restarted under the new configuration: restart it under the old one,
        # then restore again what it re-created on top of the restored state.
        try:
            execute.restart_again(restart, settle, snap, touched, root)
        except Exception as exc:
            errors.append(f"restart after rollback: {_message(exc)}")
    try:
        # After libvirt's daemon re-created its rules, only the order of its networks' blocks
        # may differ from the snapshot (it changes from one daemon start to the next).
        diffs = snapshot.differences(snap, snapshot.capture(compared, root), any_order=bool(restart and settle))
    except Exception as exc:
        diffs = [f"the state could not be read back: {_message(exc)}"]
    ours = {f"nft {f} {t}" for f, t in touched.nft_tables} | {f"ipt {k}" for k in touched.ipt_tables()} | \
        {f"files {p}" for p in touched.files}
    strangers = [d for d in diffs if d not in ours and d.split(" ", 1)[0] in ("nft", "ipt", "files")
                 and unsure != Touched()]
    if strangers:
        errors.append(f"{', '.join(strangers)}: no started step touches it (the journal says), yet it differs from "
                      "the snapshot: another program changed it, or the journal lost records; check by hand, then "
                      "run `vnetmigrate rollback` again")
    notes = []
    if journaled is not None and restart is None:
        notes.append("libvirt's network daemon was not restarted (--no-restart): its status files still name the "
                     "rules it made under the migration's backend; restart it, then run `vnetmigrate migrate "
                     "--to BACKEND` (the backend network.conf names) to remove the copies it re-creates on top")
    if errors or diffs:
        _note(jr, errors, "rollback-failed", errors=errors, differences=diffs)
        return TxnResult("", "needs-attention", rollback_errors=errors, differences=diffs, notes=notes)
    boundaries.reached("rolled-back")
    _note(jr, errors, "rolled-back", verified=True)
    if errors:  # only the journal failed: the host is back, but the record says otherwise
        return TxnResult("", "needs-attention", rollback_errors=errors, notes=notes)
    return TxnResult("", "rolled-back", notes=notes)


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return exc.message if isinstance(exc, VnmError) else f"{type(exc).__name__}: {exc}"


def _note(jr: Journal, sink: list[str], rec: str, **fields: Any) -> None:
    """Append to the journal; a journal that cannot be written must not stop a rollback."""
    try:
        jr.append(rec, **fields)
    except VnmError as exc:
        sink.append(exc.message)


def load_snapshot(txn_dir: Path) -> dict[str, Any]:
    path = txn_dir / SNAPSHOT
    try:
        return bounded.read_json(path, nofollow=True)
    except (OSError, bounded.Unreadable) as exc:
        why = exc.message if isinstance(exc, bounded.Unreadable) else f"{path}: {exc.strerror or exc}"
        raise journal.JournalCorrupt(f"the snapshot of transaction {txn_dir.name} is unreadable: {why}",
                                     hint="nothing was changed; restore the host by hand from the journal")


def roll_back(summary: journal.Summary, root: Path, reason: str, how: Restart = AS_JOURNALED) -> TxnResult:
    """Roll back a recorded transaction (interrupted, or committed and not yet rolled back)."""
    if summary.sealed:  # its steps' data was left out: undoing reads it
        summary = journal.read(summary.path, full=True)
    never_ran = {r["step"] for r in summary.records if r["rec"] == "failed" and r.get("ran") is False}
    partly = {r["step"]: r["changed"] for r in summary.records
              if r["rec"] == "failed" and isinstance(r.get("changed"), dict)}
    intents = [_narrowed(r, partly[r["step"]]) if r["step"] in partly else r
               for r in summary.records if r["rec"] == "intent" and r["step"] not in never_ran]
    unsure = _unsure(summary)
    snap = load_snapshot(summary.path) if intents or unsure != Touched() else None
    jr = Journal.append_to(summary.path)
    try:
        if snap is None:  # the run stopped before any step (the journal says so): nothing to compare
            jr.append("rollback", reason=reason)
            jr.append("rolled-back", verified=True, note="no step had started")
            return TxnResult(summary.id, "rolled-back")
        if isinstance(summary.begin.get("steps"), int):
            boundaries.reached("planned", summary.begin["steps"])
        out = rollback(jr, snap, intents, root, reason, how, unsure)
        out.txn_id = summary.id
        return out
    finally:
        jr.close()


def _narrowed(intent: dict[str, Any], changed: dict[str, Any]) -> dict[str, Any]:
    """A step's intent whose undo restores only `changed` (a step the kernel partly refused)."""
    return {**intent, "do": {**intent["do"], "touches": changed}, "undo": {**intent["undo"], "restore": changed}}


FORWARD = {"begin", "snapshot", "intent", "done"}


def _unsure(summary: journal.Summary) -> Touched:
    """What the transaction touches, when its journal ends in the middle of its forward run:
    a step after the last recorded one either never ran (the run was killed) or ran and its
    records were lost (a journal truncated on disk); only the live state can tell. Nothing
    when the journal records how the forward run ended (a failure, a commit, a rollback)."""
    if any(r["rec"] not in FORWARD for r in summary.records):
        return Touched()
    touched = summary.begin.get("touched")
    return Touched.from_dict(touched) if isinstance(touched, dict) else Touched()


def incomplete(state: StateDir) -> list[journal.Summary]:
    return [s for s in (journal.read(d) for d in state.txn_dirs()) if s.incomplete]
