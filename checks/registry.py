"""The check registry: each check declares its id, title, severity and the facts it needs.

The engine runs every registered check against HostFacts. A check whose facts are missing
is skipped and says which; a check that raises is reported as an error of that check; the
others still run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vnetmigrate.facts import HostFacts
from vnetmigrate.findings import Finding, Severity

CheckFn = Callable[[HostFacts], Iterable[Finding]]


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    severity: Severity  # the most severe it can report
    needs: tuple[str, ...]
    fn: CheckFn
    module: str


@dataclass(frozen=True)
class CheckResults:
    """What running a set of checks gave: their findings, the checks skipped and those that failed."""

    findings: tuple[Finding, ...]
    skipped: tuple[dict[str, str], ...]
    errors: tuple[dict[str, str], ...]


REGISTRY: dict[str, Check] = {}


def check(id: str, title: str, severity: Severity, needs: tuple[str, ...]) -> Callable[[CheckFn], CheckFn]:
    def register(fn: CheckFn) -> CheckFn:
        if id in REGISTRY:
            raise RuntimeError(f"duplicate check id {id!r}")
        REGISTRY[id] = Check(id, title, severity, needs, fn, fn.__module__)
        return fn
    return register


def run(facts: HostFacts, checks: Iterable[Check]) -> CheckResults:
    findings: list[Finding] = []
    skipped, errors = [], []
    for c in checks:
        missing = facts.missing(c.needs)
        if missing:
            skipped.append({"check": c.id, "reason": "facts missing: " + ", ".join(missing)})
            continue
        try:
            produced = list(c.fn(facts))
        except Exception as exc:
            errors.append({"unit": f"check.{c.id}", "message": f"{type(exc).__name__}: {exc}"})
            continue
        for f in produced:
            if f.severity.rank > c.severity.rank:
                errors.append({"unit": f"check.{c.id}",
                               "message": f"reported {f.severity.value} above its declared {c.severity.value}"})
            findings.append(f)
    findings.sort(key=lambda f: (-f.severity.rank, f.id))
    return CheckResults(tuple(findings), tuple(skipped), tuple(errors))
