"""What scan's and migrate's start-up do without importing uuid, shutil, tempfile, secrets and
time.strptime's modules (a few ms each) is what those modules do: compared on the same inputs."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest

from vnetmigrate.libvirt.xml import uuid_string
from vnetmigrate.programs import _which


@pytest.mark.parametrize("text", [
    "c8d1d5e0-3b7a-4c8e-9f4b-0d0e6a1b2c3d", "C8D1D5E03B7A4C8E9F4B0D0E6A1B2C3D", "{c8d1d5e0-3b7a-4c8e-9f4b-0d0e6a1b2c3d}",
    "urn:uuid:c8d1d5e0-3b7a-4c8e-9f4b-0d0e6a1b2c3d", "c8d1-d5e0-3b7a4c8e-9f4b0d0e6a1b2c3d", "+8d1d5e03b7a4c8e9f4b0d0e6a1b2c3d",
    "c8d1_5e03b7a4c8e9f4b0d0e6a1b2c3d", "c8d1d5e0-3b7a-4c8e-9f4b-0d0e6a1b2c3", "not a uuid", "", "g" * 32])
def test_uuid_string_is_uuids_str(text):
    try:
        expected = str(uuid.UUID(text))
    except ValueError:
        with pytest.raises(ValueError):
            uuid_string(text)
    else:
        assert uuid_string(text) == expected


def test_which_is_shutils(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for name, mode in (("tool", 0o755), ("plain", 0o644), ("both", 0o755)):
        (tmp_path / "b" / name).write_text("#!/bin/sh\n")
        (tmp_path / "b" / name).chmod(mode)
    (tmp_path / "a" / "both").write_text("#!/bin/sh\n")
    (tmp_path / "a" / "both").chmod(0o755)
    (tmp_path / "a" / "tool").mkdir()  # a directory named like the tool comes first
    path = os.pathsep.join([str(tmp_path / "a"), "", str(tmp_path / "b"), str(tmp_path / "a"), "/usr/bin", "/bin"])
    for cmd in ("tool", "plain", "both", "missing", "sh", str(tmp_path / "b" / "tool"), str(tmp_path / "b" / "plain"),
                "a/tool", "ls"):
        assert _which(cmd, path) == shutil.which(cmd, path=path), cmd


@pytest.mark.parametrize("stamp", [
    "20261206T183000", "19700101T000000", "20240229T235959", "20250229T120000", "20261331T000000", "20261200T000000",
    "20260431T000000", "20261206T240000", "20261206T236000", "20261206T235960", "20261206T235961", "20261206T235962",
    "00000101T000000", "00010101T000000", "99991231T235959", "19691231T235959", "2026\u0661206T183000",
    "\u0662\u0660\u0662\u0666\u0661\u0662\u0660\u0666T\u0661\u0668\u0663\u0660\u0660\u0660"])
def test_id_times_are_strptimes(stamp):
    """The time a transaction id names (txnstore.id_micros) is calendar.timegm(time.strptime())."""
    import calendar
    import time

    from vnetmigrate.txnstore import _utc_seconds, id_micros

    try:
        expected = calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%S"))
    except ValueError:
        expected = None
    assert _utc_seconds(stamp) == expected
    if expected is not None:
        assert id_micros(f"{stamp}.000042Z-abcdef") == expected * 1_000_000 + 42


def test_every_second_of_a_leap_year_day_by_day_is_strptimes():
    import calendar
    import random
    import time

    from vnetmigrate.txnstore import _utc_seconds

    rng = random.Random(13)
    for day in range(366):
        t = calendar.timegm((2024, 1, 1, 0, 0, 0)) + day * 86400 + rng.randrange(86400)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(t))
        assert _utc_seconds(stamp) == calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%S")) == t, stamp


def test_atomic_writes_temporary_file_is_mkstemps(tmp_path):
    """Named and made as tempfile.mkstemp(prefix=".NAME.", suffix=".vnm-tmp") makes it: mode 0600,
    beside the target, matching what recovery removes after a kill (.NAME.*.vnm-tmp)."""
    import stat
    import tempfile

    from vnetmigrate.txn.fsutil import _temp_beside

    target = tmp_path / "network.conf"
    fd, ours = _temp_beside(target)
    os.close(fd)
    fd, theirs = tempfile.mkstemp(prefix=".network.conf.", suffix=".vnm-tmp", dir=tmp_path)
    os.close(fd)
    for made in (ours, theirs):
        assert os.path.dirname(made) == str(tmp_path)
        assert stat.S_IMODE(os.lstat(made).st_mode) == 0o600
    assert sorted(tmp_path.glob(".network.conf.*.vnm-tmp")) == sorted([tmp_path / os.path.basename(ours), tmp_path / os.path.basename(theirs)])
    fd, again = _temp_beside(target)
    os.close(fd)
    assert again != ours


def test_transaction_ids_end_like_secrets_token_hex():
    import re
    import secrets

    from vnetmigrate.txn.statedir import new_id

    made = new_id([])
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{6}", made), made
    assert len(made.rsplit("-", 1)[1]) == len(secrets.token_hex(3))


@pytest.mark.parametrize("text", ["10.0.0.0/24", "10.0.0.1/24", "192.168.122.1", "fd00::1/64", "::/0", "10.0.0.0/33", "x"])
def test_network_text_is_str_of_the_network(text):
    import ipaddress

    from vnetmigrate.addr import network_text

    try:
        expected = str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        with pytest.raises(ValueError):
            network_text(text)
    else:
        assert network_text(text) == network_text(text) == expected
