"""Debian 13's real `sos report` on a host whose rules real libvirt 11.3 made, and Docker's.

    with sos_host(tmp_path, "nftables") as host:    # PeerLibvirt from the cached sos root
        archive = host.sos_report(tmp_path / "out")  # sosreport-*.tar.xz, made inside the peer
        live = host.scan()                           # vnetmigrate scan of the same peer

The peer runs from an overlay of the cached root setup-peer.sh builds with Debian's sosreport
package (trixie-sos-root, never written). The overlay adds only what a real Debian host has
and this machine's kernel lacks: /usr/lib/modules/RELEASE/modules.builtin naming nf_tables and
nfnetlink (built into this kernel, which ships no modules directory). sos decides from that
file whether nf_tables is loaded: without it, its firewall_tables plugin skips `nft list
ruleset` unless --allow-system-changes.

Also a command line that records a fresh report's relevant files under tests/data/sos:
    python -m tests.peer.sos record
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

from tests.peer.cases import NETWORKS_DIR
from tests.peer.debroot import overlay_root
from tests.peer.libvirtd import PEER_CACHE, PeerLibvirt
from tests.sandbox.fixtures import DOCKER_28

SOS_ROOT = PEER_CACHE / "trixie-sos-root"
SOS_STAMP = "vnm-peer-sos-root v1:"
DATA = Path(__file__).resolve().parents[1] / "data" / "sos"
REPO = Path(__file__).resolve().parents[2]
NETWORKS = ("default", "route", "nat-dual")
# The plugins whose files vnetmigrate reads (docs/sos-reports.md), and no others: a full
# report of every plugin takes minutes. Debian's sos enables firewalld, docker and ufw only
# where those are installed (the peer root has none of them).
PLUGINS = "networking,libvirt,firewall_tables,kernel,release,host,dpkg,systemd"
BACKENDS = ("nftables", None)  # None: network.conf leaves firewall_backend unset (Debian: iptables)


def unavailable_reason() -> str | None:
    stamp = SOS_ROOT / ".vnm-peer-stamp"
    if not stamp.is_file() or not stamp.read_text().startswith(SOS_STAMP):
        return f"no Debian 13 root with sos at {SOS_ROOT}: run tests/peer/setup-peer.sh"
    return None


class SosHost:
    def __init__(self, peer: PeerLibvirt):
        self.peer = peer

    def sos_report(self, out: Path) -> Path:
        """Run `sos report` inside the peer; the archive, copied to `out`."""
        inside = self.peer.state_dir / "run/vnm-sos"  # the peer's /run/vnm-sos
        inside.mkdir()
        proc = self.peer.exec(["sos", "report", "--batch", "--quiet", "--tmp-dir", "/run/vnm-sos",
                               "--only-plugins", PLUGINS], timeout=600)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        (archive,) = inside.glob("sosreport-*.tar.xz")
        out.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(archive, out / archive.name))

    def scan(self) -> tuple[int, dict]:
        proc = subprocess.run([sys.executable, "-m", "vnetmigrate", "scan", "--netns", self.peer.netns,
                               "--root", str(self.peer.state_dir), "--format", "json"],
                              capture_output=True, text=True, cwd=REPO)
        return proc.returncode, json.loads(proc.stdout)


@contextlib.contextmanager
def sos_host(work: Path, backend: str | None):
    with overlay_root(work / "overlay", base=SOS_ROOT) as root:
        builtin = root / f"usr/lib/modules/{os.uname().release}/modules.builtin"
        builtin.parent.mkdir(parents=True)
        builtin.write_text("kernel/net/netfilter/nfnetlink.ko\nkernel/net/netfilter/nf_tables.ko\n")
        with PeerLibvirt("11.3", backend, root=root) as peer:
            for name in NETWORKS:
                peer.define_and_start((NETWORKS_DIR / f"{name}.xml").read_text())
            # Docker 28's rules, as its daemon makes them through iptables-nft (FORWARD DROP)
            peer.exec(["iptables-nft-restore", "--noflush"], input=DOCKER_28, check=True)
            yield SosHost(peer)


def summary(code: int, doc: dict) -> dict:
    """What is compared: exit code, status, verdict, findings (id, severity, title)."""
    return {"exit_code": code, "status": doc["status"], "verdict": doc["data"]["verdict"],
            "findings": sorted([f["id"], f["severity"], f["title"]] for f in doc["data"]["findings"]),
            "errors": sorted(e["unit"] for e in doc["errors"])}


def record() -> None:
    """Record each backend's report (the files vnetmigrate reads) and the live scan beside it."""
    from vnetmigrate.sosreport import WANTED

    import tarfile
    import tempfile

    for backend in BACKENDS:
        name = f"11.3-{backend or 'unset'}-docker"
        with tempfile.TemporaryDirectory(prefix="vnm-sos-") as tmp, sos_host(Path(tmp), backend) as host:
            archive = host.sos_report(Path(tmp) / "out")
            code, live = host.scan()
            target = DATA / name
            shutil.rmtree(target, ignore_errors=True)
            top = target / "sosreport"
            with tarfile.open(archive) as tar:
                for member in tar.getmembers():
                    rel = "/".join(Path(member.name).parts[1:])
                    if not any(fnmatch(rel, w) for w in WANTED) or not (member.isreg() or member.issym()):
                        continue
                    dest = top / rel
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    if member.issym():
                        os.symlink(member.linkname, dest)
                    else:
                        dest.write_bytes(tar.extractfile(member).read())
            (target / "live-scan.json").write_text(json.dumps(summary(code, live), indent=1) + "\n")
            print(f"recorded {target}")


if __name__ == "__main__":
    if sys.argv[1:] != ["record"]:
        sys.exit("usage: python -m tests.peer.sos record")
    sys.exit(record())


def disagreements(live: dict, sos_code: int, sos: dict) -> list[str]:
    """How the analysis of a sos report differs from the live scan of that host (a summary()),
    beyond what sos did not collect; empty when it agrees. Where sos lacks a fact the finding
    must say "Cannot tell" (or the check must be skipped for facts sos did not collect), and
    the verdict may then only be less certain, never another answer."""
    out = []
    got = summary(sos_code, sos)
    if got["exit_code"] != live["exit_code"] and not (live["exit_code"] == 0 and got["exit_code"] == 3):
        out.append(f"exit code {got['exit_code']}, live {live['exit_code']}")
    if got["status"] != live["status"] and not (live["status"] == "ok" and got["status"] == "warnings"):
        out.append(f"status {got['status']}, live {live['status']}")
    live_by_id = {f[0]: f for f in live["findings"]}
    sos_by_id = {f[0]: f for f in got["findings"]}
    for fid, (_, severity, title) in live_by_id.items():
        mine = sos_by_id.get(fid)
        if mine is None:
            skipped = {s["check"]: s["reason"] for s in sos["data"]["skipped_checks"]}
            if fid not in skipped:
                out.append(f"{fid} ({severity}) is missing, and its check was not skipped")
        elif mine[1] != severity and not mine[2].startswith("Cannot tell"):
            out.append(f"{fid}: {mine[1]} {mine[2]!r}, live {severity} {title!r}")
    for fid, (_, severity, title) in sos_by_id.items():
        if fid not in live_by_id and not title.startswith("Cannot tell"):
            out.append(f"{fid} ({severity}) is not in the live scan: {title!r}")
    for err in sos["errors"]:
        if not err["message"].startswith("not collected: "):
            out.append(f"error {err['unit']}: {err['message']}")
    if live["exit_code"] == 0 and got["exit_code"] == 3 and "cannot tell" not in got["verdict"]:
        out.append(f"verdict {got['verdict']!r} where the live scan is ready")
    return out
