"""Teardown really happens: on exceptions, on a failing test, on SIGTERM/SIGINT; sweep after SIGKILL."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.sandbox import Lab, namespaces

pytestmark = pytest.mark.lab

# The lab is test code (tests.sandbox): a pytest run in another directory finds it through this.
FROM_REPO = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

# A child process that builds a lab, starts the guest's server, reports, then waits.
CHILD = textwrap.dedent("""
    import json, sys, time
    from tests.sandbox import Lab
    with Lab() as lab:
        assert lab.ssh().ok
        print(json.dumps({"ns": lab.namespaces, "pids": [p.pid for p in lab._procs]}), flush=True)
        time.sleep(60)
""")


def gone(pid: int) -> bool:
    return namespaces._gone(pid)


def start_child() -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, env=FROM_REPO)
    info = json.loads(proc.stdout.readline())
    assert set(info["ns"]) <= set(namespaces.existing())
    return proc, info


def test_teardown_when_the_body_raises(lab_ready):
    with pytest.raises(RuntimeError, match="boom"):
        with Lab() as lab:
            names, tmp = lab.namespaces, lab.tmpdir
            assert lab.ssh().ok
            pids = [p.pid for p in lab._procs]
            assert set(names) <= set(namespaces.existing())
            raise RuntimeError("boom")
    assert not set(names) & set(namespaces.existing())
    assert all(gone(pid) for pid in pids)
    assert not os.path.exists(tmp)
    assert not any(os.path.exists(f"{namespaces.OWNER_DIR}/{n}.json") for n in names)


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, None)])
def test_teardown_on_sigterm_and_ctrl_c(lab_ready, sig, code):
    proc, info = start_child()
    proc.send_signal(sig)
    rc = proc.wait(10)
    assert rc == code if code is not None else rc != 0
    assert not set(info["ns"]) & set(namespaces.existing())
    assert all(gone(pid) for pid in info["pids"])


def test_sweep_removes_namespaces_of_a_killed_run_only(lab, tmp_path):
    proc, info = start_child()
    proc.kill()  # SIGKILL: no teardown at all
    proc.wait(10)
    stale = info["ns"]
    assert set(stale) <= set(namespaces.existing())
    assert not gone(info["pids"][0])  # its orphaned server still runs inside
    foreign = "vnm-foreign-test"  # another tool's namespace: no owner to check, never swept
    subprocess.run(["ip", "netns", "add", foreign], check=True)
    try:
        swept = namespaces.sweep()
        assert set(stale) <= set(swept)
        assert foreign in namespaces.existing()
    finally:
        subprocess.run(["ip", "netns", "del", foreign], check=True)
    assert not set(stale) & set(namespaces.existing())
    assert all(gone(pid) for pid in info["pids"])
    assert set(lab.namespaces) <= set(namespaces.existing())  # live owner: untouched
    assert lab.ssh().ok


def test_failing_test_still_tears_down_its_lab(lab_ready, tmp_path):
    """Run a failing lab test through pytest with this directory's conftest."""
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    record = tmp_path / "names.json"
    (tmp_path / "test_fails.py").write_text(textwrap.dedent(f"""
        import json
        def test_fails(lab):
            open({str(record)!r}, "w").write(json.dumps(lab.namespaces))
            assert lab.ssh().ok
            assert False, "deliberate failure"
    """))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), str(tmp_path)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, env=FROM_REPO)
    assert "1 failed" in proc.stdout and "deliberate failure" in proc.stdout, proc.stdout
    assert "still there at the end" not in proc.stdout  # the guard saw a clean run
    names = json.loads(record.read_text())
    assert len(names) == 3 and not set(names) & set(namespaces.existing())


def test_session_guard_fails_a_run_that_leaks_a_lab(lab_ready, tmp_path):
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    record = tmp_path / "names.json"
    (tmp_path / "test_leaks.py").write_text(textwrap.dedent(f"""
        import json
        from tests.sandbox import Lab
        def test_leaks(lab_ready):
            lab = Lab().start()  # never closed: only the atexit hook would clean it up
            open({str(record)!r}, "w").write(json.dumps(lab.namespaces))
    """))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), str(tmp_path)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, env=FROM_REPO)
    assert proc.returncode != 0, proc.stdout
    assert "still there at the end" in proc.stdout, proc.stdout
    names = json.loads(record.read_text())
    assert len(names) == 3 and not set(names) & set(namespaces.existing())  # removed all the same
