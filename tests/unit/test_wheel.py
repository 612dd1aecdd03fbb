"""The wheel holds what users run and nothing of the test lab (built for real, ~3 s)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CRASH_VARIABLE = "VNETMIGRATE_TEST_CRASH_AT"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    # Build from a copy: an in-tree build would leave build/ and egg-info in the checkout.
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    for name in ("vnetmigrate", "checks", "reports"):
        shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                           "--no-index", "-w", str(out), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (built,) = out.glob("vnetmigrate-*.whl")
    with zipfile.ZipFile(built) as whl:
        yield whl


def test_the_wheel_carries_no_test_lab_and_no_crash_hook(wheel):
    names = wheel.namelist()
    assert not [n for n in names if "sandbox" in n or n.startswith("tests/") or n.endswith("/crash.py")]
    assert not [n for n in names if n.endswith(".py") and CRASH_VARIABLE.encode() in wheel.read(n)]


def test_the_wheel_carries_every_package_checks_and_reports_with_their_data(wheel):
    names = set(wheel.namelist())
    packages = {p.parent.relative_to(REPO).as_posix() for p in (REPO / "vnetmigrate").rglob("__init__.py")}
    assert {f"{p}/__init__.py" for p in packages} <= names
    for folder, patterns in (("checks", ("*.py",)), ("reports", ("**/*.py", "*.css", "schemas/*.json"))):
        expected = {f"vnetmigrate/{folder}/{f.relative_to(REPO / folder).as_posix()}"
                    for pattern in patterns for f in (REPO / folder).glob(pattern)}
        assert expected and expected <= names, sorted(expected - names)
    assert "vnetmigrate/reports/schemas/scan-v1.schema.json" in names
