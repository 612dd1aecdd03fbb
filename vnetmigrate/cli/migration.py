"""What `plan` and `migrate` share: options, reading the host, the plan, and printing it."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from vnetmigrate.cli.common import write_output
from vnetmigrate.exitcodes import ExitCode


class Target(str, Enum):
    nftables = "nftables"
    iptables = "iptables"


ToOpt = Annotated[Target, typer.Option("--to", help="The backend to migrate libvirt's firewall to.")]
RestartOpt = Annotated[Optional[str], typer.Option(
    "--restart-command", metavar="CMD",
    help="Command that restarts libvirt's network daemon (default: systemctl, where it runs under systemd).")]
NoRestartOpt = Annotated[bool, typer.Option("--no-restart", help="Do not restart libvirt's network daemon.")]


def prepare(target: str, netns: str | None, root: Path, state_dir: Path, restart_command: str | None,
            no_restart: bool):
    """Read the host, analyse it like scan, and plan: (plan, scan result). Changes nothing."""
    from vnetmigrate.collect import collect_live
    from vnetmigrate.errors import InputError
    from vnetmigrate.netns import entered
    from vnetmigrate.scan import analyse
    from vnetmigrate.txn import daemon, planner, snapshot

    if not root.is_dir():
        raise InputError(f"--root {root}: not a directory")
    if restart_command and no_restart:
        raise InputError("--restart-command and --no-restart exclude each other")
    ev = collect_live(root=str(root), netns=netns, state_dir=str(state_dir))
    result = analyse(ev, migration_target=target)
    extra = []
    try:
        argv, why = daemon.restart_argv(restart_command, no_restart, netns)
    except InputError as exc:
        if restart_command:
            raise
        argv, why = None, "no restart"
        extra.append(planner.Blocker("restart-unknown", exc.message, forcible=False))
    from vnetmigrate.libvirt import netconf

    if (problem := snapshot.written_file_problem(root, netconf.PATH)) is not None:
        extra.append(planner.Blocker("network-conf-unusable", f"network.conf cannot be rewritten safely: {problem}; "
                                     "fix it by hand first (convert it to UTF-8, or make it a regular file)",
                                     forcible=False))
    mplan = planner.build(result.facts, target, argv, why)
    with entered(netns):
        fingerprint = snapshot.probe(mplan.plan.touched)
    from dataclasses import replace

    mplan = replace(mplan, plan=replace(mplan.plan, fingerprint=fingerprint, meta={
        **mplan.plan.meta, "netns": netns, "root": str(root)}), blockers=mplan.blockers + tuple(extra))
    return mplan, result


# Scan's interrupted-transaction is handled by migrate (the check's handled_by_migrate): it is
# judged here instead, transaction by transaction: migrate rolls back an interrupted
# (incomplete) one before it plans, but one whose rollback failed, or whose journal is
# corrupt, stops it (transaction_blockers).
TXN_BLOCKER = "interrupted-transaction"


def transaction_blockers(result) -> list[dict[str, Any]]:
    """An unforcible blocker for each transaction migrate cannot roll back by itself."""
    txn = result.facts.transactions
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
        out.append({"id": TXN_BLOCKER, "title": title, "detail": "; ".join(t.errors), "forcible": False,
                    "source": "plan"})
    return out


def blockers(mplan, result, force: list[str] | None = None) -> list[dict[str, Any]]:
    """Every blocker: the scan's findings of severity blocker that concern the target, then the plan's own.

    With `force` (migrate), each says whether it is forced.
    """
    from vnetmigrate.checks import moot_for_migration

    moot = moot_for_migration(mplan.target)
    out = [{"id": f.id, "title": f.title, "detail": f.summary, "forcible": True, "source": "scan"}
           for f in result.findings if f.severity.value == "blocker" and f.id not in moot]
    out += transaction_blockers(result) + [{**b.to_dict(), "source": "plan"} for b in mplan.blockers]
    if force is not None:
        for b in out:
            b["forced"] = b["forcible"] and b["id"] in force
    return out


def unforced(found: list[dict[str, Any]], force: list[str]) -> list[dict[str, Any]]:
    return [b for b in found if not (b["forcible"] and b["id"] in force)]


def show_plan(command: str, target: str, netns: str | None, root: Path, state_dir: Path,
              restart_command: str | None, no_restart: bool, force: list[str] | None, fmt: str,
              output: Path | None) -> int:
    """`plan`, and `migrate --dry-run` (with its --force): the plan and its blockers; changes nothing."""
    mplan, result = prepare(target, netns, root, state_dir, restart_command, no_restart)
    found = blockers(mplan, result, force)
    code = ExitCode.BLOCKERS if unforced(found, force or []) else ExitCode.OK
    render(command, mplan, found, code, fmt, output, {"dry_run": True} if command == "migrate" else None)
    return int(code)


def render(command: str, mplan, found: list[dict], code: ExitCode, fmt: str, output: Path | None,
           extra: dict[str, Any] | None = None) -> None:
    data = {**mplan.to_dict(), "blockers": found, **(extra or {})}
    if fmt == "json":
        from vnetmigrate.reports.envelope import dumps, envelope

        status = {ExitCode.OK: "ok", ExitCode.BLOCKERS: "blockers", ExitCode.ROLLED_BACK: "rolled-back"}.get(
            code, "needs-attention")
        write_output(dumps(envelope(command, status, code, data)), output)
        return
    write_output(text(mplan, found, extra or {}), output)


def text(mplan, found: list[dict], extra: dict[str, Any]) -> str:
    s = mplan.summary
    lines = []
    if mplan.nothing_to_do:
        lines.append(f"Nothing to do: libvirt's rules are already in {mplan.target} and network.conf says so.")
    else:
        lines.append(f"Migration of libvirt's firewall: {s.get('from')} -> {s.get('to')} "
                     f"(modelled as libvirt {s.get('libvirt_version')})")
        lines.append(f"  networks moved: {', '.join(s.get('networks_moved') or []) or 'none'}")
        if s.get("networks_already"):
            lines.append(f"  already in {mplan.target}: {', '.join(s['networks_already'])}")
        lines.append(f"  add: {_counts(s.get('add', {}))}")
        for where, counts in (s.get("remove") or {}).items():
            lines.append(f"  remove ({where}): {_counts(counts)}")
        for where in s.get("unexpected_kept") or []:
            lines.append(f"  kept (not libvirt's rule in its container): {where}")
        lines.append(f"  restart: {' '.join(s['restart']) if s.get('restart') else 'none'}")
        if s.get("network_conf"):
            lines += ["  network.conf:", *("    " + ln for ln in s["network_conf"].rstrip("\n").splitlines())]
        lines.append("Steps:")
        lines += [f"  {i + 1}. [{st.kind}] {st.title}" for i, st in enumerate(mplan.plan.steps)]
    for note in mplan.notes:
        lines.append(f"Note: {note}")
    for b in found:
        forced = " (forced)" if b.get("forced") else ""
        lines.append(f"BLOCKER {b['id']}{forced}: {b['title']}" + ("" if b["forcible"] else " [cannot be forced]"))
    return "\n".join(_outcome(extra) + lines + _result(mplan, extra)) + "\n"


def _outcome(extra: dict[str, Any]) -> list[str]:
    """What migrate did before it planned: the interrupted transactions it rolled back."""
    from vnetmigrate.cli.rollback import outcome_lines

    lines = []
    for r in extra.get("recovered") or []:
        lines += ["Interrupted transaction found first:", *("  " + ln for ln in outcome_lines(r))]
    return lines


def _result(mplan, extra: dict[str, Any]) -> list[str]:
    """migrate's last word: dry run, refused, or its transaction's outcome."""
    from vnetmigrate.cli.rollback import detail_lines

    if extra.get("dry_run"):
        return ["Dry run: nothing was changed."]
    if extra.get("refused"):
        return [f"Refused: {extra['refused']}."]
    t = extra.get("transaction")
    if t is None:
        return []
    if t["status"] == "committed":
        return [f"Transaction {t['id']} committed: libvirt's rules are in {mplan.target}, verified."]
    failed = f"step {t['failed_step'] + 1}" if t.get("failed_step") is not None else "the commit"
    lines = [f"Transaction {t['id']} FAILED at {failed}: {t.get('error')}"]
    if t["status"] == "rolled-back":
        lines.append("  everything it did was rolled back; the old state is verified back")
    else:
        lines.append("  its ROLLBACK IS INCOMPLETE: the host needs attention")
    return lines + detail_lines(t)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()) or "nothing"
