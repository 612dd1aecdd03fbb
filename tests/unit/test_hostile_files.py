"""Hostile and broken files wherever vnetmigrate reads one: nothing hangs, nothing is cut short.

FIFOs and character devices used to hang `rules`, `report`, `scan --from` and rollback's
snapshot; /dev/zero exhausted memory; `[` x 100000 overflowed the recursion limit; a
network.conf over 16 MiB was read as its first 16 MiB. Each command here runs in its own
process with a timeout, so a hang fails the test instead of stopping the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.builders import make_evidence
from tests.unit.wrapping import unwrapped
from vnetmigrate import bounded
from vnetmigrate.collect.host import LiveHost

REPO = Path(__file__).resolve().parents[2]
DEEP = "[" * 100_000
TIMEOUT = 20


def vnm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vnetmigrate", *args], capture_output=True, text=True,
                          cwd=REPO, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def finishing(fn, *args):
    """fn(*args) in a thread, failing the test if it has not returned after TIMEOUT seconds."""
    import threading

    box: dict = {}

    def body():
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # handed to the test thread
            box["error"] = exc

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    assert not thread.is_alive(), f"{fn.__name__} still blocked after {TIMEOUT} s"
    if "error" in box:
        raise box["error"]
    return box.get("value")


def one_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    assert len(unwrapped(proc.stderr).strip().splitlines()) <= 2, proc.stderr  # the error and its hint
    for word in words:
        assert word in unwrapped(proc.stderr), proc.stderr


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


# -- the helper itself --------------------------------------------------------------

def test_bounded_read_refuses_what_is_not_a_regular_file(tmp_path, fifo):
    with pytest.raises(bounded.NotRegular, match="is a FIFO"):
        bounded.read_bytes(fifo, 100)
    with pytest.raises(bounded.NotRegular, match="is a device"):
        bounded.read_bytes("/dev/zero", 100)
    with pytest.raises(bounded.NotRegular, match="is a directory"):
        bounded.read_bytes(tmp_path, 100)
    (tmp_path / "real").write_text("x")
    (tmp_path / "link").symlink_to("real")
    assert bounded.read_bytes(tmp_path / "link", 100) == b"x"
    with pytest.raises(bounded.NotRegular, match="symbolic link"):
        bounded.read_bytes(tmp_path / "link", 100, nofollow=True)
    with pytest.raises(FileNotFoundError):
        bounded.read_bytes(tmp_path / "absent", 100)


def test_bounded_read_refuses_a_file_over_its_limit_and_reads_one_at_it_whole(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"a" * 100)
    assert bounded.read_bytes(path, 100) == b"a" * 100
    with pytest.raises(bounded.TooLarge) as err:
        bounded.read_bytes(path, 99)
    assert str(path) in err.value.message and "99 bytes" in err.value.message


def test_json_nesting_is_bounded():
    with pytest.raises(bounded.TooDeep):
        bounded.load_json(DEEP)
    with pytest.raises(bounded.TooDeep):
        bounded.load_json("[" * 65 + "]" * 65)
    assert bounded.load_json("[" * 64 + "]" * 64) is not None
    wide = {"a": [1, {"b": []}], "c": "[[[[", "d": [{}] * 1000}  # brackets in strings do not nest
    assert [bounded.depth(v) for v in (7, "x", [], wide, {"x": [[[]]]})] == [0, 0, 1, 4, 4]
    assert bounded.load_json('{"a": ' * 64 + "0" + "}" * 64) is not None
    with pytest.raises(bounded.TooDeep):
        bounded.load_json('{"a": [' * 33 + "0" + "]}" * 33)  # 66 levels, objects and arrays mixed


# -- item 2: nothing silently truncated ----------------------------------------------

def test_a_config_file_over_the_limit_is_an_error_naming_it_not_its_first_16_mib(tmp_path):
    conf = tmp_path / "etc/libvirt/network.conf"
    conf.parent.mkdir(parents=True)
    conf.write_bytes(b'firewall_backend = "iptables"\n' + b"#" * (16 * 1024 * 1024) + b"\n")
    ev = make_evidence()
    rec = LiveHost(ev, root=str(tmp_path)).read("/etc/libvirt/network.conf")
    assert rec.content is None and "larger than 16 MiB" in rec.error
    assert any("/etc/libvirt/network.conf" in e["message"] and "larger than 16 MiB" in e["message"] for e in ev.errors)


def test_collector_records_a_fifo_as_unreadable_without_blocking(tmp_path):
    conf = tmp_path / "etc/libvirt/network.conf"
    conf.parent.mkdir(parents=True)
    os.mkfifo(conf)
    rec = LiveHost(make_evidence(), root=str(tmp_path)).read("/etc/libvirt/network.conf")
    assert rec.content is None and "FIFO" in rec.error


# -- item 8: every user-supplied path ------------------------------------------------

@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "deep"])
def test_rules_refuses_special_files(tmp_path, fifo, kind):
    path = {"fifo": str(fifo), "/dev/zero": "/dev/zero", "deep": str(tmp_path / "deep.xml")}[kind]
    if kind == "deep":
        Path(path).write_text("<a>" * 100_000)
    proc = vnm("rules", path, "--backend", "nftables")
    one_error(proc, path)


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "deep", "huge"])
def test_report_refuses_special_deep_and_huge_files(tmp_path, fifo, kind):
    path = {"fifo": fifo, "/dev/zero": Path("/dev/zero"), "deep": tmp_path / "deep.json",
            "huge": tmp_path / "huge.json"}[kind]
    if kind == "deep":
        path.write_text(DEEP)
    elif kind == "huge":
        with open(path, "wb") as fh:
            fh.truncate(bounded.DOCUMENT_LIMIT + 1)  # sparse: costs no disk
    proc = vnm("report", str(path))
    one_error(proc, str(path))


@pytest.mark.parametrize("kind", ["manifest-fifo", "manifest-deep", "stored-fifo", "stored-device"])
def test_scan_from_refuses_special_or_deep_evidence(tmp_path, kind):
    ev_dir = tmp_path / "ev"
    make_evidence().save(ev_dir)
    manifest = ev_dir / "manifest.json"
    if kind == "manifest-fifo":
        manifest.unlink()
        os.mkfifo(manifest)
    elif kind == "manifest-deep":
        manifest.write_text(DEEP)
    else:
        stored = json.loads(manifest.read_text())["commands"][0]["stdout"]
        (ev_dir / stored).unlink()
        if kind == "stored-fifo":
            os.mkfifo(ev_dir / stored)
        else:
            (ev_dir / stored).symlink_to("/dev/zero")
    proc = vnm("scan", "--from", str(ev_dir))
    one_error(proc, str(ev_dir))


def test_evidence_with_deeply_nested_command_output_is_refused_or_analysed_never_a_crash(tmp_path):
    ev_dir = tmp_path / "ev"
    make_evidence().save(ev_dir)
    manifest = json.loads((ev_dir / "manifest.json").read_text())
    for entry in manifest["commands"]:
        (ev_dir / entry["stdout"]).write_text(DEEP)
    proc = vnm("scan", "--from", str(ev_dir))
    assert proc.returncode in (1, 3, 4) and "Traceback" not in proc.stderr and "internal error" not in proc.stderr, \
        proc.stdout[-2000:] + proc.stderr


@pytest.mark.parametrize("kind", ["fifo", "deep"])
def test_rollback_snapshot_that_is_special_or_deep_is_refused(tmp_path, kind):
    from vnetmigrate.txn import engine, journal

    txn = tmp_path / "txn"
    txn.mkdir()
    if kind == "fifo":
        os.mkfifo(txn / engine.SNAPSHOT)
    else:
        (txn / engine.SNAPSHOT).write_text(DEEP)
    with pytest.raises(journal.JournalCorrupt) as err:
        finishing(engine.load_snapshot, txn)
    assert str(txn / engine.SNAPSHOT) in err.value.message


@pytest.mark.parametrize("kind", ["fifo", "deep"])
def test_a_journal_that_is_special_or_deep_is_corrupt_not_a_hang(tmp_path, kind):
    from vnetmigrate.txn import journal

    txn = tmp_path / "txn"
    txn.mkdir()
    if kind == "fifo":
        os.mkfifo(txn / journal.NAME)
    else:
        (txn / journal.NAME).write_text(DEEP + "\n")
    with pytest.raises(journal.JournalCorrupt):
        finishing(journal.read, txn)

