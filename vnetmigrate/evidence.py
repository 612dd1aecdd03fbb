"""Raw evidence: what the collectors saw, before any interpretation.

Evidence is the seam between looking and thinking (design principle 1). A live host, a
network namespace, another filesystem root and a saved directory all yield the same
`Evidence`, so every parser and check runs identically on each.

On disk (``--save-evidence DIR`` / ``--from DIR``) evidence is a directory::

    manifest.json            format, version, metadata, one entry per command and file
    commands/<key>.stdout    each command's standard output (and .stderr)
    files/<path>             each file's content, at its path relative to /

Loading validates everything and refuses paths that would escape the directory, so a
corrupt or hostile directory gives one clear error.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import asdict, field, fields
from pathlib import Path, PurePosixPath
from typing import Any

from vnetmigrate import bounded
from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import InputError

FORMAT = "vnetmigrate-evidence"
FORMAT_VERSION = 1
_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,200}$")


@dataclass(frozen=True)
class CommandRecord:
    """One command (or libnftables call) and what it returned."""

    key: str
    argv: tuple[str, ...]
    returncode: int | None  # None: the command could not be run at all (see error)
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0
    error: str | None = None
    # "exec", "libnftables", "python", "netlink" (collect/nfnl_chain.py) or "table-listing":
    # that command's output, cut from one listing of its whole table (collect/iptables.py)
    via: str = "exec"

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def display(self) -> str:
        return " ".join(self.argv)


class _Written:
    """The `stdout` of a DeferredRecord: written by its writer the first time it is read."""

    def __get__(self, rec: "DeferredRecord | None", owner: type | None = None) -> Any:
        if rec is None:
            return ""
        d = rec.__dict__
        if "stdout" not in d:
            d["stdout"] = d.pop("_write")()
        return d["stdout"]

    def __set__(self, rec: "DeferredRecord", value: Any) -> None:  # the dataclass __init__ sets it
        if value is not None:
            rec.__dict__["stdout"] = value


class DeferredRecord(CommandRecord):
    """A CommandRecord whose stdout is written the first time anything reads it: a chain of
    50,000 rules read over netlink is 15 MB of JSON text that only saved or bundled evidence
    reads (facts take the rules the collector typed: Evidence.typed). Equal to, and saved as,
    the CommandRecord with that text."""

    stdout = _Written()  # type: ignore[assignment]

    @classmethod
    def deferred(cls, key: str, argv: tuple[str, ...], write: Callable[[], str], **kw: Any) -> "DeferredRecord":
        rec = cls(key, argv, 0, None, **kw)  # type: ignore[arg-type]
        rec.__dict__["_write"] = write
        return rec

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CommandRecord):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in fields(CommandRecord))

    __hash__ = CommandRecord.__hash__


@dataclass(frozen=True)
class FileRecord:
    """One file as seen at `path` (the path on the inspected host, not under --root)."""

    path: str
    content: str | None  # None: absent or unreadable (see error)
    error: str | None = None

    @property
    def exists(self) -> bool:
        return self.content is not None


@dataclass
class Evidence:
    """What a collection read: its meta, the commands run and the files read, by key."""
    meta: dict[str, Any] = field(default_factory=dict)
    commands: dict[str, CommandRecord] = field(default_factory=dict)
    files: dict[str, FileRecord] = field(default_factory=dict)
    listings: dict[str, list[str] | None] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    # A live scan only: reads an anonymous nftables set when a packet check needs it and records
    # it (collect.nfnl_chain.SetFetcher). Never saved: saved evidence holds what was read.
    live_sets: Any = field(default=None, compare=False, repr=False)
    # A live scan only: chain listings the collector already typed, by command key, each with
    # the record whose text it was typed beside (collect/nft.py), so facts do not parse that
    # text back. Used only while that record is still the evidence's; never saved.
    typed: dict[str, tuple[CommandRecord, Any]] = field(default_factory=dict, compare=False, repr=False)

    # -- building -----------------------------------------------------------
    def add_command(self, rec: CommandRecord) -> CommandRecord:
        if not _KEY_RE.match(rec.key):
            raise ValueError(f"bad evidence key {rec.key!r}")
        self.commands[rec.key] = rec
        return rec

    def add_file(self, rec: FileRecord) -> FileRecord:
        self.files[rec.path] = rec
        return rec

    def add_error(self, unit: str, message: str) -> None:
        self.errors.append({"unit": unit, "message": message})

    # -- querying -----------------------------------------------------------
    def command(self, key: str) -> CommandRecord | None:
        return self.commands.get(key)

    def file(self, path: str) -> FileRecord | None:
        return self.files.get(path)

    def text(self, path: str) -> str | None:
        rec = self.files.get(path)
        return rec.content if rec else None

    def listing(self, directory: str) -> list[str] | None:
        return self.listings.get(directory)

    def files_in(self, directory: str, suffix: str = "") -> list[FileRecord]:
        names = self.listings.get(directory) or []
        out = []
        for name in sorted(names):
            if name.endswith(suffix):
                rec = self.files.get(f"{directory.rstrip('/')}/{name}")
                if rec is not None:
                    out.append(rec)
        return out

    # -- persistence --------------------------------------------------------
    def save(self, directory: str | os.PathLike[str]) -> Path:
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        (root / "commands").mkdir(exist_ok=True)
        (root / "files").mkdir(exist_ok=True)
        commands = []
        for rec in self.commands.values():
            entry = asdict(rec)
            entry["argv"] = list(rec.argv)
            for stream in ("stdout", "stderr"):
                name = f"commands/{rec.key}.{stream}"
                (root / name).write_text(entry.pop(stream), encoding="utf-8")
                entry[stream] = name
            commands.append(entry)
        files = []
        for rec in self.files.values():
            entry = {"path": rec.path, "error": rec.error, "stored": None}
            if rec.content is not None:
                stored = "files/" + _relative(rec.path)
                target = root / stored
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(rec.content, encoding="utf-8")
                entry["stored"] = stored
            files.append(entry)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "meta": self.meta,
            "commands": commands,
            "files": files,
            "listings": self.listings,
            "errors": self.errors,
        }
        (root / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        return root

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> "Evidence":
        root = Path(directory)
        where = f"evidence {root}"
        if os.path.lexists(root) and not root.is_dir():
            raise InputError(f"{root}: neither a directory saved by `scan --save-evidence` nor a bundle written by "
                             "`vnetmigrate bundle` (a gzip-compressed tar) nor a sos report (.tar.xz)")
        try:
            manifest = bounded.read_json(root / "manifest.json")
        except FileNotFoundError:
            raise InputError(f"{where}: no manifest.json (not a directory saved by --save-evidence)")
        except bounded.Unreadable as exc:
            raise InputError(f"{where}: manifest.json is unreadable: {exc.reason}")
        try:
            return cls._from_manifest(root, manifest)
        except (KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{where}: manifest.json is malformed: {exc!r}")
        except ValueError as exc:
            raise InputError(f"{where}: {exc}")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{where}: a stored file is unreadable: {exc}")

    @classmethod
    def _from_manifest(cls, root: Path, manifest: dict[str, Any]) -> "Evidence":
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError("not vnetmigrate evidence")
        version = manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(f"format_version {version!r} is not supported (expected {FORMAT_VERSION})")
        ev = cls(meta=dict(manifest["meta"]))
        for entry in manifest["commands"]:
            streams = {s: _read_stored(root, entry[s]) for s in ("stdout", "stderr")}
            rc = entry["returncode"]
            if rc is not None and (not isinstance(rc, int) or isinstance(rc, bool)):
                raise ValueError(f"returncode of {entry['key']!r} is not an integer")
            ev.add_command(CommandRecord(
                key=str(entry["key"]), argv=tuple(str(a) for a in entry["argv"]), returncode=rc,
                duration=float(entry["duration"]), error=entry.get("error"),
                via=str(entry.get("via", "exec")), **streams))
        for entry in manifest["files"]:
            path = str(entry["path"])
            if not path.startswith("/"):
                raise ValueError(f"file path {path!r} is not absolute")
            stored = entry.get("stored")
            content = _read_stored(root, stored) if stored is not None else None
            ev.add_file(FileRecord(path=path, content=content, error=entry.get("error")))
        for directory, names in dict(manifest["listings"]).items():
            if names is not None and not all(isinstance(n, str) and "/" not in n for n in names):
                raise ValueError(f"listing of {directory!r} is malformed")
            ev.listings[str(directory)] = names
        for err in manifest.get("errors", []):
            ev.add_error(str(err["unit"]), str(err["message"]))
        return ev


def _relative(path: str) -> str:
    parts = [p for p in PurePosixPath(path).parts if p not in ("/", "", ".", "..")]
    return "/".join(parts)


def _read_stored(root: Path, stored: str) -> str:
    if not isinstance(stored, str):
        raise ValueError("stored name is not a string")
    target = (root / stored).resolve()
    if not target.is_relative_to(root.resolve()):
        raise ValueError(f"stored path {stored!r} escapes the evidence directory")
    try:
        return bounded.read_text(target, bounded.DOCUMENT_LIMIT)  # a FIFO or device would block or never end
    except FileNotFoundError:
        raise ValueError(f"stored file {stored!r} is missing")
    except bounded.Unreadable as exc:
        raise ValueError(f"stored file {stored!r} {exc.reason}")
