"""`vnetmigrate bundle` on real kernel rulesets: every row of the scenario table (scenarios.py,
nftables backend) is scanned live, bundled, and analysed again from the bundle with
`scan --from` and `report`; verdict, matrix and findings must be the live scan's. One row is
also bundled with secrets planted under its --root and, redacted, under a planted host name
(its own UTS namespace): nothing secret and no original address, MAC or name may reach the
archive, and the findings stay the same."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.lab.scenarios import SCENARIOS, BY_ID, build
from tests.lab.test_lab_scan import scan
from tests.unit.schema_check import valid_envelope
from tests.unit.wrapping import unwrapped
from vnetmigrate.reports import schema

pytestmark = pytest.mark.lab
HOSTNAME = "kvm-lab-42.support-test.example"
MAC = re.compile(r"\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b")
IPV4 = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])")


def vnm(*argv: str, hostname: str | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "vnetmigrate", *argv]
    if hostname is not None:  # a UTS namespace of its own: the machine's host name stays as it is
        cmd = ["unshare", "--uts", "sh", "-c", f'hostname "$0" && exec "$@"', hostname, *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)


def make_bundle(lab, root: Path, archive: Path, *extra: str, hostname: str | None = None) -> dict:
    proc = vnm("bundle", "--netns", lab.host, "--root", str(root), "-o", str(archive), "--format", "json", *extra,
               hostname=hostname)
    assert proc.returncode == 0, proc.stderr
    return valid_envelope(proc.stdout)


def offline(archive: Path) -> list[tuple[int, dict]]:
    out = []
    for argv in (("scan", "--from", str(archive)), ("report", str(archive))):
        proc = vnm(*argv, "--format", "json")
        out.append((proc.returncode, valid_envelope(proc.stdout)))
    return out


def verdict(code: int, doc: dict) -> tuple:
    d = doc["data"]
    return code, doc["status"], d["verdict"], d["matrix"], d["findings"]


def contents(archive: Path) -> str:
    with tarfile.open(archive, "r:gz") as tar:
        return "".join(m.name + "\n" + tar.extractfile(m).read().decode("utf-8", "replace") for m in tar.getmembers())


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_the_bundle_reproduces_the_live_scan(lab, tmp_path, scenario):
    host = build(lab, scenario, "nftables")
    root = host.write_root(tmp_path / "root")
    code, live = scan(lab, root)
    data = make_bundle(lab, root, tmp_path / "b.tar.gz")["data"]
    assert data["scan_status"] == live["status"] and not data["timed_out"]
    for got in offline(tmp_path / "b.tar.gz"):
        assert verdict(*got) == verdict(code, live)
    print(f"\n{scenario.id}: live {live['status']} {sorted((f['id'], f['severity']) for f in live['data']['findings'])}"
          f" = scan --from = report ({data['collected']} items collected, {data['absent']} absent)")


def test_secrets_stay_out_and_redaction_leaves_no_original(lab, tmp_path):
    host = build(lab, BY_ID["docker"], "nftables")
    root = host.write_root(tmp_path / "root")
    planted = {"etc/libvirt/secrets/0b1f.base64": "c2VjcmV0LXZhbHVl\n",
               "var/lib/libvirt/secrets/0b1f.xml": "<secret><uuid>0b1f</uuid></secret>\n",
               "etc/libvirt/hooks/tls-client.key": "planted-private-key-bytes\n",
               "etc/libvirt/hooks/server.pem": "-----BEGIN PRIVATE KEY-----\nplanted-pem-body\n"
                                               "-----END PRIVATE KEY-----\n",
               "etc/libvirt/qemu/web1.xml": "<domain type='kvm'><name>web1</name><devices><graphics type='spice' "
                                            "passwd='planted-spice-pw'/></devices></domain>\n"}
    for rel, text in planted.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    plain = tmp_path / "plain.tar.gz"
    red = tmp_path / "red.tar.gz"
    make_bundle(lab, root, plain, hostname=HOSTNAME)
    out = make_bundle(lab, root, red, "--redact", hostname=HOSTNAME)["data"]
    plain_text, red_text = contents(plain), contents(red)
    for secret in ("c2VjcmV0LXZhbHVl", "<uuid>0b1f", "planted-private-key-bytes", "planted-pem-body",
                   "planted-spice-pw"):
        assert secret not in plain_text and secret not in red_text, secret
    with tarfile.open(plain, "r:gz") as tar:
        manifest = json.loads(tar.extractfile("vnetmigrate-bundle/manifest.json").read())
    assert schema.validate(manifest, schema.load("bundle-manifest-v1")) == []
    assert any(i["key"] == "commands/nft-ruleset.json" and i["exit_code"] == 0 for i in manifest["items"])
    with tarfile.open(plain, "r:gz") as tar:  # the lab's ruleset, read inside its namespace
        ruleset = json.loads(tar.extractfile("vnetmigrate-bundle/extra/commands/nft-ruleset.json").read())
        legacy = {m.name for m in tar.getmembers() if "legacy-save" in m.name}
    assert {"libvirt_network"} <= {o["table"]["name"] for o in ruleset["nftables"] if "table" in o}
    assert legacy == set()  # the lab has no legacy tables: none was opened, none saved

    addresses = {a for a in IPV4.findall(plain_text) if _identifying(a)}
    macs = {m for m in MAC.findall(plain_text) if int(m[:2], 16) & 1 == 0 and m != "00:00:00:00:00:00"}
    names = {HOSTNAME, HOSTNAME.split(".")[0]}
    assert "192.168.122.1" in addresses and macs and HOSTNAME in plain_text
    found = [o for o in addresses | macs | names if o in red_text]
    assert found == []
    mapping = json.loads(Path(out["redaction_map"]).read_text())
    assert addresses <= set(mapping["addresses"]) and macs <= set(mapping["macs"])
    assert Path(out["redaction_map"]).stat().st_mode & 0o777 == 0o600
    (plain_code, plain_doc), _ = offline(plain)
    (red_code, red_doc), _ = offline(red)
    assert red_code == plain_code
    assert sorted((f["id"], f["severity"]) for f in red_doc["data"]["findings"]) == \
        sorted((f["id"], f["severity"]) for f in plain_doc["data"]["findings"])
    # A second bundle to the same name: refused before reading the host, both files kept; --force replaces them.
    mapped = Path(out["redaction_map"])
    kept = red.read_bytes(), mapped.read_bytes()
    again = vnm("bundle", "--netns", lab.host, "--root", str(root), "-o", str(red), "--redact", hostname=HOSTNAME)
    assert (again.returncode, again.stdout) == (1, "")
    assert unwrapped(again.stderr) == (f"vnetmigrate bundle: error: {red} and {mapped} already exist; nothing was written\n"
                            "hint: name another --output, or pass --force to overwrite\n")
    assert (red.read_bytes(), mapped.read_bytes()) == kept
    forced = make_bundle(lab, root, red, "--redact", "--force", hostname=HOSTNAME)["data"]
    assert forced["redaction_map"] == str(mapped) and offline(red)[0][0] == red_code
    print(f"\nredaction: {out['redaction']} replaced; originals: {len(addresses)} addresses, {len(macs)} MACs, "
          f"{len(names)} names; found in the redacted archive: {len(found)}; "
          f"coincidences: {out['redaction']['coincidences']}")


def _identifying(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified
                or int(ip) >> 28 == 15 or int(ip) >> 24 == 0)
