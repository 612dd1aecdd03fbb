"""Run headless Chromium on a rendered report: screenshots, the parsed DOM, a printed PDF.

As root and offline: no sandbox, and no background networking (without those flags it stalls
on this closed network). Each run gets a fresh profile directory.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-color-profile=srgb")  # srgb: CSS colours land in pixels unchanged
TIMEOUT = 60


def find() -> str | None:
    return next((path for name in NAMES if (path := shutil.which(name))), None)


def run(binary: str, page: Path, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="vnm-chromium-") as profile:
        return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                              capture_output=True, timeout=TIMEOUT)


def screenshot(binary: str, page: Path, out: Path, width: int, height: int) -> bytes:
    proc = run(binary, page, f"--window-size={width},{height}", f"--screenshot={out}")
    assert out.exists(), proc.stderr.decode(errors="replace")[-2000:]
    return out.read_bytes()


def dump_dom(binary: str, page: Path) -> str:
    proc = run(binary, page, "--dump-dom")
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    return proc.stdout.decode()


def print_pdf(binary: str, page: Path, out: Path) -> bytes:
    proc = run(binary, page, "--no-pdf-header-footer", f"--print-to-pdf={out}")
    assert out.exists(), proc.stderr.decode(errors="replace")[-2000:]
    return out.read_bytes()
