"""The support bundle's archive: written deterministically, read back defensively.

A bundle is a gzip-compressed tar of regular files under one top directory::

    vnetmigrate-bundle/manifest.json      format, items collected, every other member's size and sha256
    vnetmigrate-bundle/evidence/...       the evidence scan reads (Evidence.save's layout)
    vnetmigrate-bundle/extra/...          what a support engineer asks for next
    vnetmigrate-bundle/scan.json, .html   the scan result

Members are sorted and their metadata normalised (mtime 0, uid/gid 0, mode 0600, no
directory entries; gzip's own mtime 0), so the same content makes the same bytes. A bundle
travels from a customer's host, so reading one trusts nothing: only regular files with plain
relative names under the top directory, each listed in the manifest with its checksum, within
size and count limits; anything else, and any corrupt or truncated archive, is one InputError.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import lzma
import os
import stat
import tarfile
import tempfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from vnetmigrate import bounded
from vnetmigrate.errors import InputError
from vnetmigrate.evidence import Evidence

FORMAT = "vnetmigrate-bundle"
FORMAT_VERSION = 1
TOP = "vnetmigrate-bundle"
MANIFEST = f"{TOP}/manifest.json"
EVIDENCE_DIR = f"{TOP}/evidence"
MAX_MEMBERS = 20000
MAX_MEMBER = 256 * 1024 * 1024
MAX_TOTAL = 1024 * 1024 * 1024  # all members, uncompressed
MAX_ARCHIVE = bounded.DOCUMENT_LIMIT  # the compressed archive itself
GZIP_MAGIC = b"\x1f\x8b"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def evidence_members(ev: Evidence) -> dict[str, bytes]:
    """Evidence in the layout `Evidence.load` reads, as archive members under EVIDENCE_DIR."""
    with tempfile.TemporaryDirectory(prefix="vnm-bundle-") as tmp:
        ev.save(tmp)
        out = {}
        for dirpath, _dirs, names in os.walk(tmp):
            for name in names:
                full = Path(dirpath) / name
                out[f"{EVIDENCE_DIR}/{full.relative_to(tmp).as_posix()}"] = full.read_bytes()
        return out


def write_bundle(path: Path, manifest: dict[str, Any], members: dict[str, bytes]) -> dict[str, Any]:
    """Write the archive (mode 0600, atomically); the manifest gains the members' checksums."""
    manifest = dict(manifest, format=FORMAT, format_version=FORMAT_VERSION,
                    members=[{"name": name, "size": len(data), "sha256": sha256(data)}
                             for name, data in sorted(members.items())])
    everything = {MANIFEST: (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode(), **members}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(everything, key=lambda n: (n != MANIFEST, n)):  # the manifest first
            data = everything[name]
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode, info.uid, info.gid = len(data), 0, 0o600, 0, 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0) as gz:
        gz.write(raw.getvalue())
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(packed.getvalue())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return manifest


def is_bundle(path: Path) -> bool:
    """A regular file starting like gzip (a FIFO or device is never opened for reading here)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and os.read(fd, 2) == GZIP_MAGIC
    except OSError:
        return False
    finally:
        os.close(fd)


def read_bundle(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and every member, checked; one InputError for anything wrong."""
    where = f"bundle {path}"
    try:
        members = _members(path, where)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(f"{where}: corrupt or truncated archive ({type(exc).__name__}: {_one_line(exc)})")
    except OSError as exc:
        raise InputError(f"{where}: cannot read: {exc.strerror or exc}")
    if MANIFEST not in members:
        raise InputError(f"{where}: no {MANIFEST} (not a bundle written by `vnetmigrate bundle`)")
    try:
        manifest = bounded.load_json(members.pop(MANIFEST).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, InputError) as exc:
        raise InputError(f"{where}: manifest.json is unreadable: {_one_line(exc)}")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"{where}: not a vnetmigrate bundle")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{where}: format_version {manifest.get('format_version')!r} is not supported "
                         f"(expected {FORMAT_VERSION})")
    listed = manifest.get("members")
    if not isinstance(listed, list) or not all(isinstance(m, dict) and isinstance(m.get("name"), str)
                                               for m in listed):
        raise InputError(f"{where}: manifest.json has no valid member list")
    by_name = {m["name"]: m for m in listed}
    for name in sorted(members):
        if name not in by_name:
            raise InputError(f"{where}: member {name!r} is not in the manifest")
        if by_name[name].get("sha256") != sha256(members[name]):
            raise InputError(f"{where}: member {name!r} does not match its checksum in the manifest")
    missing = sorted(set(by_name) - set(members))
    if missing:
        raise InputError(f"{where}: {len(missing)} member(s) of the manifest are missing, e.g. {missing[0]!r}")
    return manifest, members


def _members(path: Path, where: str) -> dict[str, bytes]:
    try:  # a regular file, never blocking, refused whole beyond the limit
        packed = bounded.read_bytes(path, MAX_ARCHIVE)
    except bounded.Unreadable as exc:
        raise InputError(f"{where}: {exc.reason}")
    out: dict[str, bytes] = {}
    total = 0
    with tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as tar:
        while (info := tar.next()) is not None:
            if len(out) >= MAX_MEMBERS:
                raise InputError(f"{where}: more than {MAX_MEMBERS} members")
            name = info.name
            if not info.isreg():
                kind = "link" if info.issym() or info.islnk() else "device file" if info.ischr() or info.isblk() \
                    else "directory" if info.isdir() else "special file"  # a FIFO, or a type tar does not know
                raise InputError(f"{where}: member {name!r} is a {kind}: a bundle holds regular files only")
            if not _safe_name(name):
                raise InputError(f"{where}: member {name!r} has an unsafe path")
            if name in out:
                raise InputError(f"{where}: member {name!r} appears twice")
            out[name], total = _member(tar, info, name, where, total)
    return out


def _member(tar: tarfile.TarFile, info: tarfile.TarInfo, shown: str, where: str, total: int) -> tuple[bytes, int]:
    """A regular member's bytes within the limits (`total`: the bytes read so far, returned grown)."""
    if info.size > MAX_MEMBER:
        raise InputError(f"{where}: member {shown!r} is larger than {MAX_MEMBER // 2**20} MiB")
    total += info.size
    if total > MAX_TOTAL:
        raise InputError(f"{where}: its contents exceed {MAX_TOTAL // 2**20} MiB")
    fh = tar.extractfile(info)
    data = fh.read() if fh is not None else b""
    if len(data) != info.size:
        raise EOFError("member shorter than its header says")
    return data, total


def read_members(path: Path, where: str, keep, max_members: int = MAX_MEMBERS) -> tuple[dict[str, bytes], set[str]]:
    """Another tool's archive (a sos report: gzip or xz) within the bundle's limits: the regular
    members `keep(name)` maps to a name, read into memory; the names of link members it maps
    (read never). Nothing is extracted to disk, so a member's path cannot escape anything."""
    try:
        packed = bounded.read_bytes(path, MAX_ARCHIVE)
    except bounded.Unreadable as exc:
        raise InputError(f"{where}: {exc.reason}")
    except OSError as exc:
        raise InputError(f"{where}: cannot read: {exc.strerror or exc}")
    out: dict[str, bytes] = {}
    links: set[str] = set()
    total = count = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(packed), mode="r:*") as tar:
            while (info := tar.next()) is not None:
                count += 1
                if count > max_members:
                    raise InputError(f"{where}: more than {max_members} members")
                name = keep(info.name)
                if name is None:
                    continue
                if info.issym() or info.islnk():
                    links.add(name)
                    continue
                if not info.isreg() or name in out:
                    continue
                out[name], total = _member(tar, info, info.name, where, total)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError) as exc:
        raise InputError(f"{where}: corrupt or truncated archive ({type(exc).__name__}: {_one_line(exc)})")
    return out, links


def _safe_name(name: str) -> bool:
    pure = PurePosixPath(name)
    return (not name.startswith("/") and "\\" not in name and "\0" not in name
            and pure.parts[:1] == (TOP,) and len(pure.parts) > 1
            and not any(p in ("..", ".", "") for p in name.split("/")))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def load_bundle_evidence(path: Path) -> Evidence:
    """The evidence of a bundle, through Evidence.load's own checks."""
    _manifest, members = read_bundle(path)
    prefix = EVIDENCE_DIR + "/"
    with tempfile.TemporaryDirectory(prefix="vnm-bundle-") as tmp:
        for name, data in members.items():
            if name.startswith(prefix):
                target = Path(tmp) / name[len(prefix):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        return Evidence.load(tmp)


def load_evidence(path: Path) -> Evidence:
    """Saved evidence: a directory written by --save-evidence, a bundle, or a sos report."""
    from vnetmigrate import sosreport

    if sosreport.is_sos(path):
        return sosreport.load(path)
    if path.is_file() and is_bundle(path):
        return load_bundle_evidence(path)
    return Evidence.load(path)
