"""The nftables-service-flush workaround, run for real: the edited configuration reloads any
number of times without deleting libvirt's tables and without duplicating its own rules."""

from __future__ import annotations

import subprocess

import pytest

from tests.unit.test_detectors import DEBIAN_NFT_CONF, found, scan
from tests.sandbox import fixtures

pytestmark = pytest.mark.lab

CONF = DEBIAN_NFT_CONF.replace("policy drop;\n\t}\n\tchain forward", "policy drop;\n\t\ttcp dport 22 accept\n\t}\n"
                               "\tchain forward", 1)


def objects_of(ruleset: dict, table: str) -> list[dict]:
    return [o for o in ruleset["nftables"] for kind in ("table", "chain", "rule") if kind in o
            and o[kind].get("table", o[kind].get("name")) == table]


def test_edited_config_reloads_without_flushing_libvirt_or_duplicating(lab, tmp_path):
    assert "tcp dport 22 accept" in CONF
    _, out = scan({"/etc/nftables.conf": CONF}, wants=("nftables.service",))
    sed, _reload, _restart = found(out, "nftables-service-flush")[0].workarounds[0].commands
    conf = tmp_path / "nftables.conf"
    conf.write_text(CONF)
    subprocess.run(["sh", "-c", sed.replace("/etc/nftables.conf", str(conf))], check=True)
    assert "flush ruleset" not in conf.read_text()
    lab.nft(fixtures.libvirt_nftables())
    libvirt_before = objects_of(lab.ruleset(), "libvirt_network")
    for _ in range(3):  # what every `systemctl reload nftables` runs: nft -f CONFIG
        lab.run(["nft", "-f", str(conf)])
    after = lab.ruleset()
    assert objects_of(after, "libvirt_network") == libvirt_before and libvirt_before
    rules = [o["rule"] for o in objects_of(after, "filter") if "rule" in o]
    assert len(rules) == 1  # the service's own rule, not three copies
