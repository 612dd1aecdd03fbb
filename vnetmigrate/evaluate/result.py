"""What an evaluation says: a verdict with the rule or policy that decided it, the path of
base chains the packet crossed, and, when the verdict cannot be known, why."""

from __future__ import annotations

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.evaluate.core import Hit
from vnetmigrate.evaluate.packet import Packet


@dataclass(frozen=True)
class Pass:
    """One base chain's evaluation of the packet, and how it ended."""

    base: str  # "ip filter FORWARD"
    hook: str
    prio: int
    end: Hit
    verdict: str
    steps: tuple[Hit, ...] = ()  # the rules that matched on the way (jumps included)
    kind: str = "nft"  # the base chain's owner: nft, iptables-nft or iptables-legacy

    def __str__(self) -> str:
        return f"{self.hook} {self.prio:+d} {self.base}: {self.verdict} ({self.end})"


@dataclass(frozen=True)
class Walk:
    """One walk of the packet through every hook (a packet has more than one when something could
    not be decided)."""

    verdict: str  # accept, drop, reject, unknown
    passes: tuple[Pass, ...]
    assumed: tuple[str, ...]
    reason: str | None = None

    @property
    def decided_by(self) -> Pass | None:
        return self.passes[-1] if self.passes else None


@dataclass(frozen=True)
class Result:
    """A probe's verdict through every hook on its path, and the pass that decided it."""
    packet: Packet
    verdict: str  # accept, drop, reject or unknown
    decided_by: Pass | None  # the base chain pass that decided (for accept: the last one)
    path: tuple[Pass, ...]
    reasons: tuple[str, ...] = ()  # unknown: what it depends on
    blocked: bool | None = None  # drop or reject in every way (True), in none (False), or depends
    blockers: tuple[Pass, ...] = ()  # every base chain that, on its own, drops or rejects the packet
    notes: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return self.verdict != "unknown"

    def explain(self) -> str:
        if self.verdict == "unknown":
            return "unknown: " + "; ".join(self.reasons or ("not decidable",))
        if self.verdict == "accept":
            return f"accept (every base chain on its path accepts: {len(self.path)})"
        where = f" by {self.decided_by.end}" if self.decided_by else ""
        return f"{self.verdict}{where}"


def _split(assumption: str) -> tuple[str, str]:
    cond, _, value = assumption.partition(": assumed ")
    return cond, value


def reduce(packet: Packet, outcomes: list[Walk], blockers: tuple[Pass, ...], notes=()) -> Result:
    verdicts = {o.verdict for o in outcomes}
    blocked = True if verdicts <= {"drop", "reject"} else (False if verdicts == {"accept"} else None)
    first = outcomes[0]
    if len(verdicts) == 1 and "unknown" not in verdicts:
        ends = {(o.decided_by.base, o.decided_by.end) if o.decided_by else None for o in outcomes}
        notes = tuple(notes)
        if len(ends) > 1:
            notes += ("the deciding rule depends on: " + "; ".join(_relevant(outcomes, key="end")),)
        return Result(packet, first.verdict, first.decided_by if len(ends) == 1 else None, first.passes,
                      blocked=blocked, blockers=blockers, notes=notes)
    reasons = sorted({o.reason for o in outcomes if o.reason} | set(_relevant(outcomes)))
    return Result(packet, "unknown", None, first.passes, tuple(reasons), blocked, blockers, tuple(notes))


def _relevant(outcomes: list[Walk], key: str = "verdict") -> list[str]:
    """The undecided conditions whose answer changes the verdict (or the deciding rule)."""
    by_cond: dict[str, dict[str, set]] = {}
    for o in outcomes:
        got = o.verdict if key == "verdict" else (o.decided_by.base, o.decided_by.end) if o.decided_by else None
        for a in o.assumed:
            cond, value = _split(a)
            by_cond.setdefault(cond, {}).setdefault(value, set()).add(got)
    out = []
    for cond, per_value in by_cond.items():
        sets = list(per_value.values())
        if len(sets) == 1 or any(s != sets[0] for s in sets[1:]):
            out.append(cond)
    return sorted(out)
