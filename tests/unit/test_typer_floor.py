"""The CLI works with the oldest typer the packages allow: Debian 13's.

pyproject.toml's floor (typer>=0.15) is what Debian 13 ships; its .deb runs on that typer, and
so must the code. A second virtual environment, .venv/typer-floor (made once, ~15 s, from PyPI),
holds exactly Debian 13's typer, click and rich; everything else comes from the project's
.venv behind them on sys.path. The CLI's unit tests run again in it (~10 s).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Debian 13 (trixie): python3-typer 0.15.2-1, python3-click 8.2.0+0.really.8.1.8-1,
# python3-rich 13.9.4-1 (apt-cache policy in the Debian 13 peer root).
FLOOR = {"typer": "0.15.2", "click": "8.1.8", "rich": "13.9.4"}
CLI_TESTS = ["tests/unit/test_cli_scan.py", "tests/unit/test_cli_report.py", "tests/unit/libvirt/test_cli_rules.py",
             "tests/unit/test_manpage.py",
             "tests/unit/test_completions.py", "tests/unit/test_cli_fast.py", "tests/unit/test_cli_fast_txn.py",
             "tests/unit/test_cli_json_flag.py"]


def floor_venv() -> Path:
    """.venv/typer-floor with FLOOR installed and the project's .venv behind it (made once)."""
    main = Path(sys.prefix)
    venv = main / "typer-floor"
    stamp = venv / ".pins"
    pins = " ".join(f"{name}=={version}" for name, version in FLOOR.items())
    if stamp.is_file() and stamp.read_text() == pins:
        return venv
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--clear", "--system-site-packages", str(venv)],
                   check=True, capture_output=True, timeout=120)
    proc = subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "--quiet",
                           "--disable-pip-version-check", *pins.split()], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    # The project's own .venv (pytest, python-iptables, the editable vnetmigrate) after the
    # floor's site-packages: addsitedir also runs its .pth files (the editable install's finder).
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    main_site = next(Path(p) for p in sys.path if p.startswith(str(main)) and p.endswith("site-packages"))
    (site / "zz-project-venv.pth").write_text(f"import site; site.addsitedir({str(main_site)!r})\n")
    stamp.write_text(pins)
    return venv


def test_the_floor_is_what_pyproject_requires():
    floor = re.search(r'"typer>=([0-9.]+)"', (REPO / "pyproject.toml").read_text()).group(1)
    assert FLOOR["typer"].startswith(floor + "."), (floor, FLOOR["typer"])


def test_the_cli_tests_pass_under_debian_13s_typer_click_and_rich():
    python = floor_venv() / "bin/python"
    versions = subprocess.run([str(python), "-c", "import typer, click, rich, importlib.metadata as m; "
                               "print(typer.__version__, click.__version__, m.version('rich'), typer.__file__)"],
                              capture_output=True, text=True, check=True).stdout.split()
    assert versions[:3] == list(FLOOR.values()), versions
    assert "/typer-floor/" in versions[3], versions
    proc = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *CLI_TESTS],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
