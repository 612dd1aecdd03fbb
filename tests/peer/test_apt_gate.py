"""The pre-upgrade gate in apt, for real: Debian 13 with libvirt 11.3 and the project's .deb
installed, the gate put in front of apt with `vnetmigrate gate install --apt`, and an upgrade to
trixie-backports' libvirt 12.9 run by apt itself.

The root is an overlay of the cached Debian 13 peer root (never written) and of the cached
layer of the .deb's apt installation (tests/peer/debroot.py installed_root). Real libvirt 11.3 runs
from it (PeerLibvirt) with the `default` network active; apt runs in a private mount namespace
inside the peer's network namespace, with the peer's /etc/libvirt, /run and /var/lib/libvirt
mounted where the root has them: the gate that apt calls is the packaged /usr/bin/vnetmigrate
reading that host (its daemon's files, its rules in the kernel). The backports packages come
from the local repository setup-peer.sh caches (/var/cache/vnetmigrate/peer/trixie-bpo-debs):
the upgrade needs no mirror.

- Planted blocker: network.conf now says `firewall_backend = "nftables"` (the running daemon,
  started before, is on iptables). The upgrade restarts libvirt, which then needs the kernel's
  act_csum for its nftables rules; this machine's kernel lacks it (HACKING.md's facts): the
  gate refuses and apt changes nothing.
- Healthy: network.conf unset (Debian's libvirt keeps iptables): the gate allows it and apt
  installs 12.9.

Then `apt-get remove vnetmigrate` goes through the hook (no libvirt in it: nothing to judge), and
the package's prerm removes the hook, which would otherwise break every later apt run.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.packaging_tree import OS_ENV
from tests.peer.cases import NETWORKS_DIR
from tests.peer.debroot import built_deb, installed_root
from tests.peer.libvirtd import PEER_CACHE, PeerLibvirt
from tests.peer.require import require_peer

pytestmark = pytest.mark.peer

BPO_DEBS = PEER_CACHE / "trixie-bpo-debs"
UPGRADE = ("libvirt-daemon-driver-network", "libvirt-daemon", "libvirt-clients")
OLD, NEW = "11.3.0-3+deb13u3", "12.9.0-1~bpo13+1"

# In a private mount namespace entered inside the peer's network namespace: the host's libvirt
# state where the root has it, /proc and a /sys of that namespace, the local repository; then
# apt with that repository as its only source (the root's other lists are kept, unused).
_UPGRADE_SCRIPT = r"""
set -eu
root=$1 state=$2 repo=$3; shift 3
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --rbind /dev "$root/dev"
for d in etc/libvirt var/lib/libvirt run; do mount --bind "$state/$d" "$root/$d"; done
mkdir -p "$root/srv/vnm-bpo"
mount --bind -o ro "$repo" "$root/srv/vnm-bpo"
echo 'deb [trusted=yes] file:/srv/vnm-bpo ./' > "$root/etc/apt/vnm-bpo.list"
O="-o Dir::Etc::SourceList=/etc/apt/vnm-bpo.list -o Dir::Etc::SourceParts=/nonexistent -o APT::Get::List-Cleanup=0"
chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C apt-get $O update -qq
exec chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive \
    apt-get $O install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
"""


def _upgrade(root: Path, peer: PeerLibvirt) -> subprocess.CompletedProcess:
    return subprocess.run(["nsenter", f"--net=/run/netns/{peer.netns}", "unshare", "--mount", "--propagation",
                           "private", "sh", "-c", _UPGRADE_SCRIPT, "upgrade", str(root), str(peer.state_dir),
                           str(BPO_DEBS), *UPGRADE],
                          capture_output=True, text=True, env=OS_ENV, stdin=subprocess.DEVNULL, timeout=300)


def _remove_vnetmigrate(root: Path) -> subprocess.CompletedProcess:
    """apt-get remove vnetmigrate: the hook sees a transaction without libvirt, the prerm removes it."""
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           'mount -t proc proc "$0/proc" && exec chroot "$0" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin '
                           'LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get remove -y -q vnetmigrate', str(root)],
                          capture_output=True, text=True, env=OS_ENV, stdin=subprocess.DEVNULL, timeout=120)


def _installed(root: Path) -> str:
    return subprocess.run(["chroot", str(root), "dpkg-query", "-W", "-f", "${Version}",
                           "libvirt-daemon-driver-network"], capture_output=True, text=True, check=True).stdout


def test_apt_refuses_the_libvirt_upgrade_on_a_blocked_host_and_installs_it_on_a_healthy_one(tmp_path):
    require_peer("11.3")
    if not (BPO_DEBS / "Packages").is_file():
        pytest.skip(f"{BPO_DEBS} is missing: run tests/peer/setup-peer.sh")
    deb, _ = built_deb(tmp_path)
    with installed_root(tmp_path / "overlay", deb) as (root, _apt_seconds):
        install = subprocess.run(["chroot", str(root), "vnetmigrate", "gate", "install", "--apt"],
                                 capture_output=True, text=True, env=OS_ENV)
        assert install.returncode == 0, install.stderr
        assert "written   /etc/apt/apt.conf.d/80vnetmigrate-gate" in install.stdout
        assert _installed(root) == OLD

        with PeerLibvirt("11.3", None, root=root) as peer:
            peer.define_and_start((NETWORKS_DIR / "default.xml").read_text())
            peer.set_backend("nftables")        # the planted blocker (see the docstring)
            start = time.monotonic()
            refused = _upgrade(root, peer)
            refused_s = time.monotonic() - start
            assert _installed(root) == OLD          # apt stopped before dpkg changed anything

            peer.set_backend(None)
            start = time.monotonic()
            allowed = _upgrade(root, peer)
            allowed_s = time.monotonic() - start
            assert allowed.returncode == 0, allowed.stdout[-3000:] + allowed.stderr
            assert _installed(root) == NEW
            version = peer.exec(["/usr/sbin/libvirtd", "--version"], check=True).stdout
        removed = _remove_vnetmigrate(root)
        assert removed.returncode == 0, removed.stdout + removed.stderr
        assert not (root / "etc/apt/apt.conf.d/80vnetmigrate-gate").exists()  # the prerm took the hook along
    print(f"apt upgrade refused in {refused_s:.1f} s, allowed and installed in {allowed_s:.1f} s", file=sys.stderr)
    print(refused.stdout[-1500:], refused.stderr[-1500:], file=sys.stderr)

    out = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert f"vnetmigrate gate: libvirt {OLD} -> {NEW}: refused (1 blocker after the upgrade to libvirt 12.9)" in out
    assert "[nftables-prerequisites]" in out and "to upgrade anyway: set policy = warn" in out
    assert "Unpacking" not in out                   # nothing was unpacked
    assert f"vnetmigrate gate: libvirt {OLD} -> {NEW}: allowed" in allowed.stdout
    assert f"Unpacking libvirt-daemon-driver-network ({NEW}) over ({OLD})" in allowed.stdout
    assert "12.9.0" in version
