"""`plan` (and what `migrate` does before it changes anything): read the host, judge it as the
migration will leave it, plan the steps and gather every blocker. Changes nothing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.exitcodes import ExitCode

if TYPE_CHECKING:
    from vnetmigrate.txn.planner import MigrationPlan

# Scan's interrupted-transaction is handled by migrate (the check's handled_by_migrate): it is
# judged here instead, transaction by transaction: migrate rolls back an interrupted
# (incomplete) one before it plans, but one whose rollback failed, or whose journal is
# corrupt, stops it (transaction_blockers).
TXN_BLOCKER = "interrupted-transaction"


@dataclass(frozen=True)
class Options:
    """What plan and migrate are told: where the host is and how to restart its daemon."""

    target: str                          # nftables or iptables
    netns: str | None
    root: Path
    state_dir: Path
    restart_command: str | None = None
    no_restart: bool = False


@dataclass(frozen=True)
class Blocker:
    """A reason not to migrate: a scan finding of severity blocker (source "scan") or the
    planner's own (source "plan"); only scan's can be forced."""

    id: str
    title: str
    detail: str
    forcible: bool
    source: str
    forced: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "detail": self.detail, "forcible": self.forcible,
                "source": self.source, "forced": self.forced}


@dataclass(frozen=True)
class Count:
    """How many of something a removal takes away."""
    what: str       # e.g. "rules", "chains", "nftables_commands"
    number: int


@dataclass(frozen=True)
class Removal:
    """What the migration removes from one place."""
    where: str      # ipv4, ipv6, nftables, or "ipv4 legacy"
    counts: tuple[Count, ...]


@dataclass(frozen=True)
class PlanSummary:
    """What the plan moves, as plan and migrate show it."""
    source: str                          # the backend libvirt's rules leave
    target: str
    libvirt_version: str                 # the modelled release
    networks_moved: tuple[str, ...]
    networks_already: tuple[str, ...]    # already have every rule of the target backend
    add: tuple[Count, ...]
    remove: tuple[Removal, ...]
    unexpected_kept: tuple[str, ...]     # rules in libvirt's containers that are not libvirt's: kept
    network_conf: str                    # the unified diff; empty when unchanged
    restart: tuple[str, ...] | None      # the daemon's restart command; None: no restart
    duplicates: int = 0                  # copies the restarted daemon re-created on ours

    @classmethod
    def of(cls, summary: dict[str, Any]) -> PlanSummary | None:
        """From the planner's summary; None when the planner refused before it summarized."""
        if not summary:
            return None
        counts = lambda d: tuple(Count(k, int(v)) for k, v in (d or {}).items())  # noqa: E731
        return cls(summary["from"], summary["to"], summary["libvirt_version"], tuple(summary["networks_moved"]),
                   tuple(summary["networks_already"]), counts(summary.get("add")),
                   tuple(Removal(w, counts(c)) for w, c in (summary.get("remove") or {}).items()),
                   tuple(summary.get("unexpected_kept") or ()), summary.get("network_conf") or "",
                   tuple(summary["restart"]) if summary.get("restart") is not None else None,
                   int(summary.get("duplicates") or 0))

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "libvirt_version": self.libvirt_version,
                "networks_moved": list(self.networks_moved), "networks_already": list(self.networks_already),
                "add": {c.what: c.number for c in self.add},
                "remove": {r.where: {c.what: c.number for c in r.counts} for r in self.remove},
                "unexpected_kept": list(self.unexpected_kept), "network_conf": self.network_conf,
                "restart": list(self.restart) if self.restart is not None else None,
                "duplicates": self.duplicates}


@dataclass(frozen=True)
class PlannedStep:
    """A step of the plan as shown."""
    index: int      # 1-based, as printed
    kind: str
    title: str


@dataclass(frozen=True)
class PlanResult:
    """What `migrate --to target` would do on this host, and what stops it."""

    command: ClassVar[str] = "plan"
    target: str
    summary: PlanSummary | None
    steps: tuple[PlannedStep, ...]
    blockers: tuple[Blocker, ...]
    notes: tuple[str, ...]
    fingerprint: str | None

    @property
    def nothing_to_do(self) -> bool:
        return not self.steps

    @property
    def unforced(self) -> tuple[Blocker, ...]:
        return tuple(b for b in self.blockers if not b.forced)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.BLOCKERS if self.unforced else ExitCode.OK

    @property
    def status(self) -> str:
        return "blockers" if self.unforced else "ok"

    def to_data(self) -> dict[str, Any]:
        return {"target": self.target, "summary": self.summary.to_dict() if self.summary else None,
                "blockers": [b.to_dict() for b in self.blockers], "notes": list(self.notes),
                "steps": [{"index": s.index, "kind": s.kind, "title": s.title} for s in self.steps],
                "fingerprint": self.fingerprint}


@dataclass(frozen=True)
class Prepared:
    """The plan as migrate runs it (vnetmigrate.txn.planner.MigrationPlan) and as it is shown."""

    migration: MigrationPlan
    result: PlanResult


def plan(opts: Options, force: tuple[str, ...] = ()) -> PlanResult:
    """`plan`, and `migrate --dry-run` with its --force."""
    from vnetmigrate.gcpause import paused

    with paused():  # see usecases/migrate.py
        return prepare(opts, force).result


def check_options(opts: Options) -> None:
    """Bad input, before anything is read or written (migrate creates its state dir, which may
    lie under --root: checked after that, a missing root would exist by then)."""
    from vnetmigrate.errors import InputError

    if not opts.root.is_dir():
        raise InputError(f"--root {opts.root}: not a directory")
    if opts.restart_command and opts.no_restart:
        raise InputError("--restart-command and --no-restart exclude each other")


def prepare(opts: Options, force: tuple[str, ...] = ()) -> Prepared:
    """Read the host, analyse it like scan (as the migration leaves it), plan, gather blockers."""
    from vnetmigrate.collect import collect_live
    from vnetmigrate.errors import InputError

    check_options(opts)
    generation = _generation(opts.netns)
    ev = collect_live(root=str(opts.root), netns=opts.netns, state_dir=str(opts.state_dir),
                      while_waiting=[_import_analysis], eager=True)
    from vnetmigrate.scan import analyse  # (imported already, while collection's listings ran)

    _reuse_listings(ev, generation)
    scan = analyse(ev, migration_target=opts.target)
    mplan = _migration(scan, opts, generation)
    return Prepared(mplan, result_of(mplan, scan, force))


def _import_analysis() -> None:
    """The analysis' and the planner's imports (~40 ms of dataclasses and compiled code), done
    while collection's listings run on the other core (LiveHost `eager`)."""
    from vnetmigrate.scan import prepare
    from vnetmigrate.txn import daemon, iptexact, planner, snapshot  # noqa: F401

    prepare()


def _reuse_listings(ev, generation) -> None:
    """Scan's `iptables-nft -S CHAIN` outputs serve the transaction's snapshot for as long as
    nothing is committed after `generation` (kernel.ipt_shown): one process less per chain."""
    from vnetmigrate.txn import kernel

    tools = {kernel.IPT[f][0]: f for f in ("ipv4", "ipv6")}
    for rec in ev.commands.values():
        argv = rec.argv
        if rec.ok and len(argv) == 5 and argv[0] in tools and argv[1] == "-t" and argv[3] == "-S" \
                and "\ufffd" not in rec.stdout:
            kernel.ipt_shown(tools[argv[0]], argv[2], argv[4], rec.stdout, generation)


def _generation(netns: str | None):
    """The namespace's nftables generation before the host is read (txn/nftgen.py)."""
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import nftgen

    with entered(netns):
        return nftgen.current()


def result_of(mplan: MigrationPlan, scan, force: tuple[str, ...] = ()) -> PlanResult:
    """The planner's plan and scan's analysis as plan and migrate show them."""
    return PlanResult(mplan.target, PlanSummary.of(mplan.summary),
                      tuple(PlannedStep(i + 1, s.kind, s.title) for i, s in enumerate(mplan.plan.steps)),
                      blockers(mplan, scan, force), tuple(mplan.notes), mplan.plan.fingerprint)


def _migration(scan, opts: Options, generation=None) -> MigrationPlan:
    """The planner's plan, with the blockers only the live host shows and its fingerprint.

    `generation`: the nftables generation before the host was read. When the fingerprint's
    listings are still of it, scan's `iptables -S` listings and they saw the same rules, and
    the removal of libvirt's iptables-nft rules goes by handle (txn/iptexact.py)."""
    from vnetmigrate.errors import InputError
    from vnetmigrate.libvirt import netconf
    from vnetmigrate.netns import entered
    from vnetmigrate.txn import daemon, iptexact, planner, snapshot

    extra = []
    try:
        argv, why = daemon.restart_argv(opts.restart_command, opts.no_restart, opts.netns)
    except InputError as exc:
        if opts.restart_command:
            raise
        argv, why = None, "no restart"
        extra.append(planner.Blocker("restart-unknown", exc.message, forcible=False))
    if (problem := snapshot.written_file_problem(opts.root, netconf.PATH)) is not None:
        extra.append(planner.Blocker("network-conf-unusable", f"network.conf cannot be rewritten safely: {problem}; "
                                     "fix it by hand first (convert it to UTF-8, or make it a regular file)",
                                     forcible=False))
    mplan = planner.build(scan.facts, opts.target, argv, why)
    with entered(opts.netns):
        fingerprint = snapshot.probe(mplan.plan.touched)
        saves = scan.facts.iptables.saves if scan.facts.iptables is not None else ()
        mplan = replace(mplan, plan=iptexact.exact_plan(mplan.plan, saves, generation))
    return replace(mplan, plan=replace(mplan.plan, fingerprint=fingerprint, meta={
        **mplan.plan.meta, "netns": opts.netns, "root": str(opts.root)}), blockers=mplan.blockers + tuple(extra))


def blockers(mplan: MigrationPlan, scan, force: tuple[str, ...] = ()) -> tuple[Blocker, ...]:
    """Every blocker: scan's that concern the target, the transactions', then the planner's own;
    each forcible one named in `force` is forced."""
    found = [*scan_blockers(scan, mplan.target), *transaction_blockers(scan),
             *(Blocker(b.id, b.title, b.detail, b.forcible, "plan") for b in mplan.blockers)]
    return tuple(replace(b, forced=b.forcible and b.id in force) for b in found)


def scan_blockers(scan, target: str) -> list[Blocker]:
    """Scan's findings of severity blocker that concern a migration to `target` (the checks'
    metadata says which are moot: vnetmigrate.checks.moot_for_migration)."""
    from vnetmigrate.checks import moot_for_migration

    moot = moot_for_migration(target)
    return [Blocker(f.id, f.title, f.summary, True, "scan") for f in scan.findings
            if f.severity.value == "blocker" and f.id not in moot]


def transaction_blockers(scan) -> list[Blocker]:
    """An unforcible blocker for each transaction migrate cannot roll back by itself."""
    txn = scan.facts.transactions
    out = []
    for t in txn.transactions if txn is not None else ():
        if t.status == "needs-attention":
            title = (f"transaction {t.id} needs attention: its rollback failed, the host may be between backends; "
                     f"run `vnetmigrate rollback {t.id}` again (with --restart-command CMD or --no-restart if "
                     "restarting the daemon is what failed) before migrating")
        elif t.status == "corrupt":
            title = (f"transaction {t.id} has a corrupt journal: nobody can tell what it changed; check the host "
                     f"by hand, then move {txn.state_dir}/txn/{t.id} aside")
        else:
            continue
        out.append(Blocker(TXN_BLOCKER, title, "; ".join(t.errors), False, "plan"))
    return out
