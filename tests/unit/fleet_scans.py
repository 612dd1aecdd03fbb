"""A small fleet of real saved scans for the fleet report's tests.

Each host is evidence from the unit builders (tests/render/scenarios.py) given its own
hostname and collection time, saved as `scan --save-evidence` saves it, then turned into a
scan file by the CLI's own `scan --from ... --format json`: exactly what an admin collects.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from tests.render import scenarios
from tests.unit.builders import make_evidence
from vnetmigrate.cli import app
from vnetmigrate.evidence import Evidence

runner = CliRunner()


def cannot_tell_evidence() -> Evidence:
    """nft's chain listing is not JSON: the nftables facts cannot be read, checks are skipped, and
    the verdict is "cannot tell yet" (3)."""
    return make_evidence(files={"/etc/libvirt/network.conf": 'firewall_backend = "iptables"\n'},
                         commands={"nft.chains": "{not json"})


# hostname -> (evidence, status its scan has)
FLEET: dict[str, tuple[Callable[[], Evidence], str]] = {
    "kvm-docker1": (scenarios.docker_evidence, "blockers"),
    "kvm-docker2": (scenarios.docker_evidence, "blockers"),
    "kvm-old": (scenarios.switching_evidence, "warnings"),
    "kvm-quiet1": (scenarios.quiet_evidence, "ok"),
    "kvm-quiet2": (scenarios.quiet_evidence, "ok"),
    "kvm-garbled": (cannot_tell_evidence, "warnings"),
}


def evidence_of(hostname: str, make: Callable[[], Evidence], collected_at: str = "2026-12-01T10:00:00Z") -> Evidence:
    ev = make()
    ev.meta.update(hostname=hostname, collected_at=collected_at)
    return ev


def save_scan(directory: Path, hostname: str, make: Callable[[], Evidence], name: str | None = None,
              collected_at: str = "2026-12-01T10:00:00Z") -> Path:
    """`hostname`'s scan as DIRECTORY/NAME (default HOSTNAME.json), written by `scan --from`."""
    evidence_dir = directory.parent / f".evidence-{name or hostname}"
    evidence_of(hostname, make, collected_at).save(evidence_dir)
    out = directory / (name or f"{hostname}.json")
    res = runner.invoke(app, ["scan", "--from", str(evidence_dir), "--format", "json", "--output", str(out)])
    assert res.exit_code in (0, 3, 4), res.output
    return out


def save_fleet(directory: Path, hosts: dict[str, tuple[Callable[[], Evidence], str]] = FLEET) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    return {name: save_scan(directory, name, make) for name, (make, _) in hosts.items()}
