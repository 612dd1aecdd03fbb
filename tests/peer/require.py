"""Skip a peer test cleanly where real libvirt cannot run (not root, set-up missing)."""

from __future__ import annotations

import pytest

from tests.peer.libvirtd import unavailable_reason


def require_peer(*versions: str) -> None:
    """Skip the calling test unless real libvirt of each version can run here."""
    for version in versions:
        reason = unavailable_reason(version)
        if reason:
            pytest.skip(f"peer libvirt {version}: {reason}")
