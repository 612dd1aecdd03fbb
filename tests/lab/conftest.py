"""Fixtures for lab tests: throwaway namespaces with real kernel nftables/iptables.

- `lab`: a fresh `tests.sandbox.Lab` per test (one network, one guest), always torn
  down. Parametrize indirectly with a dict of `Lab(...)` keyword arguments for other shapes.
- A session guard sweeps namespaces left by dead runs first, and fails the run loudly if a
  `vnm-` namespace created by this process still exists at the end.
Lab tests skip (with the reason) when not root or when a needed tool is missing.
"""

from __future__ import annotations

import os

import pytest

from vnetmigrate.collect.host import which
from tests.sandbox import namespaces


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "lab tests need root (they create network namespaces)"
    for tool in ("ip", "nft", "iptables-nft-restore"):
        if which(tool) is None:
            return f"lab tests need {tool}"
    try:
        import nftables  # noqa: F401
    except ImportError:
        return "lab tests need python3-nftables (venv made with --system-site-packages)"
    return None


@pytest.fixture(scope="session", autouse=True)
def _lab_session_guard():
    if _missing() is None:
        swept = namespaces.sweep()
        if swept:
            print(f"\nswept stale lab namespaces of dead runs: {swept}")
    yield
    if os.geteuid() != 0:
        return
    leaked = namespaces.owned_by(os.getpid())
    if leaked:
        namespaces.delete(leaked)  # clean up anyway, but make the run fail
        pytest.fail(f"lab namespaces created by this test run were still there at the end "
                    f"(teardown is broken somewhere): {leaked}", pytrace=False)


@pytest.fixture
def lab_ready() -> None:
    """Skip unless this machine can run labs (for tests that build their own)."""
    reason = _missing()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def lab(request, lab_ready):
    from tests.sandbox import Lab

    with Lab(**getattr(request, "param", {})) as built:
        yield built
