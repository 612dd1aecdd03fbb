"""What scan's start-up does without importing uuid and shutil (a few ms each) is what those
modules do: compared on the same inputs."""

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
