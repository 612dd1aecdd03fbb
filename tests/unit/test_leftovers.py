"""What a killed run leaves behind is cleared by the next migrate or rollback, which says so
(issue 9 item 4): a journal killed before its begin record (empty, or a torn first line)
blocked every later command until someone moved its directory aside; temporary files of
atomic writes stayed in the host's configuration (etc/libvirt/.network.conf.*.vnm-tmp).

These run `rollback` (it needs root) on a state dir and a root in a temporary directory; no
transaction ever began, so nothing on the kernel side is read or changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.wrapping import unwrapped

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="rollback needs root")
REPO = Path(__file__).resolve().parents[2]
TXN = "20261206T000000.000000Z-abcdef"


def vnm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vnetmigrate", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=60, stdin=subprocess.DEVNULL)


CONF = "/etc/libvirt/network.conf"


def snapshot_of(conf: str) -> dict:
    """What migrate's snapshot holds of a transaction that touches only network.conf."""
    return {"touched": {"nft_tables": [], "ipt_chains": [], "files": [CONF]}, "nft": {}, "ipt": {},
            "files": {CONF: conf}}


@pytest.fixture
def killed(tmp_path):
    """A state dir and root as a run killed right after creating its journal leaves them."""
    root, state = tmp_path / "root", tmp_path / "state"
    conf = root / "etc/libvirt/network.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text('firewall_backend = "iptables"\n')
    (conf.parent / ".network.conf.k2j4x9.vnm-tmp").write_text('firewall_backend = "nftables"\n')
    txn = state / "txn" / TXN
    txn.mkdir(parents=True)
    state.chmod(0o700)
    (txn / "snapshot.json").write_text(json.dumps(snapshot_of(conf.read_text())))
    (txn / ".snapshot.json.a1b2c3.vnm-tmp").write_text("{")
    (state / ".probe-4194305").write_text("probe\n")  # above any pid_max: its writer is gone
    return root, state, txn


@pytest.mark.parametrize("journal", [b"", b'{"rec":"begin","ti'], ids=["empty", "torn-begin"])
def test_a_journal_killed_before_its_begin_record_is_set_aside_and_temp_files_removed(killed, journal):
    root, state, txn = killed
    (txn / "journal.jsonl").write_bytes(journal)
    where = ["--state-dir", str(state), "--root", str(root)]
    proc = vnm("rollback", *where)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    notes = unwrapped(proc.stderr)
    assert f"transaction {TXN} never began" in notes and "set aside" in notes, proc.stderr
    assert ".network.conf.k2j4x9.vnm-tmp" in notes
    assert not txn.exists() and (state / "aside" / TXN / "journal.jsonl").read_bytes() == journal
    assert not list((root / "etc/libvirt").glob(".*vnm-tmp"))
    assert not list(state.glob(".probe-*")) and not list((state / "aside" / TXN).glob(".*vnm-tmp"))
    assert (root / "etc/libvirt/network.conf").read_text() == 'firewall_backend = "iptables"\n'
    hist = vnm("history", "--state-dir", str(state))
    assert hist.returncode == 0 and "no transactions" in hist.stdout, hist.stdout + hist.stderr


def test_a_journal_with_records_but_no_begin_is_still_corrupt(killed):
    """Only a journal that provably never began is set aside: this one says something happened."""
    root, state, txn = killed
    (txn / "journal.jsonl").write_text('{"rec":"intent","step":0,"time":1}\n')
    proc = vnm("rollback", "--state-dir", str(state), "--root", str(root))
    assert proc.returncode == 1 and "does not start with a begin record" in proc.stderr, proc.stderr
    assert txn.exists()


@pytest.mark.parametrize("journal", [b"", b'{"rec":"begin","ti'], ids=["emptied", "cut-in-its-begin"])
def test_a_journal_emptied_on_disk_after_its_changes_is_refused_not_set_aside(killed, journal):
    """Empty (or cut inside its first record), but network.conf no longer holds what the snapshot
    does: the transaction may well have run. Setting it aside would say "before any change"
    without looking; the live state is compared, and the command refuses, naming the file."""
    root, state, txn = killed
    conf = root / "etc/libvirt/network.conf"
    conf.write_text('firewall_backend = "nftables"\n')  # what the migration wrote
    (txn / "journal.jsonl").write_bytes(journal)
    proc = vnm("rollback", "--state-dir", str(state), "--root", str(root))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    assert f"journal of transaction {TXN} holds no record, yet what it touches differs from its snapshot " \
           f"(files {CONF})" in unwrapped(proc.stderr), proc.stderr
    assert "move" in proc.stderr and "aside" in proc.stderr
    assert txn.is_dir() and (txn / "journal.jsonl").read_bytes() == journal and not (state / "aside").exists()
    assert conf.read_text() == 'firewall_backend = "nftables"\n'
