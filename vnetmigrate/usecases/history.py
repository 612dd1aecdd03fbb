"""`history`: the transactions in the state dir and how each ended."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.exitcodes import ExitCode

NEEDS_ATTENTION = ("incomplete", "needs-attention", "corrupt")


@dataclass(frozen=True)
class TxnRecord:
    """One transaction as its journal tells it; a corrupt journal has only id, status and errors."""

    id: str
    status: str                     # committed, rolled-back, incomplete, needs-attention or corrupt
    command: str | None = None
    title: str | None = None
    started: float | None = None        # Unix time of the begin record
    ended: float | None = None          # of the last record; None while incomplete
    steps: int | None = None
    steps_started: int = 0
    steps_done: int = 0
    pid: int | None = None
    netns: str | None = None
    root: str | None = None
    errors: tuple[str, ...] = ()

    @classmethod
    def of(cls, summary) -> TxnRecord:
        """From a journal's summary (vnetmigrate.txn.journal.Summary)."""
        d = summary.to_dict()
        return cls(**{**d, "errors": tuple(d["errors"])})

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "command": self.command, "title": self.title,
                "started": self.started, "ended": self.ended, "steps": self.steps,
                "steps_started": self.steps_started, "steps_done": self.steps_done, "pid": self.pid,
                "netns": self.netns, "root": self.root, "errors": list(self.errors)}


@dataclass(frozen=True)
class HistoryResult:
    """The state dir's transactions, newest first."""
    command: ClassVar[str] = "history"
    state_dir: Path
    transactions: tuple[TxnRecord, ...]   # newest first

    @property
    def attention(self) -> bool:
        return any(t.status in NEEDS_ATTENTION for t in self.transactions)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.NEEDS_ATTENTION if self.attention else ExitCode.OK

    @property
    def status(self) -> str:
        return "needs-attention" if self.attention else "ok"

    def to_data(self) -> dict[str, Any]:
        return {"state_dir": str(self.state_dir), "transactions": [t.to_dict() for t in self.transactions]}


def records(state_dir: Path) -> list[TxnRecord]:
    """Every transaction, oldest first; a corrupt journal is listed as such, not fatal.

    A missing state dir has none; a path that is no directory is an error (StateDirError).
    """
    from vnetmigrate.txn import journal
    from vnetmigrate.txn.statedir import StateDir

    out = []
    for d in StateDir(state_dir).txn_dirs():
        try:
            out.append(TxnRecord.of(journal.read(d)))
        except journal.JournalCorrupt as exc:
            out.append(TxnRecord(d.name, "corrupt", errors=(exc.message,)))
    return out


def history(state_dir: Path) -> HistoryResult:
    return HistoryResult(state_dir, tuple(reversed(records(state_dir))))
