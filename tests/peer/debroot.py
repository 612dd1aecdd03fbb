"""The Debian package, built here and installed with apt into a throwaway Debian 13 root.

    deb = built_deb(tmp_path)                       # dpkg-buildpackage in a copy of the tree
    with overlay_root(tmp_path / "ov") as root:     # the cached peer root, writable, thrown away
        apt_install(root, deb)                      # apt resolves the Depends from Debian 13
        with PeerLibvirt("11.3", "nftables", root=root) as peer: ...

    with installed_root(tmp_path / "ov", deb) as (root, seconds):   # the same, apt's work cached

The cached peer root itself is never written: the root is an overlay whose lower layer is the
cached root and whose upper layer lives in the test's temporary directory. The built .deb is
cached per digest of the files it is made from (tests/packaging_tree.py), the .debs apt
downloads in a cache directory of their own, and the root with the .deb installed as an overlay
layer per .deb (installed_root); all under the peer cache's parent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.packaging_tree import OS_ENV, copy_source, inputs_hash
from tests.peer.libvirtd import PEER_CACHE, TRIXIE_ROOT

DEB_CACHE = PEER_CACHE.parent / "deb"
APT_ARCHIVES = PEER_CACHE.parent / "deb-test-apt-archives"
# The upper layer of `apt-get install the.deb` over the trixie root, kept per .deb and root.
INSTALLED_LAYERS = PEER_CACHE.parent / "deb-installed-layer"


def _run(argv, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, env=OS_ENV, stdin=subprocess.DEVNULL, **kw)


def built_deb(tmp: Path) -> tuple[Path, float | None]:
    """The .deb of this tree and the seconds its build took (None: it came from the cache)."""
    cached = DEB_CACHE / inputs_hash()
    found = sorted(cached.glob("vnetmigrate_*_all.deb"))
    if found:
        return found[0], None
    if shutil.which("dpkg-buildpackage", path=OS_ENV["PATH"]) is None:
        pytest.skip("dpkg-buildpackage is missing (./bootstrap test installs dpkg-dev)")
    src = copy_source(tmp / "src")
    unmet = _run(["dpkg-checkbuilddeps"], cwd=src)
    if unmet.returncode != 0:
        pytest.skip(f"the Debian package's build dependencies are missing (./bootstrap test installs them): "
                    f"{unmet.stderr.strip()}")
    start = time.monotonic()
    proc = _run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, timeout=600)
    seconds = time.monotonic() - start
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    (deb,) = tmp.glob("vnetmigrate_*_all.deb")
    # One cached build at a time: older trees' packages are of no further use.
    if DEB_CACHE.is_dir():
        shutil.rmtree(DEB_CACHE)
    staging = DEB_CACHE / f".{cached.name}.{os.getpid()}"
    staging.mkdir(parents=True)
    shutil.copy2(deb, staging / deb.name)
    staging.rename(cached)
    return cached / deb.name, seconds


@contextlib.contextmanager
def overlay_root(work: Path, base: Path | str = TRIXIE_ROOT):
    """A writable root whose writes land in `work` (an overlay over `base`, which may list
    several lower layers, top first, separated by ':'), removed after."""
    upper, scratch, merged = work / "upper", work / "work", work / "root"
    for d in (upper, scratch, merged):
        d.mkdir(parents=True)
    proc = _run(["mount", "-t", "overlay", "overlay", "-o",
                 f"lowerdir={base},upperdir={upper},workdir={scratch}", str(merged)])
    if proc.returncode != 0:
        pytest.skip(f"cannot mount an overlay of the peer root here: {proc.stderr.strip()}")
    try:
        yield merged
    finally:
        if _run(["umount", str(merged)]).returncode != 0:
            _run(["umount", "--lazy", str(merged)])
        shutil.rmtree(work, ignore_errors=True)


# Runs in a private mount namespace: /proc, /dev and the archive cache are mounted into the
# root only for apt, and vanish with it. The policy-rc.d keeps any maintainer script from
# starting a service (nothing here runs an init system anyway).
_APT_SCRIPT = r"""
set -eu
root=$1 deb=$2 archives=$3
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --bind "$archives" "$root/var/cache/apt/archives"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp "$deb" "$root/tmp/"
chroot "$root" apt-get update -qq
chroot "$root" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "/tmp/$(basename "$deb")"
"""


def apt_install(root: Path, deb: Path) -> tuple[str, float]:
    """`apt-get install ./the.deb` inside root (Debian 13's mirror resolves its Depends).
    Returns apt's output and the seconds it took."""
    (APT_ARCHIVES / "partial").mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    proc = _run(["unshare", "--mount", "--propagation", "private", "sh", "-c", _APT_SCRIPT, "apt",
                 str(root), str(deb), str(APT_ARCHIVES)], timeout=600)
    assert proc.returncode == 0, f"apt-get install of {deb.name} in Debian 13 failed:\n{proc.stdout}{proc.stderr}"
    return proc.stdout + proc.stderr, time.monotonic() - start


def _layer_key(deb: Path) -> str:
    import hashlib

    stamp = (TRIXIE_ROOT / ".vnm-peer-stamp").read_bytes()
    return f"{deb.parent.name}-{hashlib.sha256(stamp).hexdigest()[:12]}"


@contextlib.contextmanager
def installed_root(work: Path, deb: Path):
    """A writable Debian 13 root with the .deb installed by apt, and the seconds apt took (None:
    the installation came from the cache). The installation is done once per .deb (and trixie
    root): its overlay's upper layer is kept under INSTALLED_LAYERS and used, read-only, as the
    middle layer of every later overlay (lowerdir=layer:trixie-root), as container images stack
    theirs. The three layers used last are kept (trees tested side by side on one machine each
    have their own .deb); older ones go."""
    layer = INSTALLED_LAYERS / _layer_key(deb)
    seconds = None
    if not (layer / "upper").is_dir():
        staging = INSTALLED_LAYERS / f".{layer.name}.{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        with overlay_root(staging / "build") as root:
            _log, seconds = apt_install(root, deb)
            # the overlay's upper layer, moved out before overlay_root removes the build directory
            _run(["umount", str(root)])
            os.rename(staging / "build" / "upper", staging / "upper")
            (staging / "build" / "root").mkdir(exist_ok=True)
        try:
            staging.rename(layer)
        except OSError:  # another run made the same layer meanwhile
            shutil.rmtree(staging, ignore_errors=True)
    os.utime(layer)
    kept = sorted((d for d in INSTALLED_LAYERS.iterdir() if not d.name.startswith(".")),
                  key=lambda d: d.stat().st_mtime, reverse=True)
    for old in kept[3:]:
        shutil.rmtree(old, ignore_errors=True)
    with overlay_root(work, base=f"{layer / 'upper'}:{TRIXIE_ROOT}") as root:
        yield root, seconds
