"""The check registry: each check declares its id, title, severity, what it reads, and how it
relates to the commands and to other checks.

What a check reads (its contract; it gets a view of HostFacts with exactly these, see
vnetmigrate.derived.view):
- `needs`: facts it cannot do without. When one is missing the check is skipped and says which.
- `optional`: facts it reads when present (None otherwise).
- `derived`: derived facts (vnetmigrate.derived) it reads; their own inputs must be in `needs`.
- `defers_to`: checks whose findings it reads (`facts.findings_of(id)`), e.g. to name a drop
  another finding already reports. They run first, once; a check never runs another check.

What the commands ask of it:
- `applies_to_backend`: its blockers concern libvirt's use of that backend only, so they are
  moot for `migrate --to` the other backend (plan and migrate leave them out).
- `handled_by_migrate`: plan and migrate leave its blockers out because migrate deals with
  them itself (it adds missing rules; it rolls back or judges unfinished transactions).
- `concerns_tools`: firewall management tools (matrix.firewall_managers' names) that need a
  workaround when this check warns or blocks (the matrix's per-tool result).

The engine runs every registered check. A check that raises is reported as an error of that
check; the others still run.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.derived import Derived, all_derivations
from vnetmigrate.derived.view import FactsView, UndeclaredFact
from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Finding, Severity
from vnetmigrate.firewall import Backend

CheckFn = Callable[[FactsView], Iterable[Finding]]

# Set (to 1) by the test tier: a check reading an undeclared fact then fails the test instead
# of being reported as an error of that check.
STRICT_ENV = "VNETMIGRATE_STRICT_FACTS"


@dataclass(frozen=True)
class Check:
    """A registered check: its id, title, worst severity and the function that runs it."""
    id: str
    title: str
    severity: Severity  # the most severe it can report
    needs: tuple[str, ...]
    fn: CheckFn
    module: str
    optional: tuple[str, ...] = ()
    derived: tuple[str, ...] = ()
    defers_to: tuple[str, ...] = ()
    applies_to_backend: Backend | None = None
    handled_by_migrate: bool = False
    concerns_tools: tuple[str, ...] = ()

    @property
    def reads(self) -> tuple[str, ...]:
        """Every raw fact the check may read."""
        return self.needs + self.optional


@dataclass(frozen=True)
class CheckResults:
    """What running a set of checks gave: their findings, the checks skipped and those that failed."""

    findings: tuple[Finding, ...]
    skipped: tuple[dict[str, str], ...]
    errors: tuple[dict[str, str], ...]
    # The packet evaluator found a guest's packet dropped or rejected by the live ruleset (only
    # known when a check read the packet verdicts): guests are cut off now, not only after a switch.
    broken_now: bool = False


REGISTRY: dict[str, Check] = {}
FACT_NAMES = frozenset(f.name for f in dataclasses.fields(HostFacts)) - {"errors"}


def check(id: str, title: str, severity: Severity, needs: tuple[str, ...], *, optional: tuple[str, ...] = (),
          derived: tuple[str, ...] = (), defers_to: tuple[str, ...] = (), applies_to_backend: Backend | None = None,
          handled_by_migrate: bool = False, concerns_tools: tuple[str, ...] = ()) -> Callable[[CheckFn], CheckFn]:
    def register(fn: CheckFn) -> CheckFn:
        if id in REGISTRY:
            raise RuntimeError(f"duplicate check id {id!r}")
        c = Check(id, title, severity, tuple(needs), fn, fn.__module__, tuple(optional), tuple(derived),
                  tuple(defers_to), applies_to_backend, handled_by_migrate, tuple(concerns_tools))
        _validate(c)
        REGISTRY[id] = c
        return fn
    return register


def _validate(c: Check) -> None:
    """A declaration that cannot be honoured is a programming error, found at import."""
    unknown = [n for n in c.reads if n not in FACT_NAMES]
    if unknown:
        raise RuntimeError(f"check {c.id}: no such facts: {', '.join(unknown)}")
    derivations = all_derivations()
    for name in c.derived:
        d = derivations.get(name)
        if d is None:
            raise RuntimeError(f"check {c.id}: no such derived fact: {name}")
        if not set(d.needs) <= set(c.needs):
            raise RuntimeError(f"check {c.id}: derived fact {name} needs {', '.join(d.needs)}: "
                               "declare them in the check's needs")
    if c.applies_to_backend not in (None, *Backend):
        raise RuntimeError(f"check {c.id}: applies_to_backend must be a Backend")


@dataclass(frozen=True)
class _Ran:
    """One check's result in a run: skipped (why), failed (error) or its findings."""
    findings: tuple[Finding, ...] = ()
    skipped: str | None = None
    error: str | None = None


class _Run:
    """One run over `facts`: derived facts built once, each check run at most once (a check
    that others defer to runs before them, also when it was not asked for)."""

    def __init__(self, facts: HostFacts):
        self.facts = facts
        self.derived = Derived(facts)
        self.ran: dict[str, _Ran] = {}

    def outcome(self, c: Check, chain: tuple[str, ...] = ()) -> _Ran:
        if c.id in self.ran:
            return self.ran[c.id]
        if c.id in chain:
            raise RuntimeError(f"checks defer to each other in a cycle: {' -> '.join(chain + (c.id,))}")
        missing = self.facts.missing(c.needs)
        if missing:
            self.ran[c.id] = _Ran(skipped="facts missing: " + ", ".join(missing))
        else:
            firsts = {d: self.outcome(REGISTRY[d], chain + (c.id,)).findings for d in c.defers_to}
            self.ran[c.id] = self._run(c, firsts)
        return self.ran[c.id]

    def _run(self, c: Check, firsts: dict[str, tuple[Finding, ...]]) -> _Ran:
        view = FactsView(self.facts, c.reads, reader=f"check {c.id}", derived=c.derived, derive=self.derived.get,
                         findings=firsts)
        try:
            return _Ran(findings=tuple(c.fn(view)))
        except Exception as exc:
            if isinstance(exc, UndeclaredFact) and os.environ.get(STRICT_ENV) == "1":
                raise
            return _Ran(error=f"{type(exc).__name__}: {exc}")


def run(facts: HostFacts, checks: Iterable[Check]) -> CheckResults:
    findings: list[Finding] = []
    skipped, errors = [], []
    state = _Run(facts)
    for c in checks:
        ran = state.outcome(c)
        if ran.skipped is not None:
            skipped.append({"check": c.id, "reason": ran.skipped})
            continue
        if ran.error is not None:
            errors.append({"unit": f"check.{c.id}", "message": ran.error})
            continue
        for f in ran.findings:
            if f.severity.rank > c.severity.rank:
                errors.append({"unit": f"check.{c.id}",
                               "message": f"reported {f.severity.value} above its declared {c.severity.value}"})
            findings.append(f)
    findings.sort(key=lambda f: (-f.severity.rank, f.id))
    return CheckResults(tuple(findings), tuple(skipped), tuple(errors), broken_now=state.derived.broken_now())
