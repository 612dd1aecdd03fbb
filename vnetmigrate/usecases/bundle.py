"""`vnetmigrate bundle`: one archive a support engineer can analyse without the host.

collect (the scan's evidence, then the extras) -> screen (withhold secrets, blank
credentials) -> redact (optional; one consistent mapping over every text) -> analyse (the
scan result, as the bundle will reproduce it) -> write (vnetmigrate.bundlefile). `assemble`
does everything after collection and needs no root, so tests can run it on recorded evidence.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vnetmigrate import bundlefile
from vnetmigrate.collect.extras import Item
from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError
from vnetmigrate.evidence import CommandRecord, Evidence, FileRecord
from vnetmigrate.exitcodes import ExitCode
from vnetmigrate.redact import Redactor
from vnetmigrate.scan import ScanResult, analyse
from vnetmigrate.withheld import screen

EXTRA_DIR = f"{bundlefile.TOP}/extra"
Renderer = Callable[[ScanResult], dict[str, str]]  # the scan result's member names -> text (scan.json, scan.html)


@dataclass(frozen=True)
class BundleResult:
    """The bundle written, its manifest and redaction."""
    archive: Path
    redaction_map: Path | None
    manifest: dict[str, Any]
    redaction: dict[str, int] | None  # how many distinct addresses, MACs and names were replaced
    scan_status: str
    exit_code: ExitCode = ExitCode.OK
    withheld: tuple[str, ...] = field(default=())


def create(output: Path | None, root: str = "/", netns: str | None = None, state_dir: str | None = None,
           redact: bool = False, render: Renderer | None = None,
           progress: Callable[[str], None] | None = None, force: bool = False) -> BundleResult:
    from vnetmigrate.collect import collect_live
    from vnetmigrate.collect import extras
    from vnetmigrate.netns import entered

    if output is not None:
        check_target(output, redact, force)  # before a minute of collecting, not after it
    ev = collect_live(root=root, netns=netns, progress=progress, state_dir=state_dir)
    if ev.live_sets is not None:
        analyse(ev)  # reads the anonymous sets packet checks reach (facts/nftsets.py) before screening
    with entered(netns):
        items = extras.collect(ev, root=root, state_dir=state_dir, progress=progress)
    return assemble(ev, items, output, redact=redact, render=render, force=force)


def default_name(hostname: str, when: datetime | None = None) -> str:
    stamp = (when or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    host = re.sub(r"[^A-Za-z0-9.-]", "_", hostname or "host")[:64] or "host"
    return f"vnetmigrate-{host}-{stamp}.tar.gz"


ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")  # the names of what bundlefile writes: a gzip-compressed tar


def map_path(archive: Path) -> Path:
    name = archive.name.removesuffix(".tar.gz").removesuffix(".tgz")
    return archive.with_name(f"{name}.redaction-map.json")


def check_target(archive: Path, redact: bool, force: bool) -> None:
    """Refuse, before anything is written: a name that promises another format than the
    gzip-compressed tar written (a .zip no unzip opens); something there that is not a regular
    file; and, without `force`, an archive or (with `redact`) a redaction map already there: an
    earlier redacted bundle's map is the only key to its names and addresses."""
    if not archive.name.endswith(ARCHIVE_SUFFIXES) or archive.name in ARCHIVE_SUFFIXES:
        stem = archive.name.split(".", 1)[0] or "bundle"
        raise InputError(f"{archive}: a bundle is a gzip-compressed tar; its name must end in .tar.gz or .tgz",
                         hint=f"name it {archive.with_name(stem + '.tar.gz')}")
    if archive.exists() and not archive.is_file():
        raise InputError(f"{archive}: exists and is not a regular file")
    if force:
        return
    there = [str(path) for path in (archive, map_path(archive) if redact else None)
             if path is not None and (path.exists() or path.is_symlink())]
    if there:
        raise InputError(f"{' and '.join(there)} already exist{'s' if len(there) == 1 else ''}; nothing was written",
                         hint="name another --output, or pass --force to overwrite")


def assemble(ev: Evidence, items: list[Item], output: Path | None, redact: bool = False,
             render: Renderer | None = None, force: bool = False) -> BundleResult:
    ev, items, withheld = _screened(ev, items)
    redactor = None
    if redact:
        redactor = Redactor()
        hostname = str(ev.meta.get("hostname") or "")
        redactor.add_names([hostname], shortest=2)
        for text in _texts(ev, items):
            redactor.learn(text)
        redactor.settle()
        ev = _map_evidence(ev, redactor.apply)
        items = [_map_item(i, redactor.apply) for i in items]
    archive = output or Path(default_name(str(ev.meta.get("hostname") or "")))
    check_target(archive, redactor is not None, force)
    result = analyse(ev)
    members = bundlefile.evidence_members(ev)
    for item in items:
        if item.content is not None:
            members[f"{EXTRA_DIR}/{item.name}"] = item.content.encode("utf-8")
        if item.stderr:
            members[f"{EXTRA_DIR}/{item.name}.stderr"] = item.stderr.encode("utf-8")
    for name, text in (render(result) if render else {}).items():
        members[f"{bundlefile.TOP}/{name}"] = text.encode("utf-8")
    manifest = {"tool_version": ev.meta.get("tool_version"), "collected_at": ev.meta.get("collected_at"),
                "host": ev.meta.get("hostname"), "root": ev.meta.get("root"), "netns": ev.meta.get("netns"),
                "redacted": redactor is not None, "scan_status": result.status,
                "items": _manifest_items(ev, items, members, withheld)}
    try:
        manifest = bundlefile.write_bundle(archive, manifest, members)
    except OSError as exc:
        raise InputError(f"cannot write {archive}: {exc.strerror or exc}")
    mapped = None
    if redactor is not None:
        mapped = map_path(archive)
        fd = os.open(mapped, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(redactor.mapping(), fh, indent=1, sort_keys=True)
            fh.write("\n")
        os.chmod(mapped, 0o600)
    return BundleResult(archive, mapped, manifest, redactor.counts() if redactor else None, result.status,
                        withheld=tuple(sorted(withheld)))


# -- screening ------------------------------------------------------------------
def _screened(ev: Evidence, items: list[Item]) -> tuple[Evidence, list[Item], dict[str, str]]:
    withheld: dict[str, str] = {}
    out = Evidence(meta=dict(ev.meta), commands=dict(ev.commands), listings=dict(ev.listings), errors=list(ev.errors))
    for path, rec in ev.files.items():
        content, why = screen(path, rec.content)
        if why is not None:
            withheld[path] = why
            rec = FileRecord(path, None, f"withheld from the bundle: {why}")
        elif content != rec.content:
            rec = replace(rec, content=content)
        out.files[path] = rec
    for key, crec in ev.commands.items():
        _content, why = screen("", crec.stdout)
        if why is not None:
            withheld[key] = why
            out.commands[key] = replace(crec, stdout="", error=f"withheld from the bundle: {why}")
    screened = []
    for item in items:
        content, why = screen(item.path or "", item.content)
        if why is not None:
            withheld[item.path or item.name] = why
            item = replace(item, content=None, absent=f"withheld from the bundle: {why}")
        elif content != item.content:
            item = replace(item, content=content)
        screened.append(item)
    return out, screened, withheld


# -- redaction ------------------------------------------------------------------
def _texts(ev: Evidence, items: list[Item]):
    yield json.dumps(ev.meta)
    for rec in ev.commands.values():
        yield from (rec.stdout, rec.stderr, " ".join(rec.argv), rec.error or "")
    for rec in ev.files.values():
        yield rec.content or ""
    for item in items:
        yield from (item.content or "", item.stderr, " ".join(item.argv or ()))


def _map_evidence(ev: Evidence, f: Callable[[str], str]) -> Evidence:
    def opt(s: str | None) -> str | None:
        return f(s) if s is not None else None

    meta = json.loads(f(json.dumps(ev.meta)))
    out = Evidence(meta=meta, errors=[{k: f(v) for k, v in e.items()} for e in ev.errors])
    for rec in ev.commands.values():
        out.add_command(replace(rec, key=f(rec.key), argv=tuple(f(a) for a in rec.argv), stdout=f(rec.stdout),
                                stderr=f(rec.stderr), error=opt(rec.error)))
    for rec in ev.files.values():
        out.add_file(FileRecord(f(rec.path), opt(rec.content), opt(rec.error)))
    out.listings = {f(d): None if names is None else [f(n) for n in names] for d, names in ev.listings.items()}
    return out


def _map_item(item: Item, f: Callable[[str], str]) -> Item:
    return replace(item, name=f(item.name), argv=tuple(f(a) for a in item.argv) if item.argv else item.argv,
                   path=f(item.path) if item.path else item.path, content=f(item.content) if item.content else
                   item.content, stderr=f(item.stderr), absent=f(item.absent) if item.absent else item.absent)


# -- the manifest's items ---------------------------------------------------------
def _member(members: dict[str, bytes], name: str) -> dict[str, Any]:
    data = members.get(name)
    if data is None:
        return {"member": None, "size": None, "sha256": None}
    return {"member": name, "size": len(data), "sha256": bundlefile.sha256(data)}


def _manifest_items(ev: Evidence, items: list[Item], members: dict[str, bytes],
                    withheld: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    ev_dir = bundlefile.EVIDENCE_DIR
    for rec in ev.commands.values():
        timed_out = rec.returncode is None and (rec.error or "").startswith("timed out")
        out.append({"source": "evidence", "kind": "command", "key": rec.key, "argv": list(rec.argv), "path": None,
                    "exit_code": rec.returncode, "duration": rec.duration, "timed_out": timed_out,
                    "absent": rec.error if rec.returncode is None or rec.key in withheld else None,
                    **_member(members, f"{ev_dir}/commands/{rec.key}.stdout")})
    for rec in ev.files.values():
        out.append({"source": "evidence", "kind": "file", "key": None, "argv": None, "path": rec.path,
                    "exit_code": None, "duration": 0.0, "timed_out": False,
                    "absent": None if rec.content is not None else (rec.error or "absent"),
                    **_member(members, f"{ev_dir}/files/{rec.path.lstrip('/')}")})
    for item in items:
        out.append({"source": "extra", "kind": item.kind, "key": item.name, "argv": list(item.argv) if item.argv
                    else None, "path": item.path, "exit_code": item.exit_code, "duration": item.duration,
                    "timed_out": item.timed_out, "absent": item.absent,
                    **_member(members, f"{EXTRA_DIR}/{item.name}")})
    return out
