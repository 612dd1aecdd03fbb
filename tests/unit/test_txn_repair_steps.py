"""The step kinds `vnetmigrate repair` adds: command (a program with an exact inverse), hook (the
libvirt hook's rules applied now) and install (a file with a mode, and the directories it needed).

Their journal form round-trips (a rollback rebuilds them from the journal), an install is undone
byte for byte with the directories it created, and a command step from a journal runs only the
programs a repair uses. The kernel side (iptables, nft, ufw) is proven in the lab
(tests/lab/test_repair_persist.py)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from vnetmigrate.txn import execute, steps
from vnetmigrate.txn.kernel import KernelError
from vnetmigrate.txn.snapshot import read_file

HOOK = "/etc/libvirt/hooks/network.d/vnetmigrate"

SAMPLES = [
    steps.command("ufw allow in on virbr0", ["ufw", "allow", "in", "on", "virbr0"],
                  ["ufw", "delete", "allow", "in", "on", "virbr0"], ("Could not delete non-existent rule",)),
    steps.hook("put the rules back now", "/etc/libvirt/hooks/vnetmigrate.d/docker-forward-drop.rules"),
    steps.install("install the hook", HOOK, "#!/bin/sh\nexit 0\n", None, 0o755,
                  ("/etc/libvirt/hooks", "/etc/libvirt/hooks/network.d")),
]


@pytest.mark.parametrize("step", SAMPLES, ids=lambda s: s.kind)
def test_a_repair_step_comes_back_from_its_journal_record_unchanged(step):
    record = json.loads(json.dumps({"do": step.to_dict(), "undo": step.undo_record()}))  # as the journal keeps it
    again = steps.Step.from_dict(record["do"])
    assert again == step and type(again) is type(step)
    assert again.undo_record() == record["undo"]


def test_the_command_record_names_its_inverse():
    assert SAMPLES[0].undo_record()["argv"] == ["ufw", "delete", "allow", "in", "on", "virbr0"]


def test_an_install_writes_the_mode_and_its_undo_leaves_the_tree_as_it_was(tmp_path):
    root = tmp_path / "root"
    (root / "etc/libvirt").mkdir(parents=True)
    before = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    step = steps.Step.from_dict(SAMPLES[2].to_dict())
    step.apply(root)
    hook = root / HOOK.lstrip("/")
    assert hook.read_text() == "#!/bin/sh\nexit 0\n" and stat.S_IMODE(os.stat(hook).st_mode) == 0o755
    step.undo({"nft": {}, "ipt": {}, "files": {HOOK: None}}, root)
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == before
    step.undo({"nft": {}, "ipt": {}, "files": {HOOK: None}}, root)  # twice: harmless


def test_an_install_over_a_file_puts_it_back_byte_for_byte_and_keeps_a_directory_someone_filled(tmp_path):
    root = tmp_path / "root"
    conf = root / "etc/x/y.conf"
    conf.parent.mkdir(parents=True)
    conf.write_bytes(b"old\r\nno newline")
    step = steps.install("replace", "/etc/x/y.conf", "new\n", read_file(root, "/etc/x/y.conf"), 0o600)
    step.apply(root)
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o600
    step.undo({"nft": {}, "ipt": {}, "files": {}}, root)
    assert conf.read_bytes() == b"old\r\nno newline"
    other = steps.install("new dirs", "/etc/a/b/c.conf", "x\n", None, 0o644, ("/etc/a", "/etc/a/b"))
    other.apply(root)
    (root / "etc/a/admin.conf").write_text("theirs\n")
    other.undo({"nft": {}, "ipt": {}, "files": {}}, root)
    assert not (root / "etc/a/b").exists() and (root / "etc/a/admin.conf").read_text() == "theirs\n"


@pytest.mark.parametrize("argv", [["sh", "-c", "touch /tmp/pwned"], ["/usr/sbin/ufw", "enable"], []])
def test_a_crafted_command_step_runs_nothing_but_the_repairs_programs(argv):
    step = steps.Step.from_dict({"kind": "command", "title": "x", "touches": {},
                                 "data": {"argv": argv, "undo_argv": argv}})
    with pytest.raises(KernelError, match="refused"):
        step.apply(None)
    with pytest.raises(KernelError, match="refused"):
        step.undo({"nft": {}, "ipt": {}, "files": {}}, None)


def test_a_crafted_hook_step_cannot_reach_outside_the_root(tmp_path):
    step = steps.Step.from_dict({"kind": "hook", "title": "x", "touches": {}, "data": {"rules": "/../../etc/passwd"}})
    with pytest.raises(KernelError, match="refused"):
        step.apply(tmp_path)


def test_the_shipped_hook_is_a_posix_shell_script_that_parses():
    script = execute.hook_script()
    assert script.startswith("#!/bin/sh\n")
    proc = __import__("subprocess").run(["sh", "-n"], input=script, text=True, capture_output=True)
    assert proc.returncode == 0, proc.stderr
