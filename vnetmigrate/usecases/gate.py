"""`vnetmigrate gate`: is the pending libvirt upgrade safe for this host?

The host is read as scan reads it and judged "after the upgrade" for the incoming release
(scan --target-version: that release's backend by this distribution's build priority, its
prerequisites, vnetmigrate/scan.py for_upgrade); the policy file says what blockers do
(vnetmigrate/gate/policy.py). Package managers reach it through their hooks (vnetmigrate/gate/).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.exitcodes import ExitCode
from vnetmigrate.findings import Severity
from vnetmigrate.gate.packages import release_of
from vnetmigrate.gate.policy import CONFIG, Policy, load

REFUSED, ALLOWED, WARNED, SKIPPED = "refused", "allowed", "allowed-with-blockers", "skipped"


@dataclass(frozen=True)
class Request:
    """What the gate is asked to judge: the host and the incoming libvirt version."""
    root: Path
    incoming: str                    # the package version arriving (Debian or RPM), or a release X.Y
    netns: str | None = None
    installed: str | None = None     # None: the version scan reads on the host
    packages: tuple[str, ...] = ()   # the packages that brought the change (from a hook)
    config: Path | None = None       # the policy file; default /etc/vnetmigrate/gate.conf under root
    deadline: float | None = None


@dataclass(frozen=True)
class Issue:
    """A finding the gate names, by id and title."""
    id: str
    title: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title}


@dataclass(frozen=True)
class GateResult:
    """The gate's decision, why, and what it is based on."""
    decision: str                    # refused, allowed, allowed-with-blockers, skipped
    reason: str                      # one line: why
    policy: Policy
    installed: str | None
    incoming: str
    packages: tuple[str, ...] = ()
    verdict: str | None = None       # scan's verdict for the host after the upgrade
    scan_status: str | None = None   # ok, warnings, blockers
    backend_now: str | None = None
    backend_after: str | None = None
    blockers: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()
    notes: tuple[str, ...] = ()
    host: str | None = None
    os: str | None = None
    libvirt_version: str | None = None
    command: str = "gate"

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.BLOCKERS if self.decision == REFUSED else ExitCode.OK

    @property
    def status(self) -> str:
        return self.decision

    def to_data(self) -> dict[str, Any]:
        return {"action": "check", "decision": self.decision, "reason": self.reason,
                "policy": self.policy.policy, "policy_file": self.policy.source,
                "installed": self.installed, "incoming": self.incoming, "packages": list(self.packages),
                "verdict": self.verdict, "scan_status": self.scan_status,
                "backend": {"now": self.backend_now, "after": self.backend_after},
                "blockers": [b.to_dict() for b in self.blockers],
                "warnings": [w.to_dict() for w in self.warnings], "notes": list(self.notes)}


def policy_of(req: Request) -> Policy:
    return load(req.config if req.config is not None else req.root / CONFIG)


def gate(req: Request) -> GateResult:
    from vnetmigrate.collect import collect_live
    from vnetmigrate.libvirt.versions import OLDEST
    from vnetmigrate.scan import analyse

    policy = policy_of(req)
    target = release_of(req.incoming)
    if req.installed is not None:
        release_of(req.installed)  # a malformed version is an error before anything is read
    base = dict(policy=policy, installed=req.installed, incoming=req.incoming, packages=req.packages)
    if policy.policy == "off":
        return GateResult(SKIPPED, f"the gate is off (policy = off in {policy.source})", **base)
    if target < OLDEST:
        return GateResult(SKIPPED, f"libvirt {target[0]}.{target[1]} predates every modelled release "
                                   f"({OLDEST[0]}.{OLDEST[1]} on): not judged", **base)
    kw = {} if req.deadline is None else {"deadline": req.deadline}
    return decide(req, policy, analyse(collect_live(root=str(req.root), netns=req.netns, **kw), target_version=target))


def decide(req: Request, policy: Policy, result) -> GateResult:
    """The decision for the host as `result` (a ScanResult judged for the incoming release) sees it."""
    from vnetmigrate.words import plural

    target = release_of(req.incoming)
    base = dict(policy=policy, installed=req.installed, incoming=req.incoming, packages=req.packages)
    lv, system = result.facts.libvirt, result.facts.system
    installed = req.installed or (lv.version_text if lv is not None else None)
    blockers = tuple(Issue(f.id, f.title) for f in result.findings if f.severity == Severity.BLOCKER)
    warnings = tuple(Issue(f.id, f.title) for f in result.findings if f.severity == Severity.WARNING)
    after = f"libvirt {target[0]}.{target[1]}"
    if not blockers:
        decision, reason = ALLOWED, f"no blocker for this host after the upgrade to {after}"
    elif policy.policy == "warn":
        decision, reason = WARNED, f"{plural(len(blockers), 'blocker')} after the upgrade to {after}; policy = warn: going ahead"
    else:
        decision, reason = REFUSED, f"{plural(len(blockers), 'blocker')} after the upgrade to {after}"
    notes = tuple(e.get("message", "") for e in result.errors)
    return GateResult(decision, reason, **{**base, "installed": installed},
                      verdict=result.verdict, scan_status=result.status,
                      backend_now=lv.effective.backend.value if lv and lv.effective.backend else None,
                      backend_after=lv.after_upgrade.backend.value if lv and lv.after_upgrade.backend else None,
                      blockers=blockers, warnings=warnings, notes=notes,
                      host=result.meta.get("hostname"), os=system.os.pretty_name if system is not None else None,
                      libvirt_version=lv.version_text if lv is not None else None)
