"""What `vnetmigrate gate` prints: the decision in a few lines (a package manager's terminal is
busy), its JSON envelope (gate-v1), and the files `gate install|remove` changed."""

from __future__ import annotations

from typing import Any

from vnetmigrate.reports.envelope import about_host, dumps, envelope
from vnetmigrate.reports.sanitize import printable
from vnetmigrate.reports.view import collapsed
from vnetmigrate.words import names, shorten_lists

HEADLINES = {"refused": "refused", "allowed": "allowed", "allowed-with-blockers": "allowed despite blockers",
             "skipped": "not checked"}


def _change(result) -> str:
    before = result.installed or "the installed libvirt"
    return f"libvirt {before} -> {result.incoming}"


def lines(result) -> list[str]:
    """The decision, what the host would be after the upgrade, the blockers, what to do."""
    out = [f"vnetmigrate gate: {_change(result)}: {HEADLINES[result.decision]} ({result.reason})"]
    if result.verdict is not None:
        out.append(f"  after the upgrade: {result.verdict}")
        if result.backend_now or result.backend_after:
            out.append(f"  libvirt's firewall backend: {result.backend_now or 'unknown'} now, "
                       f"{result.backend_after or 'unknown'} after")
    blockers = [{"id": b.id, "title": b.title} for b in result.blockers]
    for b, hidden in collapsed(blockers):  # one per network on some hosts: the first, then a count
        out.append(f"  blocker: {shorten_lists(b['title'])} [{b['id']}]")
        if hidden:
            out.append(f"    ... and {hidden} more {b['id']} (vnetmigrate scan lists them)")
    if result.warnings:
        out.append(f"  {len(result.warnings)} warning(s): " + names(dict.fromkeys(w.id for w in result.warnings)))
    for note in result.notes:
        out.append(f"  note: {note}")
    if result.blockers:
        target = result.incoming
        out.append(f"  details and workarounds: vnetmigrate scan --target-version {_release(target)}")
    if result.decision == "refused":
        where = result.policy.source or "/etc/vnetmigrate/gate.conf"
        out.append(f"  to upgrade anyway: set policy = warn in {where}")
    return [printable(line) for line in out]


def _release(version: str) -> str:
    from vnetmigrate.gate.packages import release_of

    major, minor = release_of(version)
    return f"{major}.{minor}"


def to_text(result) -> str:
    return "\n".join(lines(result)) + "\n"


def to_dnf5(result) -> str:
    """The same lines in the actions plugin's output protocol (libdnf5-actions(8)): each as a log
    message, and a refusal as `error=`, which stops the transaction under raise_error=1."""
    text = lines(result)
    out = [f"log.{'ERROR' if result.decision == 'refused' else 'NOTICE'}={line}" for line in text]
    if result.decision == "refused":
        out.append(f"error={text[0]}")
    return "\n".join(out) + "\n"


def to_json(result) -> str:
    about_host(result.host, result.os, result.libvirt_version)
    return dumps(envelope("gate", result.status, int(result.exit_code), result.to_data()))


def install_data(result) -> dict[str, Any]:
    return {"action": result.action, "root": result.root,
            "files": [{"path": f.path, "manager": f.manager, "change": f.change} for f in result.files],
            "notes": list(result.notes)}


def install_to_json(result) -> str:
    return dumps(envelope("gate", "ok", 0, install_data(result)))


def install_to_text(result) -> str:
    done = sum(1 for f in result.files if f.change in ("written", "removed"))
    head = {"install": "installed", "remove": "removed"}[result.action]
    out = [f"vnetmigrate gate {result.action}: {head}" if done else
           f"vnetmigrate gate {result.action}: nothing to do"]
    out += [f"  {f.change:<9} {f.path}  ({f.manager})" for f in result.files]
    out += [f"  note: {n}" for n in result.notes]
    return "\n".join(printable(line) for line in out) + "\n"
