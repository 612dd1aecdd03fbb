"""`vnetmigrate scan --netns --root` against lab hosts: its verdict matches what packets do.

The CLI runs as a real subprocess, as a user would run it, against the lab's host namespace
and a temporary root holding the files the scenario needs (network.conf, the network's
definition and status file, Docker's daemon.json, os-release).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.unit.schema_check import valid_envelope
from vnetmigrate.exitcodes import ExitCode
from tests.sandbox import fixtures, rules

pytestmark = pytest.mark.lab
LOST = 0.25

NETWORK_XML = textwrap.dedent("""\
    <network>
      <name>default</name>
      <uuid>9b4d0c24-4e7a-4b8e-9d9a-6c1f1f7d0a01</uuid>
      <forward mode='nat'>
        <nat>
          <port start='1024' end='65535'/>
        </nat>
      </forward>
      <bridge name='virbr0' stp='on' delay='0'/>
      <mac address='52:54:00:3a:5e:01'/>
      <ip address='192.168.122.1' netmask='255.255.255.0'>
        <dhcp>
          <range start='192.168.122.2' end='192.168.122.254'/>
        </dhcp>
      </ip>
    </network>
    """)


FEDORA_41 = 'ID=fedora\nVERSION_ID=41\nPRETTY_NAME="Fedora Linux 41"\n'


def make_root(base: Path, backend: str, docker: bool, os_release: str = FEDORA_41, pinned: bool = True,
              libvirt: str | None = None) -> Path:
    """A filesystem root as a host with libvirt's default network active under `backend`
    (`pinned`: firewall_backend set in network.conf; `libvirt`: its release, as the file name of
    its library tells it, e.g. "10.6.0")."""
    files = {
        "etc/os-release": os_release,
        "etc/libvirt/network.conf": f'# lab\nfirewall_backend = "{backend}"\n' if pinned else "# as shipped\n",
        "etc/libvirt/qemu/networks/default.xml": NETWORK_XML,
        "etc/libvirt/qemu/networks/autostart/default.xml": NETWORK_XML,
        "run/libvirt/network/default.xml": (
            "<networkstatus>\n" + NETWORK_XML +
            f"<firewall name='fwRemoval' backend='{backend}'><group ignoreErrors='yes'/></firewall>\n"
            "</networkstatus>\n"),
    }
    if docker:
        files["etc/docker/daemon.json"] = "{}\n"
    if libvirt:
        major, minor, micro = map(int, libvirt.split("."))
        files[f"usr/lib64/libvirt.so.0.{major * 1000 + minor}.{micro}"] = ""
    for rel, text in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return base


def scan(lab, root: Path) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "vnetmigrate", "scan", "--netns", lab.host,
                           "--root", str(root), "--format", "json"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.stdout, proc.stderr
    doc = valid_envelope(proc.stdout)
    assert proc.returncode == doc["exit_code"]
    return proc.returncode, doc


# The lab runs on this machine's kernel, which lacks act_csum: with the nftables backend scan
# rightly reports that as a blocker of its own (nftables-prerequisites). The tests below judge
# the other blockers.
KERNEL_BLOCKERS = {"nftables-prerequisites"}


def other_blockers(doc: dict) -> list[dict]:
    return [f for f in doc["data"]["findings"] if f["severity"] == "blocker" and f["id"] not in KERNEL_BLOCKERS]


def finding(doc: dict, fid: str) -> dict | None:
    return next((f for f in doc["data"]["findings"] if f["id"] == fid), None)


def kernel_state(lab) -> tuple:
    return lab.ruleset(counters=False), rules.legacy_tables(lab.host)


def test_nftables_backend_with_docker_drop_is_a_blocker_and_its_first_fix_works(lab, tmp_path):
    lab.iptables_restore(fixtures.DOCKER_28)
    lab.nft(fixtures.libvirt_nftables())
    assert not lab.ping(timeout=LOST).ok and not lab.tcp(timeout=LOST).ok

    code, doc = scan(lab, make_root(tmp_path, "nftables", docker=True))
    assert code == ExitCode.BLOCKERS and doc["exit_code"] == ExitCode.BLOCKERS, doc["data"]["findings"]
    blocker = finding(doc, "docker-forward-drop")
    assert blocker is not None and blocker["severity"] == "blocker", doc["data"]["findings"]

    commands = blocker["workarounds"][0]["commands"]
    assert commands, blocker
    for command in commands:  # exactly what the report tells the admin to run, on this host
        lab.run(shlex.split(command))
    assert lab.ping().ok and lab.tcp().ok and lab.udp().ok


def test_rescan_after_the_docker_user_fix_reports_no_blocker(lab, tmp_path):
    lab.iptables_restore(fixtures.DOCKER_28)
    lab.nft(fixtures.libvirt_nftables())
    for argv in fixtures.DOCKER_USER_WORKAROUND:
        lab.iptables(*argv)
    assert lab.ping().ok and lab.tcp().ok
    code, doc = scan(lab, make_root(tmp_path, "nftables", docker=True))
    assert not other_blockers(doc), other_blockers(doc)
    assert finding(doc, "docker-forward-drop")["severity"] == "info"  # said to be worked around


def test_iptables_backend_with_docker_drop_flows_and_is_no_blocker(lab, tmp_path):
    lab.iptables_restore(fixtures.DOCKER_28)
    lab.iptables_restore(fixtures.libvirt_iptables_v4())
    lab.iptables_restore(fixtures.libvirt_iptables_v6(), family=6)
    assert lab.ping().ok and lab.tcp().ok

    code, doc = scan(lab, make_root(tmp_path, "iptables", docker=True))
    blockers = [f for f in doc["data"]["findings"] if f["severity"] == "blocker"]
    assert not blockers and code != ExitCode.BLOCKERS, blockers
    assert doc["data"]["summary"]["blocker"] == 0


# With legacy tables holding libvirt's CHECKSUM rule: reading that rule through python-iptables
# created every other legacy table (the reason scan reads legacy tables with iptables-legacy-save).
@pytest.mark.parametrize("legacy", [False, True], ids=["no-legacy-tables", "legacy-tables"])
def test_scan_changes_nothing_in_the_kernel(lab, tmp_path, legacy):
    lab.iptables_restore(fixtures.DOCKER_28)
    lab.nft(fixtures.libvirt_nftables())
    if legacy:  # a host where some tool still uses legacy x_tables
        lab.iptables_restore(fixtures.libvirt_iptables_v4(), legacy=True)
    before = kernel_state(lab)
    assert bool(before[1]["ip_tables_names"]) == legacy
    assert before[1]["ip6_tables_names"] == []
    scan(lab, make_root(tmp_path, "nftables", docker=True))
    assert kernel_state(lab) == before


def test_scan_of_another_root_executes_nothing_of_it_and_reads_libvirts_version_from_its_library(lab, tmp_path):
    root = make_root(tmp_path / "root", "nftables", docker=False)
    marker = tmp_path / "executed"
    for path in ("usr/sbin/libvirtd", "usr/sbin/virtnetworkd"):
        planted = root / path
        planted.parent.mkdir(parents=True, exist_ok=True)
        planted.write_text(f"#!/bin/sh\ntouch {marker}\necho 'libvirtd (libvirt) 99.0.0'\n")
        planted.chmod(0o755)
    lib = root / "usr/lib64/libvirt.so.0.11003.0"
    lib.parent.mkdir(parents=True)
    lib.write_bytes(b"")
    _, doc = scan(lab, root)
    assert not marker.exists()
    assert doc["data"]["facts"]["libvirt"]["version"] == "11.3.0"


def test_libvirt_10_host_on_nftables_without_act_csum_is_blocked_before_its_upgrade(lab, tmp_path):
    """libvirt 10.6's nftables backend runs no tc: its guests work on this kernel (no act_csum)
    now; the upgrade to a release with the tc checksum filter would stop every network."""
    lab.nft(fixtures.libvirt_nftables())
    assert lab.ping().ok and lab.tcp().ok
    code, doc = scan(lab, make_root(tmp_path, "nftables", docker=False, libvirt="10.6.0"))
    blocker = finding(doc, "nftables-prerequisites")
    assert blocker is not None and blocker["severity"] == "blocker", doc["data"]["findings"]
    assert "after the upgrade" in blocker["title"] and "act_csum" in blocker["title"]
    assert code == ExitCode.BLOCKERS
    assert "10.6 is modelled as 10.9" in doc["data"]["facts"]["libvirt"]["modelled_as"]
    assert finding(doc, "libvirt-rules-missing") is None  # 10.x: no tc filter expected now


DEBIAN_13 = 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nID=debian\nVERSION_ID="13"\n'
FEDORA_40 = 'ID=fedora\nVERSION_ID=40\nPRETTY_NAME="Fedora Linux 40"\n'


@pytest.mark.parametrize("os_release,switch", [(DEBIAN_13, False), (FEDORA_40, True)], ids=["debian-13", "fedora-40"])
def test_switch_warning_only_where_the_distribution_switches(lab, tmp_path, os_release, switch):
    """firewall_backend unset, iptables now: Debian's next libvirt keeps iptables, Fedora 41's
    prefers nftables."""
    lab.iptables_restore(fixtures.libvirt_iptables_v4())
    lab.iptables_restore(fixtures.libvirt_iptables_v6(), family=6)
    _, doc = scan(lab, make_root(tmp_path, "iptables", docker=False, os_release=os_release, pinned=False,
                                 libvirt="11.3.0" if os_release == DEBIAN_13 else "10.1.0"))
    assert (finding(doc, "backend-switch-on-upgrade") is not None) == switch, doc["data"]["findings"]
    assert doc["data"]["facts"]["libvirt"]["after_upgrade_backend"] == ("nftables" if switch else "iptables")
    assert doc["data"]["matrix"]["after"] != doc["data"]["matrix"]["now"] if switch else \
        doc["data"]["matrix"]["after"] == doc["data"]["matrix"]["now"]


def test_a_hanging_tool_cannot_keep_scan_past_its_deadline(lab, tmp_path):
    """A stand-in for a hung `iptables-nft` (a script that sleeps, first on PATH) once kept scan
    running past 15 minutes: 60 s per call and no overall limit. With --deadline, scan ends in
    time and says "cannot tell" for what it could not read."""
    import os
    import time

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("iptables-nft", "ip6tables-nft"):
        (bin_dir / name).write_text("#!/bin/sh\nexec sleep 600\n")
        (bin_dir / name).chmod(0o755)
    lab.iptables_restore(fixtures.DOCKER_28)  # iptables-nft chains scan must list
    lab.nft(fixtures.libvirt_nftables())
    root = make_root(tmp_path / "root", "nftables", docker=True)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "vnetmigrate", "scan", "--netns", lab.host, "--root", str(root),
                           "--format", "json", "--deadline", "4"],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    elapsed = time.monotonic() - started
    assert elapsed < 20, elapsed
    doc = valid_envelope(proc.stdout)
    assert proc.returncode in (ExitCode.WARNINGS, ExitCode.BLOCKERS), proc.stderr
    assert doc["status"] != "ok"
    assert any("deadline" in e["message"] for e in doc["errors"]), doc["errors"]
    if doc["status"] == "warnings":
        assert doc["data"]["verdict"].startswith("cannot tell yet")
