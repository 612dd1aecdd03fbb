"""How one transaction ended: what migrate, rollback (and migrate's recovery) report."""

from __future__ import annotations

from typing import Any

from vnetmigrate.dataclass_code import dataclass

COMMITTED, ROLLED_BACK, NEEDS_ATTENTION = "committed", "rolled-back", "needs-attention"


@dataclass(frozen=True)
class TxnOutcome:
    """A transaction's outcome as the commands report it."""
    id: str
    status: str                         # committed, rolled-back or needs-attention
    error: str | None = None            # why the transaction failed
    failed_step: int | None = None      # 0-based; None when the commit itself failed
    rollback_errors: tuple[str, ...] = ()
    differences: tuple[str, ...] = ()   # what differs from the snapshot after a rollback
    notes: tuple[str, ...] = ()

    @classmethod
    def of(cls, outcome) -> TxnOutcome:
        """From the engine's result (vnetmigrate.txn.engine.TxnResult)."""
        return cls(outcome.txn_id, outcome.status, outcome.error, outcome.failed_step,
                   tuple(outcome.rollback_errors), tuple(outcome.differences), tuple(outcome.notes))

    @property
    def rolled_back(self) -> bool:
        return self.status == ROLLED_BACK

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "status": self.status, "error": self.error, "failed_step": self.failed_step,
                "rollback_errors": list(self.rollback_errors), "differences": list(self.differences),
                "notes": list(self.notes)}



def quiet(note: str) -> None:
    """The default listener of what recovery tidied: nobody."""
