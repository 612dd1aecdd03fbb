"""The scan pipeline: Evidence -> HostFacts -> findings + matrix -> ScanResult."""

from __future__ import annotations

import re
import shlex
from dataclasses import replace
from typing import Any

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.evidence import Evidence
from vnetmigrate.exitcodes import ExitCode
from vnetmigrate.facts import HostFacts, build
from vnetmigrate.findings import Finding, Severity
from vnetmigrate.firewall import Backend
from vnetmigrate.matrix import MatrixPlacement, classify
from vnetmigrate.words import plural

VERDICTS = {
    "ok": "ready: guests keep working across the switch",
    "warnings": "ready after these steps",
    "blockers": "do not upgrade yet",
}


@dataclass(frozen=True)
class ScanResult:
    """A scan: its meta, the host's facts and the findings."""
    meta: dict[str, Any]
    facts: HostFacts
    findings: tuple[Finding, ...]
    skipped: tuple[dict[str, str], ...]
    errors: tuple[dict[str, str], ...]
    matrix: MatrixPlacement
    # Parts could not be read, or checks able to report a blocker could not run: the scan
    # cannot say "ready", so it never exits 0 then.
    incomplete: bool = False
    broken_now: bool = False  # the live ruleset already cuts guests off (packet evaluation)

    @property
    def status(self) -> str:
        worst = max((f.severity.rank for f in self.findings), default=0)
        if worst == 0 and self.incomplete:
            worst = 1
        return {2: "blockers", 1: "warnings", 0: "ok"}[worst]

    @property
    def exit_code(self) -> ExitCode:
        return {"ok": ExitCode.OK, "warnings": ExitCode.WARNINGS, "blockers": ExitCode.BLOCKERS}[self.status]

    @property
    def switch_pending(self) -> bool:
        """libvirt's backend will change at its next upgrade or restart (now and after differ)."""
        lv = self.facts.libvirt
        return lv is None or lv.effective.backend != lv.after_upgrade.backend

    @property
    def verdict(self) -> str:
        if self.incomplete and self.status != "blockers":
            return (f"cannot tell yet: {plural(len(self.errors), 'part')} could not be read and "
                    f"{plural(len(self.skipped), 'check')} could not run (see errors and skipped checks)")
        text = self._state_verdict()
        if self.errors:
            text += f" (incomplete: {plural(len(self.errors), 'part')} could not be read; see errors)"
        return text

    def _state_verdict(self) -> str:
        """The host's real state: a switch ahead (upgrade or not), or no switch pending (libvirt is
        already on nftables, or network.conf pins a backend), when blockers mean broken now."""
        if self.switch_pending:
            if self.status == "blockers" and self.broken_now:
                return "guests are broken now; fix the blockers before upgrading"
            return VERDICTS[self.status]
        lv = self.facts.libvirt
        backend = lv.effective.backend
        if lv.configured_backend:  # what it pins, also when that backend cannot work here (a blocker says so)
            state = f"no switch pending: network.conf pins libvirt to {lv.configured_backend}"
        elif backend is None:
            state = "no switch pending: libvirt has no firewall backend it can use"
        else:
            state = f"no switch pending: libvirt already uses {backend}"
        if self.status == "blockers" and (self.broken_now or lv.effective.backend == "nftables"):
            return f"guests are broken now ({state})"
        if self.status == "blockers":
            return f"{state}; blockers below"
        return state + ("; see the warnings" if self.status == "warnings" else "")
    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def to_data(self) -> dict[str, Any]:
        from vnetmigrate.facts.serialize import facts_to_dict

        return {
            "verdict": self.verdict,
            "host": {k: self.meta.get(k) for k in ("hostname", "collected_at", "root", "netns", "source")},
            "matrix": {"now": self.matrix.now.row, "after": self.matrix.after.row,
                       "detail": {"now": self.matrix.now.to_dict(), "after": self.matrix.after.to_dict()}},
            "findings": [f.to_dict() for f in self.findings],
            "summary": {s.value: self.count(s) for s in Severity},
            "skipped_checks": list(self.skipped),
            "facts": facts_to_dict(self.facts),
        }


def for_migration(facts: HostFacts, target: Backend | str) -> HostFacts:
    """The facts as `migrate --to target` will leave them: libvirt's backend after the change is
    the target, whatever network.conf pins now (it is what migrate rewrites), so every check
    that judges the nftables backend "after the switch" judges it after the migration."""
    from vnetmigrate.facts.libvirt import BackendChoice

    target = Backend(target)
    lv = facts.libvirt
    if lv is None:
        return replace(facts, migration_target=target)
    after = BackendChoice(target, f"`vnetmigrate migrate --to {target}` sets firewall_backend = \"{target}\" "
                                  "and moves libvirt's rules there")
    return replace(facts, libvirt=replace(lv, after_upgrade=after), migration_target=target)


def for_upgrade(facts: HostFacts, target: tuple[int, int]) -> HostFacts:
    """The facts with "after the upgrade" meaning an upgrade to libvirt `target` (scan
    --target-version): its backend by this distribution's build priority, its needs."""
    from dataclasses import replace

    from vnetmigrate.facts.libvirt import after_upgrade

    lv = facts.libvirt
    if lv is None or facts.system is None:
        return facts
    after = after_upgrade(facts.system.os, lv.configured_backend, facts.system.tools, target)
    return replace(facts, libvirt=replace(lv, after_upgrade=after, upgrade_to=tuple(target[:2])))


def prepare() -> None:
    """Import what `analyse` would import on first use (the checks and the derivations, and the
    evaluator and model they load): scan does it while a slow listing runs (collect/host.py)."""
    from vnetmigrate.checks import all_checks
    from vnetmigrate.derived import all_derivations
    from vnetmigrate.facts import ownership  # noqa: F401 - imported by build() on first use

    all_checks()
    all_derivations()


def analyse(ev: Evidence, migration_target: str | None = None,
            target_version: tuple[int, int] | None = None) -> ScanResult:
    """Scan's analysis; with `migration_target` (plan, migrate) the host is judged as it will be
    after `migrate --to migration_target` instead of after a libvirt upgrade; with
    `target_version` (scan --target-version) after an upgrade to that libvirt release."""
    from vnetmigrate.checks import REGISTRY, run_all

    facts = build(ev)
    if target_version is not None:
        facts = for_upgrade(facts, target_version)
    if migration_target is not None:
        facts = for_migration(facts, migration_target)
    outcome = run_all(facts)
    findings = in_namespace(outcome.findings, ev.meta.get("netns"))
    errors = tuple(ev.errors) + facts.errors + outcome.errors
    blind = any(REGISTRY[s["check"]].severity == Severity.BLOCKER for s in outcome.skipped)
    return ScanResult(meta=dict(ev.meta), facts=facts, findings=findings, skipped=outcome.skipped,
                      errors=errors, matrix=classify(facts, outcome.findings), incomplete=bool(errors) or blind,
                      broken_now=outcome.broken_now)


_SHELL = re.compile(r"[;&|<>()$`]|^\s*(if|for|while)\b")


def in_namespace(findings: tuple[Finding, ...], netns: str | None) -> tuple[Finding, ...]:
    """Every workaround command run inside `netns`, so pasting one from a `--netns` scan changes
    that namespace, never the root one: `ip netns exec NS CMD`, or `... sh -c 'CMD'` when the
    command is shell syntax (a redirection or a compound)."""
    if not netns:
        return findings
    prefix = f"ip netns exec {shlex.quote(netns)}"

    def wrap(cmd: str) -> str:
        return f"{prefix} sh -c {shlex.quote(cmd)}" if _SHELL.search(cmd) else f"{prefix} {cmd}"

    return tuple(replace(f, workarounds=tuple(replace(w, commands=tuple(wrap(c) for c in w.commands))
                                              for w in f.workarounds)) for f in findings)
