"""The transaction store as it lies on disk, read-only: where it is, which transactions it holds,
what each journal says. Scan's collector reads it (vnetmigrate.collect.txnstate) and so does
the transaction engine (vnetmigrate.txn.statedir, vnetmigrate.txn.journal, which also write it).

    STATE_DIR/txn/<id>/journal.jsonl  the append-only journal of one transaction

Reading takes no lock and writes nothing.
"""

from __future__ import annotations

import calendar
import errno
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vnetmigrate.errors import VnmError

DEFAULT = "/var/lib/vnetmigrate"
TXN = "txn"
JOURNAL = "journal.jsonl"
_ID = re.compile(r"^(\d{8}T\d{6})(?:\.(\d{6}))?Z-")
RECORD_KINDS = {"begin", "snapshot", "intent", "done", "failed", "rollback", "undoing", "undone", "undo-failed",
                "commit", "rolled-back", "rollback-failed"}
TERMINAL = {"commit": "committed", "rolled-back": "rolled-back", "rollback-failed": "needs-attention"}


def default_dir(root: str | os.PathLike[str] = "/") -> Path:
    """The state directory of the host whose files live under `root`."""
    return Path(root) / DEFAULT.lstrip("/")


def id_micros(txn_id: str) -> int | None:
    """The time (microseconds since the epoch) an id names; None for a name that is no id."""
    m = _ID.match(txn_id)
    try:
        seconds = calendar.timegm(time.strptime(m.group(1), "%Y%m%dT%H%M%S")) if m else None
    except ValueError:
        seconds = None
    if m is None or seconds is None:
        return None
    return seconds * 1_000_000 + int(m.group(2) or 0)


class StateDirError(VnmError):
    """The state directory cannot be used: missing permissions, not a directory, full, locked."""


class JournalCorrupt(StateDirError):
    pass


def explain(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on its filesystem"
    if exc.errno == errno.EROFS:
        return "its filesystem is read-only"
    return exc.strerror or str(exc)


def readable(path: Path) -> bool:
    """Whether there is anything to read (history, scan and rollback never create the directory).

    A path that exists but is no directory is an error, not an empty state dir.
    """
    txn_root = path / TXN
    if txn_root.is_dir():
        return True
    for p in (path, txn_root):
        if p.exists() and not p.is_dir():
            raise StateDirError(f"state dir {path} is not a directory" if p == path else
                                f"{p} is not a directory", hint="choose another with --state-dir DIR")
    return False


def txn_dirs(path: Path) -> list[Path]:
    """Transaction directories of the state dir `path`, oldest first."""
    if not readable(path):
        return []
    txn_root = path / TXN
    try:
        names = os.listdir(txn_root)
    except OSError as exc:
        raise StateDirError(f"cannot list {txn_root}: {explain(exc)}")
    dirs = [txn_root / n for n in names if (txn_root / n / JOURNAL).exists()]
    return sorted(dirs, key=_age)


def _age(directory: Path) -> tuple[int, float, str]:
    """Sort key: the id's time; for ids with whole seconds (earlier versions), then the begin
    record's time (milliseconds); then the name."""
    micros = id_micros(directory.name)
    begun = 0.0
    if micros is not None and "." not in directory.name.split("Z-", 1)[0]:
        try:
            with open(directory / JOURNAL, "rb") as fh:
                begun = float(json.loads(fh.readline()).get("time") or 0)
        except (OSError, ValueError, TypeError, AttributeError):
            pass
    return (micros if micros is not None else -1, begun, directory.name)


@dataclass
class Summary:
    """What a journal says about its transaction."""

    id: str
    path: Path
    begin: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The last outcome recorded; "incomplete" when none, or when a rollback started after
        it and never finished (a rollback of a committed transaction killed half-way leaves the
        host between the two states: it is interrupted like a migration, and resumed the same way)."""
        for rec in reversed(self.records):
            if rec["rec"] in TERMINAL:
                return TERMINAL[rec["rec"]]
            if rec["rec"] == "rollback":
                return "incomplete"
        return "incomplete"

    @property
    def incomplete(self) -> bool:
        return self.status == "incomplete"

    @property
    def started_steps(self) -> list[int]:
        return [r["step"] for r in self.records if r["rec"] == "intent"]

    def intent(self, step: int) -> dict[str, Any]:
        return next(r for r in self.records if r["rec"] == "intent" and r["step"] == step)

    def done(self, step: int) -> dict[str, Any] | None:
        return next((r for r in self.records if r["rec"] == "done" and r["step"] == step), None)

    def to_dict(self) -> dict[str, Any]:
        b = self.begin
        errors = [r.get("error") for r in self.records if r["rec"] in ("failed", "undo-failed") and r.get("error")]
        return {"id": self.id, "status": self.status, "command": b.get("command"), "title": b.get("title"),
                "started": b.get("time"), "ended": self.records[-1]["time"] if self.status != "incomplete" else None,
                "steps": b.get("steps"), "steps_started": len(self.started_steps),
                "steps_done": sum(1 for r in self.records if r["rec"] == "done"),
                "pid": b.get("pid"), "netns": b.get("netns"), "root": b.get("root"), "errors": errors}


def read(directory: Path) -> Summary:
    path = directory / JOURNAL
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise JournalCorrupt(f"cannot read the journal {path}: {explain(exc)}")
    lines = data.split(b"\n")
    if lines and lines[-1] != b"":
        lines = lines[:-1]  # torn tail: never acknowledged
    records = []
    for n, raw in enumerate(lines, 1):
        if not raw:
            continue
        try:
            rec = json.loads(raw)
            if not isinstance(rec, dict) or rec.get("rec") not in RECORD_KINDS:
                raise ValueError("not a journal record")
            if rec["rec"] in ("intent", "done", "failed", "undoing", "undone", "undo-failed") and not isinstance(rec.get("step"), int):
                raise ValueError("record without a step number")
        except (ValueError, UnicodeDecodeError) as exc:
            raise JournalCorrupt(f"journal {path} is corrupt at line {n}: {exc}",
                                 hint="nothing was changed; move that transaction directory aside after "
                                      "checking the host by hand")
        records.append(rec)
    if not records or records[0]["rec"] != "begin":
        raise JournalCorrupt(f"journal {path} is corrupt: it does not start with a begin record",
                             hint="nothing was changed; move that transaction directory aside after checking "
                                  "the host by hand")
    return Summary(id=directory.name, path=directory, begin=records[0], records=records)
