"""Bounded reads: the one way vnetmigrate reads a file named by a user or found on a host.

Every path a user passes (`rules FILE`, `report FILE`, `scan --from DIR`) and every file read
from a host (configuration under --root, the state dir's journals and snapshots) can be
hostile or broken: a FIFO or character device that blocks or never ends (/dev/zero), a file
larger than any real one, JSON nested deep enough to overflow Python's recursion limit. So:

- only regular files are read, checked on the open descriptor (fstat), never on the path
  before opening (the path can change in between); the open itself never blocks (O_NONBLOCK);
- at most `limit` bytes are read, and a file longer than that is an error naming the file,
  never its first `limit` bytes passed on as if they were the whole file;
- JSON is parsed with a bound on nesting depth.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from typing import Any

from vnetmigrate.errors import InputError

MiB = 1024 * 1024
CONFIG_LIMIT = 16 * MiB      # a host's configuration file (network.conf, daemon.json, ...)
DOCUMENT_LIMIT = 256 * MiB   # a saved scan, evidence, a journal, a snapshot: what vnetmigrate wrote
JSON_DEPTH = 64              # the deepest a document vnetmigrate reads ever nests is about 20
_CHUNK = 65536               # one huge read() of a /proc/sys file fails with ENOMEM: read in chunks


class Unreadable(InputError):
    """A file that exists but cannot be read whole: `reason` says why, the message names it."""

    def __init__(self, path: str | os.PathLike[str], reason: str, errno_: int | None = None):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason
        self.errno = errno_


class NotRegular(Unreadable):
    """A directory, FIFO, socket or device where a regular file was expected."""


class TooLarge(Unreadable):
    """Longer than the limit: refused whole, never truncated."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _size(limit: int) -> str:
    return f"{limit // MiB} MiB" if limit % MiB == 0 else f"{limit} bytes"


def read_bytes(path: str | os.PathLike[str], limit: int, *, nofollow: bool = False,
               dir_fd: int | None = None) -> bytes:
    """The whole content of the regular file `path`, at most `limit` bytes.

    FileNotFoundError passes through (absent is an answer, not an error); everything else
    that stops a whole read is Unreadable. `nofollow`: a symbolic link as last component is
    refused (O_NOFOLLOW), for files in directories an attacker must not redirect.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (os.O_NOFOLLOW if nofollow else 0)
    try:
        fd = os.open(path, flags, dir_fd=dir_fd)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP and nofollow:
            raise NotRegular(path, "is a symbolic link, refused", exc.errno)
        raise Unreadable(path, exc.strerror or str(exc), exc.errno)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegular(path, f"is {_kind(mode)}, not a regular file",
                             errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise TooLarge(path, f"is larger than {_size(limit)}: refused rather than read in part")
    except OSError as exc:
        raise Unreadable(path, exc.strerror or str(exc), exc.errno)
    finally:
        os.close(fd)


def read_text(path: str | os.PathLike[str], limit: int, *, nofollow: bool = False) -> str:
    """read_bytes decoded as UTF-8; a file that is not UTF-8 is Unreadable (named, not guessed at)."""
    data = read_bytes(path, limit, nofollow=nofollow)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(path, f"is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})")


class TooDeep(ValueError):
    pass


def load_json(data: str | bytes, max_depth: int = JSON_DEPTH) -> Any:
    """json.loads with a bound on nesting: ValueError (json.JSONDecodeError or TooDeep) when it
    is not JSON or nests deeper than `max_depth` (`[` x 100000 would overflow the recursion
    limit of the parser and of every recursive walk after it)."""
    try:
        doc = json.loads(data)
    except RecursionError:
        raise TooDeep(f"nested deeper than {max_depth} levels")
    if (text_depth(data, max_depth) if _plain(data) else depth(doc)) > max_depth:
        raise TooDeep(f"nested deeper than {max_depth} levels")
    return doc


def _plain(data: str | bytes) -> bool:
    """Whether text_depth may read `data` as it is: text, or bytes json.loads reads as UTF-8
    (a multi-byte UTF-8 sequence holds no ASCII byte; UTF-16 and UTF-32 ones may)."""
    return isinstance(data, str) or json.detect_encoding(data) in ("utf-8", "utf-8-sig")


# Of a JSON text only its quotes and brackets are kept, and every bracket becomes ( or ).
_KEEP = b'"[]{}'
_DROP = bytes(c for c in range(256) if c not in _KEEP)
_PARENS = bytes.maketrans(b"[]{}", b"()()")


def text_depth(data: str | bytes, limit: int = JSON_DEPTH) -> int:
    """depth() of the document `data` holds, read from its text (`data` must be JSON that
    json.loads has read, as text or UTF-8): counted up to `limit` + 1.

    Escaped backslashes go first, then escaped quotes (left to right, as the parser reads
    them; a backslash appears only in strings); of the rest only quotes and brackets are
    kept; every other piece between two quotes is a string's. Each pass then takes away the
    empty pairs of what is left: one level of containers. All of it in C: a Python walk over
    every value took about as long as json.loads itself, and every run reads every journal
    of the state dir, thousands of values a record. tests/unit/test_json_depth.py compares
    both."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    kept = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(_PARENS, _DROP)
    # Two quotes side by side open and close a string without brackets, or close one and open
    # the next with none between: either way no bracket outside strings goes with them.
    kept = kept.replace(b'""', b"")
    skeleton = b"".join(kept.split(b'"')[::2]) if b'"' in kept else kept
    levels = 0
    while skeleton and levels <= limit:
        levels += 1
        skeleton = skeleton.replace(b"()", b"")
    return levels


def depth(doc: Any) -> int:
    """The nesting depth of a parsed JSON value (a scalar is 0), without recursion: level by
    level, each level's containers gathered by one comprehension per container (a walk with a
    stack entry per value took 2.5 times as long; a migration's journal records hold thousands)."""
    level = [doc] if isinstance(doc, (dict, list)) else []
    deepest = 0
    while level:
        deepest += 1
        below: list[Any] = []
        for value in level:
            below.extend([v for v in (value.values() if isinstance(value, dict) else value)
                          if isinstance(v, (dict, list))])
        level = below
    return deepest


def read_json(path: str | os.PathLike[str], limit: int = DOCUMENT_LIMIT, *, nofollow: bool = False,
              max_depth: int = JSON_DEPTH) -> Any:
    """A whole JSON document from a regular file: Unreadable (naming it) for anything else."""
    text = read_text(path, limit, nofollow=nofollow)
    try:
        return load_json(text, max_depth)
    except ValueError as exc:
        raise Unreadable(path, f"is not valid JSON: {exc}")


__all__ = ["CONFIG_LIMIT", "DOCUMENT_LIMIT", "JSON_DEPTH", "NotRegular", "TooDeep", "TooLarge", "Unreadable",
           "depth", "load_json", "read_bytes", "read_json", "read_text"]
