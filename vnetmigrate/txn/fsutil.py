"""Durable file operations: atomic replace, fsync of files and directories, space reservation."""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path
from typing import Callable

FALLOC_FL_KEEP_SIZE = 1


class OutsideRoot(ValueError):
    """A path (from a journal) that would lead outside the root its transaction recorded."""


def under_root(root: str | os.PathLike[str], path: str, realpath: Callable[[str], str] = os.path.realpath) -> Path:
    """`path` (absolute, on the host) as a path under `root`, refusing any way out of it:
    `..` components, and symbolic links (in the directories leading to it) that resolve
    outside `root`. A journal is data: a crafted one must not make a rollback write elsewhere.
    `realpath`: os.path.realpath, or a copy remembering its answers (for many files of one
    directory, read in one go: snapshot.read_files)."""
    if not isinstance(path, str) or not path.startswith("/") or "\0" in path:
        raise OutsideRoot(f"{path!r} is not an absolute path")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise OutsideRoot(f"{path!r} leads outside --root {root}")
    base = Path(realpath(os.fspath(root)))
    target = Path(root, *parts)
    if not Path(realpath(os.fspath(target.parent))).is_relative_to(base):
        raise OutsideRoot(f"{path!r} leads outside --root {root} (through a symbolic link)")
    return target


def fsync_dir(path: str | os.PathLike[str]) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], content: str, mode: int | None = None, durable: bool = True) -> None:
    """Replace `path` with `content`: temp file in the same directory, fsync, rename, fsync dir.

    A crash leaves either the old or the new file, never a mix. The old file's mode is kept
    unless `mode` says otherwise. Not `durable`: no fsync, for a file whose loss costs only
    time and whose reader rejects what a crash can leave of it (empty, cut short).
    """
    target = Path(path)
    if mode is None:
        try:
            mode = os.stat(target).st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
    fd, tmp = _temp_beside(target)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
            if durable:
                os.fsync(fh.fileno())
        os.rename(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if durable:
        fsync_dir(target.parent)


def _temp_beside(target: Path) -> tuple[int, str]:
    """A new file `.NAME.RANDOM.vnm-tmp` beside `target`, open for writing, mode 0600: what
    tempfile.mkstemp(prefix=".NAME.", suffix=".vnm-tmp", dir=target's directory) makes, without
    importing tempfile (its shutil loads the compression modules: ~5 ms of every migrate)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(100):
        tmp = os.path.join(target.parent, f".{target.name}.{os.urandom(6).hex()}.vnm-tmp")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary file name", str(target.parent))


def remove_durably(path: str | os.PathLike[str]) -> bool:
    """Remove `path` if it exists (fsync its directory); False when it was already gone."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    fsync_dir(Path(path).parent)
    return True


def reserve(fd: int, size: int) -> None:
    """Allocate `size` bytes for an append-only file without changing its length.

    The journal's records are then written into space the filesystem already granted, so a
    state dir that fills up during a transaction cannot stop its journal (tmpfs, ext4, xfs
    and btrfs support this; where it is unsupported the reservation is skipped).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.fallocate(fd, FALLOC_FL_KEEP_SIZE, ctypes.c_long(0), ctypes.c_long(size)) != 0:
        err = ctypes.get_errno()
        if err in (95, 22):  # EOPNOTSUPP, EINVAL: filesystem without fallocate
            return
        raise OSError(err, os.strerror(err))
