"""Plan a migration of libvirt's firewall to another backend: steps, summary, blockers.

Make before break (design principle 5): the target backend's rules for every active network
in one atomic step; verify them; remove the old backend's rules (only libvirt's) and its
LIBVIRT_* chains or libvirt_network tables; switch network.conf atomically; restart libvirt's
network daemon where one runs; remove the copies it re-created on top of ours; verify again.
Pure: facts and options in, a `MigrationPlan` out (libvirt's networks and network.conf as
vnetmigrate.facts.networks parsed them: nothing is read or parsed again here).
"""

from __future__ import annotations

import difflib
from dataclasses import field
from typing import Any

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError
from vnetmigrate.firewall import Backend, Family
from vnetmigrate.libvirt import netconf
from vnetmigrate.specs import NETWORK_CONF, NETWORK_STATUS
from vnetmigrate.libvirt.ownership import classify
from vnetmigrate.libvirt.versions import nearest_version
from vnetmigrate.txn import libvirt_steps as ls
from vnetmigrate.txn import steps
from vnetmigrate.txn.kept import BLOCKER as KEPT_BLOCKER
from vnetmigrate.txn.kept import kept
from vnetmigrate.txn.snapshot import Touched
from vnetmigrate.words import plural

@dataclass(frozen=True)
class Blocker:
    """Why the planner would not migrate, and whether --force may override it."""
    id: str
    title: str
    detail: str = ""
    forcible: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "detail": self.detail, "forcible": self.forcible}


@dataclass(frozen=True)
class MigrationPlan:
    """The transaction's plan, its summary, blockers and notes."""
    target: Backend
    plan: steps.Plan
    summary: dict[str, Any]
    blockers: tuple[Blocker, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def nothing_to_do(self) -> bool:
        return not self.plan.steps

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "summary": self.summary, "blockers": [b.to_dict() for b in self.blockers],
                "notes": list(self.notes),
                "steps": [{"index": i + 1, "kind": s.kind, "title": s.title} for i, s in enumerate(self.plan.steps)],
                "fingerprint": self.plan.fingerprint}


def build(facts, target: Backend | str, restart: list[str] | None, restart_why: str) -> MigrationPlan:
    """`facts`: the scan's HostFacts (vnetmigrate.scan.analyse). Make, break, switch, restart:
    each phase below adds its steps and its part of the summary in that order."""
    target = Backend(target)
    networks = facts.networks
    if networks is None:  # the facts' errors say why
        return _refused(target, Blocker("network-file-unreadable", "libvirt's network files could not be read",
                                        forcible=False))
    lv = facts.libvirt
    try:
        version, exact = nearest_version(lv.version if lv is not None else None, target)
    except Exception as exc:  # no modelled version has the target backend
        return _refused(target, Blocker("backend-unsupported", str(exc), forcible=False))
    blockers = _preflight(facts, target)
    notes: list[str] = [restart_why]
    if not exact:
        from vnetmigrate.libvirt.versions import resolve

        version_tuple = lv.version if lv is not None else None
        notes.append(resolve(tuple(version_tuple[:2]) if version_tuple else None, target)[1]
                     or f"libvirt is modelled as {version.version}")
    ctx = _Context.of(facts, target, version)
    moving = ctx.moving()
    moved = {n.name for n in moving}
    summary: dict[str, Any] = {"from": target.other, "to": target, "libvirt_version": version.version,
                               "networks_moved": [n.name for n in moving],
                               "networks_already": [n.name for n in ctx.every if n.name not in moved]}
    plan_steps = _make(ctx, moving, summary)
    plan_steps += _break(ctx, summary, blockers)
    keep = kept(target, ctx.saves, facts.nft, ctx.owners)
    if keep.reasons:
        blockers.append(Blocker(KEPT_BLOCKER, keep.blocker_title(target.other)))
    plan_steps += _switch_conf(networks, target, summary)
    plan_steps += _restart(ctx, restart, bool(plan_steps), summary)
    if plan_steps and ctx.every:
        plan_steps.append(ctx.verify(f"libvirt's rules are exactly what every active network needs ({target})",
                                     final=True, accept=list(keep.accept)))
    title = f"migrate libvirt's firewall to {target}"
    refs = list(networks.status_paths)
    return MigrationPlan(target, steps.Plan(title, tuple(plan_steps), meta={"to": target, "reference_files": refs}),
                         summary,
                         tuple(blockers), tuple(notes))


def _preflight(facts, target: Backend) -> list[Blocker]:
    """What stops the migration before any step: unreadable network files, a libvirt without
    the target backend, its binary missing, iptables-legacy as the target."""
    lv = facts.libvirt
    blockers = [Blocker("network-file-unreadable", p, forcible=False) for p in facts.networks.problems]
    if lv is not None and lv.version is not None and tuple(lv.version[:2]) < (10, 4) \
            and target is Backend.NFTABLES:
        blockers.append(Blocker("libvirt-without-nftables", f"libvirt {lv.version_text} has no nftables backend "
                                "(10.4 and later have it)", forcible=False))
    binary = target.binary
    tools = facts.system.tools if facts.system is not None else {}
    if tools and not tools.get(binary):
        blockers.append(Blocker("target-tool-missing", f"`{binary}` is not installed: libvirt's {target} backend "
                                "needs it, its network driver would fail to start", forcible=False))
    from vnetmigrate.facts.kernel import rhel10_xt_missing

    xt_missing = rhel10_xt_missing(facts.kernel, facts.system.os if facts.system else None)
    if target is Backend.IPTABLES and xt_missing:
        blockers.append(Blocker("iptables-modules-missing", f"the kernel modules {', '.join(xt_missing)} are not "
                                "installed: on RHEL 10 and its rebuilds iptables-nft needs them from "
                                "kernel-modules-extra for libvirt's iptables rules (CHECKSUM, conntrack, "
                                "MASQUERADE); install it first (`dnf install kernel-modules-extra`)", forcible=False))
    if target is Backend.IPTABLES and facts.system is not None and facts.system.iptables_variant == "legacy":
        blockers.append(Blocker("legacy-iptables-target", "`iptables` is iptables-legacy here: adding libvirt's "
                                "rules to legacy tables is not supported yet", forcible=False))
    return blockers


@dataclass(frozen=True)
class _Context:
    """What every phase of a plan reads: the host's facts, the target, the model version, the
    active networks and how the rules there now are owned."""
    facts: Any
    target: Backend
    version: Any
    active: list
    known: list
    saves: list
    own: Any
    status_texts: list[str]
    expected_nft: "_ExpectedLines"

    @classmethod
    def of(cls, facts, target: Backend, version) -> "_Context":
        networks = facts.networks
        active, known = networks.pairs, list(networks.known)
        saves = list(facts.iptables.saves) if facts.iptables is not None else []
        # How the rules there now are owned: scan already classified them (with the model of the
        # host's own libvirt version); classify here only when scan could not.
        ownership = getattr(facts, "ownership", None)
        own = ownership.ownership if ownership is not None else classify(active, version, iptables=saves,
                                                                          nft=facts.nft, known=known)
        every = [n for n, _b in active]
        return cls(facts, target, version, active, known, saves, own, [a.status.text for a in networks.active],
                   _ExpectedLines(every, version.version, target))

    @property
    def every(self) -> list:
        return [n for n, _b in self.active]

    @property
    def owners(self):
        return ls.owners(self.own)

    def moving(self) -> list:
        """The networks that move: all, unless the kernel already has every rule the target
        backend gives one (its status file may still name the old backend: --no-restart)."""
        if not _has_containers(self.target, self.facts):  # nothing of the target exists yet
            return self.every
        as_target = classify([(n, self.target) for n in self.every], self.version, iptables=self.saves,
                             nft=self.facts.nft, known=self.known)
        lacking = {m.network for m in as_target.missing if m.backend is self.target}
        return [n for n in self.every if n.name in lacking]

    def verify(self, title: str, final: bool, accept: list[str] | None = None) -> steps.Step:
        return _verify(title, self.target, self.status_texts, self.expected_nft, self.version.version, final,
                       accept)


def _make(ctx: _Context, moving: list, summary: dict[str, Any]) -> list[steps.Step]:
    """The target backend's rules of the moving networks, then a check that every active
    network's rules are there."""
    made: list[steps.Step] = []
    if ctx.target is Backend.NFTABLES:
        text = ls.nft_add_text(moving, ctx.version, ctx.facts.nft) if moving else ""
        summary["add"] = {"nftables_commands": text.count("\n")}
        if text:
            made.append(steps.nft_text(f"add the nftables rules of {plural(len(moving), 'network')}", text,
                                       ls.nft_touched()))
    else:
        added = 0
        for family in Family:
            frag = ls.ipt_add(moving, ctx.version, family, ls.ipt_save(ctx.saves, family)) if moving else ""
            added += sum(1 for ln in frag.splitlines() if ln.startswith(("-I", "-A")))
            if frag:
                made.append(steps.ipt(f"add the {family} iptables rules of {plural(len(moving), 'network')}", family,
                                      frag, ls.ipt_touched(family)))
        summary["add"] = {"iptables_rules": added}
    if made:
        made.append(ctx.verify(f"the {ctx.target} rules of every active network are there", final=False))
    return made


def _break(ctx: _Context, summary: dict[str, Any], blockers: list[Blocker]) -> list[steps.Step]:
    """Remove the old backend's rules, libvirt's only, and its LIBVIRT_* chains."""
    broken: list[steps.Step] = []
    removed: dict[str, Any] = {}
    if ctx.target is Backend.NFTABLES:
        owners = ctx.owners
        for family in Family:
            save = ls.ipt_save(ctx.saves, family)
            if save is None:
                continue
            frag, chains, counts = ls.ipt_removal(save, owners)
            removed[family] = counts
            if frag:
                broken.append(steps.ipt(f"remove libvirt's {family} iptables rules and LIBVIRT_* chains", family,
                                        frag, chains))
        for save in (s for s in ctx.saves if s.source == "legacy"):
            legacy_own = ls.owners(classify(ctx.active, ctx.version, iptables=[save], known=ctx.known))
            tables, shared = ls.legacy_removal(save, legacy_own)
            if shared:
                blockers.append(Blocker("legacy-libvirt-chains-shared", f"libvirt's legacy {save.family} chains "
                                        f"{', '.join(shared)} also hold rules that are not libvirt's; removing "
                                        "only libvirt's rules from legacy tables is not supported yet",
                                        forcible=False))
            if tables:
                removed[f"{save.family} legacy"] = {"chains": sum(len(c) for c in tables.values())}
                broken.append(steps.legacy(f"remove libvirt's LIBVIRT_* chains from the legacy {save.family} "
                                           "tables", save.family, tables))
    elif ctx.facts.nft is not None:
        cmds, counts, exact = ls.nft_removal(ctx.facts.nft, ctx.owners)
        removed["nftables"] = counts
        if cmds:
            broken.append(steps.nft("remove libvirt's nftables rules", cmds, ls.nft_touched(), exact=exact))
    summary["remove"] = removed
    summary["unexpected_kept"] = [i.where for i in ctx.own.items if i.owner.value == "unexpected"]
    return broken


def _switch_conf(networks, target: Backend, summary: dict[str, Any]) -> list[steps.Step]:
    """network.conf's firewall_backend set to the target, written atomically by the step."""
    if networks.conf_error is not None:
        raise InputError(networks.conf_error)
    old = networks.conf.text if networks.conf is not None else None
    new = (networks.conf or netconf.parse("")).with_backend(target)
    summary["network_conf"] = "".join(difflib.unified_diff(
        (old or "").splitlines(keepends=True), new.splitlines(keepends=True),
        f"a{NETWORK_CONF}", f"b{NETWORK_CONF}")) if old != new else ""
    if old == new:
        return []
    return [steps.file(f"set firewall_backend = \"{target}\" in network.conf", NETWORK_CONF, new, old)]


def _restart(ctx: _Context, restart: list[str] | None, changing: bool, summary: dict[str, Any]) -> list[steps.Step]:
    """Guard guests' traffic, restart libvirt's network daemon, then remove the guard and the
    copies it re-created on ours; or, with nothing else to change, only the copies a restart
    since an earlier --no-restart migration left."""
    target, version, every = ctx.target, ctx.version, ctx.every
    everything = everything_touched()
    summary["restart"] = restart
    if changing and restart is not None and every:
        out: list[steps.Step] = []
        if target is Backend.NFTABLES:
            out.append(steps.nft("guard guests' traffic while the daemon re-creates its rules",
                                 ls.nft_guard(every, version), ls.nft_touched()))
        else:
            for family, frag in ls.ipt_guard(every, version).items():
                out.append(steps.ipt(f"guard guests' {family} traffic while the daemon re-creates its rules",
                                     family, frag, [("filter", ls.IPT_GUARD)]))
        back = {"nft": ls.nft_guard(every, version)} if target.other is Backend.NFTABLES else \
            {"ipt": ls.ipt_guard(every, version)}
        out.append(steps.restart("restart libvirt's network daemon", restart, everything,
                                 settle={"backend": target.other, "status_dir": NETWORK_STATUS, "guard": back}))
        out.append(steps.dedupe(f"remove the guard and the copies of the {target} rules the daemon "
                                "re-created on ours", target, NETWORK_STATUS, everything))
        return out
    if every and (dups := ls.duplicates(target, ctx.facts)):
        # Already migrated (e.g. with --no-restart), and the daemon has since re-created its
        # rules on top of ours: only the extra copies go.
        summary["duplicates"] = dups
        return [steps.dedupe(f"remove the duplicate {target} rules", target, NETWORK_STATUS, everything)]
    return []


class _ExpectedLines:
    """The model's `nft list` lines of the active networks, made once when a step needs them."""

    def __init__(self, networks: list, version: str, target: str) -> None:
        self.networks, self.version, self.target = networks, version, target
        self._lines: list[str] | None = None

    def __call__(self) -> list[str]:
        if self._lines is None:
            from vnetmigrate.txn.livecheck import expected_nft_lines_of

            self._lines = expected_nft_lines_of(self.networks, self.version)
        return self._lines


def _verify(title: str, target: Backend, status_texts: list[str], expected_nft: _ExpectedLines, version: str,
            final: bool, accept: list[str] | None = None) -> steps.Step:
    """nftables: the live `nft list` text against the model's listing (20 ms for 100 networks);
    iptables: the model's ownership classification of the live chains (of the status files).
    `accept`: containers of the old backend kept on purpose (vnetmigrate.txn.kept)."""
    extra = {"accept": accept} if accept else {}
    if target is Backend.NFTABLES:
        return steps.verify(title, "nft-listing", expected=list(expected_nft()), final=final, **extra)
    return steps.verify(title, "libvirt-rules", status_files=status_texts, version=version, backend=target,
                        final=final, **extra)


def _has_containers(backend: Backend, facts) -> bool:
    if backend is Backend.NFTABLES:
        return facts.nft is not None and any(t.name == "libvirt_network" for t in facts.nft.tables)
    saves = facts.iptables.saves if facts.iptables is not None else ()
    return any(c.name.startswith("LIBVIRT_") for s in saves for c in s.chains())


def _refused(target: Backend, blocker: Blocker) -> MigrationPlan:
    return MigrationPlan(target, steps.Plan(f"migrate to {target}", ()), {}, (blocker,))


# -- for vnetmigrate.repair: the planner's pieces a repair reuses ---------------------------------

def everything_touched() -> Touched:
    """Every table and chain libvirt's daemon may change when it restarts (and the guard chain)."""
    return Touched(nft_tables=tuple(ls.nft_touched()),
                   ipt_chains=tuple((f.value, t, c) for f in Family
                                    for t, c in [*sorted(ls.IPT_CHAIN_NAMES), ("filter", ls.IPT_GUARD)]))


def verify_rules(facts, backend: Backend | str, title: str, final: bool = False) -> steps.Step:
    """A step checking every active network's rules in `backend` against the model (as a
    migration's verification does); `final`: nothing left over either."""
    backend = Backend(backend)
    lv = facts.libvirt
    version, _exact = nearest_version(lv.version if lv is not None else None, backend)
    return _Context.of(facts, backend, version).verify(title, final=final)
