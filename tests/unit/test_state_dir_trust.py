"""The state dir is trusted only when no other user could have changed it (issue 9 item 3).

Root follows a journal to decide what to write where: a state dir another user can change
is a way to make root write anything anywhere. These run as root (they chown to `nobody`).
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from vnetmigrate.txn import execute, journal
from vnetmigrate.txn.fsutil import OutsideRoot, under_root
from vnetmigrate.txn.kernel import KernelError
from vnetmigrate.txn.statedir import StateDir, StateDirError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: chowns to another user")
NOBODY = 65534


def refused(path, *words):
    for op in (lambda: StateDir(path).ensure(), lambda: StateDir(path).readable()):
        with pytest.raises(StateDirError) as err:
            op()
        for w in words:
            assert w in err.value.message, err.value.message


def test_a_symlink_owned_by_another_user_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "state"
    link.symlink_to(real)
    os.lchown(link, NOBODY, NOBODY)
    refused(link, str(link), "symbolic link owned by uid 65534")
    refused(link / "sub", "symbolic link owned by uid 65534")  # as a parent too
    os.lchown(link, 0, 0)
    StateDir(link).ensure()  # root's own link to a safe directory is fine


def test_a_parent_writable_by_others_is_refused_unless_sticky(tmp_path):
    parent = tmp_path / "shared"
    parent.mkdir()
    parent.chmod(0o777)
    refused(parent / "state", str(parent), "writable by group and others")
    parent.chmod(0o1777)  # like /tmp: others cannot rename or remove what root made there
    StateDir(parent / "state").ensure()
    (parent / "state").chmod(0o1777)  # the state dir itself: never, sticky or not
    refused(parent / "state", "writable")


def test_a_directory_owned_by_another_user_is_refused(tmp_path):
    parent = tmp_path / "theirs"
    parent.mkdir(mode=0o755)
    os.chown(parent, NOBODY, NOBODY)
    refused(parent / "state", str(parent), "owned by uid 65534")


def test_created_0700_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        StateDir(tmp_path / "a/b/state").ensure()
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "a/b/state").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "a/b/state/txn").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == 0o755


def test_the_lock_file_is_never_followed(tmp_path):
    state = tmp_path / "state"
    StateDir(state).ensure()
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (state / "lock").symlink_to(victim)
    with pytest.raises(StateDirError):
        with StateDir(state):
            pass
    assert victim.read_text() == "precious\n"


def test_a_journal_that_is_a_symlink_is_neither_read_nor_appended_to(tmp_path):
    txn = tmp_path / "txn"
    txn.mkdir()
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_text(json.dumps({"rec": "begin", "time": 1}) + "\n")
    (txn / journal.NAME).symlink_to(elsewhere)
    with pytest.raises(journal.JournalCorrupt, match="symbolic link"):
        journal.read(txn)
    with pytest.raises(journal.JournalWriteError):
        journal.Journal.append_to(txn)
    assert elsewhere.read_text().count("\n") == 1


@pytest.mark.parametrize("path", ["/../../outside", "/etc/../../outside", "relative", "/via-link/outside"])
def test_paths_from_a_journal_stay_under_the_root(tmp_path, path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "via-link").symlink_to(tmp_path)
    with pytest.raises(OutsideRoot):
        under_root(root, path)
    with pytest.raises(KernelError, match="refused"):
        execute.write_file(root, path, "written by a crafted journal\n")
    assert not (tmp_path / "outside").exists()
    assert under_root(root, "/etc/libvirt/network.conf") == root / "etc/libvirt/network.conf"
