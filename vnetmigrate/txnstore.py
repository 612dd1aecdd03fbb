"""The transaction store as it lies on disk, read-only: where it is, which transactions it holds,
what each journal says. Scan's collector reads it (vnetmigrate.collect.txnstate) and so does
the transaction engine (vnetmigrate.txn.statedir, vnetmigrate.txn.journal, which also write it).

    STATE_DIR/txn/<id>/journal.jsonl  the append-only journal of one transaction
    STATE_DIR/txn/<id>/summary.json   a finished journal's records without the steps' data,
                                      and which journal it summarises (`sealed`)

Reading takes no lock and writes nothing. A state dir another user could have changed is
refused (`trusted`): root follows what a journal says. Files are read with
vnetmigrate.bounded, without following symbolic links.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import time
from dataclasses import field
from pathlib import Path
from typing import Any

from vnetmigrate import bounded
from vnetmigrate.dataclass_code import dataclass
from vnetmigrate.errors import VnmError

DEFAULT = "/var/lib/vnetmigrate"
TXN = "txn"
JOURNAL = "journal.jsonl"
SEALED = "summary.json"
SEALED_VERSION = 1
_ID = re.compile(r"^(\d{8}T\d{6})(?:\.(\d{6}))?Z-")
RECORD_KINDS = {"begin", "snapshot", "intent", "done", "failed", "rollback", "undoing", "undone", "undo-failed",
                "commit", "rolled-back", "rollback-failed"}
TERMINAL = {"commit": "committed", "rolled-back": "rolled-back", "rollback-failed": "needs-attention"}


def default_dir(root: str | os.PathLike[str] = "/") -> Path:
    """The state directory of the host whose files live under `root`."""
    return Path(root) / DEFAULT.lstrip("/")


def id_micros(txn_id: str) -> int | None:
    """The time (microseconds since the epoch) an id names; None for a name that is no id."""
    m = _ID.match(txn_id)
    seconds = _utc_seconds(m.group(1)) if m else None
    if m is None or seconds is None:
        return None
    return seconds * 1_000_000 + int(m.group(2) or 0)


def _utc_seconds(stamp: str) -> int | None:
    """calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%S")), None where strptime refuses it.

    A plain time of ASCII digits is computed here: time.strptime imports _strptime, calendar
    and locale (~5 ms of every migrate's start-up, for the ids of the state dir); anything
    else (a leap second, other digits) goes through strptime itself."""
    from datetime import date

    if stamp.isascii():
        year, month, day = int(stamp[:4]), int(stamp[4:6]), int(stamp[6:8])
        hour, minute, second = int(stamp[9:11]), int(stamp[11:13]), int(stamp[13:15])
        if hour < 24 and minute < 60 and second < 60:
            try:
                days = date(year, month, day).toordinal() - _EPOCH_ORDINAL
            except ValueError:
                days = None
            if days is not None:
                return days * 86400 + hour * 3600 + minute * 60 + second
    import calendar

    try:
        return calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%S"))
    except ValueError:
        return None


_EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()


class StateDirError(VnmError):
    """The state directory cannot be used: missing permissions, not a directory, full, locked."""


class JournalCorrupt(StateDirError):
    pass


class JournalNeverBegan(JournalCorrupt):
    """Not one whole record: the run was killed between creating the journal and writing its
    begin record, before any change (the begin record precedes every step)."""


def explain(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on its filesystem"
    if exc.errno == errno.EROFS:
        return "its filesystem is read-only"
    return exc.strerror or str(exc)


def _owners() -> set[int]:
    return {0, os.geteuid()}


_HINT = "use a state dir only root can change (choose another with --state-dir DIR)"


def trusted(path: str | os.PathLike[str]) -> None:
    """Refuse (StateDirError) a state dir that another user could change.

    It and every directory above it up to / must be owned by root (or the user running
    vnetmigrate), none writable by group or others (above the state dir, unless sticky, like
    /tmp), and no symbolic link on the way owned by anyone else: otherwise another user could
    replace a journal (and so what a rollback writes) or plant a link where root then writes.
    Checked from / down, component by component with lstat (a link is judged as a link, then
    where it leads); stops at the first component that does not exist yet (what is created
    below a trusted directory is created by us).
    """
    try:
        _trusted_chain(os.path.abspath(path), Path(path), depth=0)
    except OSError as exc:
        raise StateDirError(f"state dir {path} cannot be checked: {explain(exc)}", hint=_HINT)


def _trusted_chain(absolute: str, named: Path, depth: int) -> None:
    if depth > 8:
        raise StateDirError(f"state dir {named}: too many symbolic links on the way")
    current = "/"
    parts = [p for p in absolute.split("/") if p]
    _check_dir(current, os.lstat(current), named, last=not parts)
    for i, part in enumerate(parts):
        nxt = os.path.join(current, part)
        try:
            st = os.lstat(nxt)
        except FileNotFoundError:
            return
        last = i == len(parts) - 1
        if stat.S_ISLNK(st.st_mode):
            if st.st_uid not in _owners():
                raise StateDirError(f"state dir {named} is not safe: {nxt} is a symbolic link owned by uid "
                                    f"{st.st_uid}", hint=_HINT)
            # The link is ours: judge where it leads, and the rest of the path from there.
            _trusted_chain(os.path.join(os.path.realpath(nxt), *parts[i + 1:]), named, depth + 1)
            return
        if not stat.S_ISDIR(st.st_mode):
            return  # not a directory: readable and StateDir.ensure say so in their own words
        _check_dir(nxt, st, named, last)
        current = nxt


def _check_dir(path: str, st: os.stat_result, named: Path, last: bool) -> None:
    if st.st_uid not in _owners():
        raise StateDirError(f"state dir {named} is not safe: {path} is owned by uid {st.st_uid}, not root",
                            hint=_HINT)
    writable = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if writable and (last or not st.st_mode & stat.S_ISVTX):
        who = "group and others" if st.st_mode & stat.S_IWGRP and st.st_mode & stat.S_IWOTH else \
            "its group" if st.st_mode & stat.S_IWGRP else "others"
        raise StateDirError(f"state dir {named} is not safe: {path} is writable by {who} "
                            f"(mode {stat.S_IMODE(st.st_mode):04o})", hint=_HINT)


def readable(path: Path) -> bool:
    """Whether there is anything to read (history, scan and rollback never create the directory).

    A path that exists but is no directory is an error, not an empty state dir; one that
    another user could change is refused (`trusted`).
    """
    txn_root = path / TXN
    trusted(path)
    trusted(txn_root)
    if txn_root.is_dir():
        return True
    for p in (path, txn_root):
        if p.exists() and not p.is_dir():
            raise StateDirError(f"state dir {path} is not a directory" if p == path else
                                f"{p} is not a directory", hint="choose another with --state-dir DIR")
    return False


def txn_dirs(path: Path) -> list[Path]:
    """Transaction directories of the state dir `path`, oldest first."""
    if not readable(path):
        return []
    txn_root = path / TXN
    try:
        names = os.listdir(txn_root)
    except OSError as exc:
        raise StateDirError(f"cannot list {txn_root}: {explain(exc)}")
    dirs = [txn_root / n for n in names if not (txn_root / n).is_symlink() and (txn_root / n / JOURNAL).exists()]
    return sorted(dirs, key=_age)


def _age(directory: Path) -> tuple[int, float, str]:
    """Sort key: the id's time; for ids with whole seconds (earlier versions), then the begin
    record's time (milliseconds); then the name."""
    micros = id_micros(directory.name)
    begun = 0.0
    if micros is not None and "." not in directory.name.split("Z-", 1)[0]:
        try:
            first = bounded.read_bytes(directory / JOURNAL, bounded.DOCUMENT_LIMIT, nofollow=True)
            begun = float(bounded.load_json(first.split(b"\n", 1)[0]).get("time") or 0)
        except (OSError, ValueError, TypeError, AttributeError, VnmError):
            pass
    return (micros if micros is not None else -1, begun, directory.name)


@dataclass
class Summary:
    """What a journal says about its transaction."""

    id: str
    path: Path
    begin: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)
    # Read from the journal's sealed summary: its intent records lack the steps' data ("do"),
    # which only rolling back reads (`read(..., full=True)`).
    sealed: bool = False

    @property
    def status(self) -> str:
        """The last outcome recorded; "incomplete" when none, or when a rollback started after
        it and never finished (a rollback of a committed transaction killed half-way leaves the
        host between the two states: it is interrupted like a migration, and resumed the same way)."""
        for rec in reversed(self.records):
            if rec["rec"] in TERMINAL:
                return TERMINAL[rec["rec"]]
            if rec["rec"] == "rollback":
                return "incomplete"
        return "incomplete"

    @property
    def incomplete(self) -> bool:
        return self.status == "incomplete"

    @property
    def started_steps(self) -> list[int]:
        return [r["step"] for r in self.records if r["rec"] == "intent"]

    def intent(self, step: int) -> dict[str, Any]:
        return next(r for r in self.records if r["rec"] == "intent" and r["step"] == step)

    def done(self, step: int) -> dict[str, Any] | None:
        return next((r for r in self.records if r["rec"] == "done" and r["step"] == step), None)

    def to_dict(self) -> dict[str, Any]:
        b = self.begin
        errors = [r.get("error") for r in self.records if r["rec"] in ("failed", "undo-failed") and r.get("error")]
        return {"id": self.id, "status": self.status, "command": b.get("command"), "title": b.get("title"),
                "started": b.get("time"), "ended": self.records[-1]["time"] if self.status != "incomplete" else None,
                "steps": b.get("steps"), "steps_started": len(self.started_steps),
                "steps_done": sum(1 for r in self.records if r["rec"] == "done"),
                "pid": b.get("pid"), "netns": b.get("netns"), "root": b.get("root"), "errors": errors}


# Journals parsed in this process, by path and content: tidy, recover and scan's transaction
# facts each read every journal of the state dir, and the JSON of a migration's journal (its
# steps' commands) is what costs: 0.1 s a read at 500 networks. Reading the bytes is cheap;
# the same bytes give the same records (which their readers never change).
_PARSED: dict[tuple[str, bytes], Summary] = {}


def read(directory: Path, full: bool = False) -> Summary:
    """What the transaction's journal says. A finished journal's sealed summary serves instead
    while it is that journal's (`sealed`), unless `full`: the steps' data too."""
    path = directory / JOURNAL
    if not full:
        summary = sealed(directory)
        if summary is not None:
            return summary
    try:
        data = bounded.read_bytes(path, bounded.DOCUMENT_LIMIT, nofollow=True)
    except FileNotFoundError as exc:
        raise JournalCorrupt(f"cannot read the journal {path}: {explain(exc)}")
    except bounded.Unreadable as exc:
        raise JournalCorrupt(f"cannot read the journal {exc.message}",
                             hint="nothing was changed; move that transaction directory aside after checking "
                                  "the host by hand")
    key = (str(path), data)  # the bytes themselves: hashlib's import costs more than hashing them
    if key not in _PARSED:
        _PARSED[key] = _parse(directory, path, data)
    return _PARSED[key]


def _parse(directory: Path, path: Path, data: bytes) -> Summary:
    lines = data.split(b"\n")
    if lines and lines[-1] != b"":
        lines = lines[:-1]  # torn tail: never acknowledged
    records = []
    for n, raw in enumerate(lines, 1):
        if not raw:
            continue
        try:
            rec = _checked(bounded.load_json(raw))
        except (ValueError, UnicodeDecodeError) as exc:
            raise JournalCorrupt(f"journal {path} is corrupt at line {n}: {exc}",
                                 hint="nothing was changed; move that transaction directory aside after "
                                      "checking the host by hand")
        records.append(rec)
    if not records:
        raise JournalNeverBegan(f"journal {path} holds no record: its transaction never began",
                                hint="the next `vnetmigrate migrate` or `rollback` sets it aside")
    if records[0]["rec"] != "begin":
        raise JournalCorrupt(f"journal {path} is corrupt: it does not start with a begin record",
                             hint="nothing was changed; move that transaction directory aside after checking "
                                  "the host by hand")
    return Summary(id=directory.name, path=directory, begin=records[0], records=records)


def _checked(rec: Any) -> dict[str, Any]:
    """`rec` when it is a journal record; ValueError otherwise."""
    if not isinstance(rec, dict) or rec.get("rec") not in RECORD_KINDS:
        raise ValueError("not a journal record")
    if rec["rec"] in ("intent", "done", "failed", "undoing", "undone", "undo-failed") and not isinstance(rec.get("step"), int):
        raise ValueError("record without a step number")
    return rec


# A finished transaction's journal changes again only when a rollback of it appends, yet every
# migrate, rollback, repair and scan reads every journal of the state dir: ~2.5 ms a migration
# of 100 networks, more than 10 ms one of 500, paid again by every run as the history grows.
# Nearly all of a journal's bytes are its steps' data (the intents' "do"), which only rolling
# back reads. Once a journal is finished, the next command holding the state dir's lock writes
# summary.json beside it (txn/journal.py `seal`): its records without that data, and the
# journal's device, inode, size and times. While the journal is still that file, unchanged (any
# write moves its inode change time, which nothing but the clock can set back), the summary is
# read instead; anything else about it (missing, malformed, another journal's) and the journal is.


def journal_identity(path: Path) -> list[int] | None:
    """What a sealed summary records of its journal: device, inode, size, modification and
    inode-change times (ns). None when it is not a regular file."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def sealed_text(summary: Summary, identity: list[int]) -> str | None:
    """The sealed summary of a fully read, finished journal (None for one still running)."""
    if summary.sealed or summary.incomplete:
        return None
    records = [{k: v for k, v in r.items() if k != "do"} if r["rec"] == "intent" else r for r in summary.records]
    return json.dumps({"version": SEALED_VERSION, "journal": identity, "records": records},
                      sort_keys=True, separators=(",", ":")) + "\n"


def sealed(directory: Path) -> Summary | None:
    """The journal's sealed summary while it is that journal's and well formed; else None
    (the journal is read: it says what is wrong with it, if anything)."""
    identity = journal_identity(directory / JOURNAL)
    path = directory / SEALED
    if identity is None or not os.path.lexists(path):
        return None
    try:
        doc = bounded.read_json(path, nofollow=True)
        if not isinstance(doc, dict) or doc.get("version") != SEALED_VERSION or doc.get("journal") != identity:
            return None
        records = doc.get("records")
        if not isinstance(records, list) or not records:
            return None
        records = [_checked(r) for r in records]
    except (OSError, ValueError, VnmError):
        return None
    if records[0]["rec"] != "begin":
        return None
    summary = Summary(id=directory.name, path=directory, begin=records[0], records=records, sealed=True)
    return None if summary.incomplete else summary
