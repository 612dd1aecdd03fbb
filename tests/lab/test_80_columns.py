"""What an admin reads at 80 columns after migrate, history, rollback and a corrupt journal, on a
lab host holding real libvirt 11.3's recorded rules: every line fits (but a path longer than a
line, which stays whole on its own), and the wrapped lines hold the words the JSON of the same
run says, in order. A terminal wider than a message keeps it on one line (stderr on a pty).
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest

from tests.lab.test_migrate import Host
from tests.lab.txn_support import REPO
from tests.unit.schema_check import valid_envelope
from tests.unit.wrapping import too_wide, unwrapped, words

pytestmark = pytest.mark.lab

NARROW = {"COLUMNS": "80"}


def fits(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert not too_wide(proc.stdout) and not too_wide(proc.stderr), proc.stdout + proc.stderr
    return proc


def test_migrate_history_rollback_and_errors_fit_80_columns_and_lose_no_word(lab, tmp_path):
    host = Host(lab, tmp_path)
    migrate = fits(host.vnm("migrate", "--no-restart", env=NARROW))
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    (txn,) = (p.name for p in (host.state / "txn").iterdir())
    last = f"Transaction {txn} committed: libvirt's rules are in nftables, verified."
    assert len(last) > 80 and unwrapped(migrate.stdout).endswith(f"\n{last}\n")
    assert migrate.stdout.endswith(f"\n{last[:last.index(' nftables')]}\n  nftables, verified.\n")

    history = fits(host.vnm("history", env=NARROW))
    doc = valid_envelope(host.vnm("history", "--format", "json").stdout, "history-v1")
    (row,) = doc["data"]["transactions"]
    steps = f"{row['steps_done']}/{row['steps']}"
    assert words(history.stdout) == ["ID", "STATUS", "STEPS", "TITLE", txn, "committed", steps, *words(row["title"])]
    title_at = history.stdout.splitlines()[0].index("TITLE")
    assert [line[:title_at].strip() for line in history.stdout.splitlines()[2:]] == [""]  # the title's column

    rollback = fits(host.vnm("rollback", env=NARROW))
    assert rollback.returncode == 0 and rollback.stdout == f"{txn}: rolled back; the old state is verified back\n"

    journal = host.state / "txn" / txn / "journal.jsonl"
    records = journal.read_bytes().split(b"\n")
    records[3] = b"{garbage"
    journal.write_bytes(b"\n".join(records))
    corrupt = fits(host.vnm("history", env=NARROW))
    (row,) = valid_envelope(host.vnm("history", "--format", "json").stdout, "history-v1")["data"]["transactions"]
    (error,) = row["errors"]
    assert str(journal) in error and len(error) > 80 and corrupt.returncode == 6
    assert words(corrupt.stdout) == ["ID", "STATUS", "STEPS", "TITLE", txn, "corrupt", "-", *words(error)]
    assert f"\n  {journal}" in corrupt.stdout  # the path whole, to copy

    refused = fits(host.vnm("migrate", "--no-restart", env=NARROW))
    as_json = host.vnm("migrate", "--no-restart", "--format", "json")
    (message,) = (e["message"] for e in json.loads(as_json.stdout)["errors"])
    first, hint = unwrapped(refused.stderr).splitlines()
    assert refused.returncode == as_json.returncode == 1 and first == f"vnetmigrate migrate: error: {message}"
    assert hint.startswith("hint: nothing was changed; ") and len(hint) > 80
    assert len(refused.stderr.splitlines()) > 2 and f"\n  {journal}" in refused.stderr

    # A wide terminal (standard error a pty, COLUMNS wider than the error; -q: no progress line on it):
    # one line each, as before.
    columns = str(max(200, len(first) + 1))
    main, side = pty.openpty()
    try:
        wide = subprocess.run(
            [sys.executable, "-m", "vnetmigrate", "migrate", "-q", "--no-restart", "--netns", lab.host, "--root",
             str(host.root), "--state-dir", str(host.state), "--force", "nftables-prerequisites"],
            stdout=subprocess.PIPE, stderr=side, cwd=REPO, timeout=120, env={**os.environ, "COLUMNS": columns})
        os.close(side)
        side = -1
        said = b""
        while chunk := _read(main):
            said += chunk
    finally:
        os.close(main)
        if side >= 0:
            os.close(side)
    assert wide.returncode == 1
    assert said.decode().replace("\r\n", "\n") == f"{first}\n{hint}\n"


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the other side is closed and everything was read
        return b""
