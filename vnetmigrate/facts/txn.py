"""Facts about vnetmigrate's own transactions on this host (from their journals' summaries)."""

from __future__ import annotations

import json

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError
from vnetmigrate.evidence import Evidence
from vnetmigrate.specs import TXN_JOURNALS

UNFINISHED = ("incomplete", "needs-attention", "corrupt")


@dataclass(frozen=True)
class Transaction:
    """A transaction of the state dir and its status."""
    id: str
    status: str  # committed, rolled-back, incomplete, needs-attention, corrupt
    title: str | None = None
    steps: int | None = None
    steps_done: int | None = None
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class TxnFacts:
    """The state dir's transactions."""
    state_dir: str
    transactions: tuple[Transaction, ...] = ()

    @property
    def unfinished(self) -> tuple[Transaction, ...]:
        return tuple(t for t in self.transactions if t.status in UNFINISHED)


def build(ev: Evidence) -> TxnFacts | None:
    rec = ev.command(TXN_JOURNALS)
    if rec is None:
        return None  # evidence from before this collector existed: the check is skipped
    if not rec.ok:
        raise InputError(f"the state dir {rec.argv[-1]} could not be read: {rec.stderr.strip()}")
    try:
        rows = json.loads(rec.stdout)
        txns = tuple(Transaction(id=str(r["id"]), status=str(r["status"]), title=r.get("title"),
                                 steps=r.get("steps"), steps_done=r.get("steps_done"),
                                 errors=tuple(str(e) for e in r.get("errors") or ())) for r in rows)
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"transaction summaries are malformed: {exc}")
    return TxnFacts(state_dir=rec.argv[-1], transactions=txns)
