"""Support bundles without root: written from recorded evidence (tests/unit/builders.py replays it
through the real collectors), read back by `scan --from` and `report`, screened, redacted, and
refused when hostile. The live side (collection, --root with planted secrets, every lab
scenario) is tests/lab/test_bundle_lab.py."""

from __future__ import annotations

import gzip
import io
import ipaddress
import json
import os
import re
import stat
import tarfile
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from tests.render import scenarios
from tests.unit.schema_check import valid_envelope
from tests.unit.wrapping import unwrapped
from vnetmigrate import bundlefile
from vnetmigrate.cli import app
from vnetmigrate.collect.extras import CommandSpec, run
from vnetmigrate.collect.host import LiveHost
from vnetmigrate.evidence import Evidence, FileRecord
from vnetmigrate.exitcodes import ExitCode
from vnetmigrate.redact import Redactor
from vnetmigrate.reports import schema
from vnetmigrate.scan import analyse
from vnetmigrate.usecases.bundle import assemble

HOSTNAME = "kvm-prod-17.corp.example.net"
GUEST_MAC = "52:54:00:3a:9c:11"
DOMAIN_XML = ("<domain type='kvm'><name>web1</name><devices><interface type='network'>"
              f"<mac address='{GUEST_MAC}'/><source network='default'/></interface>"
              "<graphics type='vnc' port='-1' passwd='s3cr3t-VNC-pw'/></devices></domain>\n")
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAplanted\n-----END RSA PRIVATE KEY-----\n"


def docker_host() -> Evidence:
    ev = scenarios.docker_evidence()
    ev.meta["hostname"] = HOSTNAME
    return ev


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def findings(doc: dict) -> list[tuple[str, str]]:
    return sorted((f["id"], f["severity"]) for f in doc["data"]["findings"])


def cli(*argv: str):
    return CliRunner().invoke(app, list(argv))


def test_bundle_analyses_offline_to_the_live_verdict(tmp_path):
    ev = docker_host()
    live = analyse(ev)
    result = assemble(ev, [], tmp_path / "b.tar.gz")
    assert stat.S_IMODE(result.archive.stat().st_mode) == 0o600
    for argv in (("scan", "--from", str(result.archive), "-f", "json"), ("report", str(result.archive), "-f", "json")):
        res = cli(*argv)
        doc = valid_envelope(res.stdout)
        assert res.exit_code == int(live.exit_code) == ExitCode.BLOCKERS
        data = live.to_data()
        assert doc["data"]["verdict"] == data["verdict"] and doc["data"]["matrix"] == json.loads(json.dumps(
            data["matrix"]))
        assert doc["data"]["findings"] == json.loads(json.dumps(data["findings"]))


def test_the_manifest_lists_every_member_and_item_and_matches_its_schema(tmp_path):
    ev = docker_host()
    ev.add_file(FileRecord("/etc/ufw/ufw.conf", None, "absent"))
    result = assemble(ev, [], tmp_path / "b.tar.gz", render=lambda r: {"scan.json": "{}\n"})
    got = members(result.archive)
    manifest = json.loads(got.pop(bundlefile.MANIFEST))
    raw = json.loads(Path(schema.__file__).with_name("schemas").joinpath(
        "bundle-manifest-v1.schema.json").read_text())
    assert schema.validate(manifest, schema.load("bundle-manifest-v1")) == []
    jsonschema.Draft202012Validator(raw).validate(manifest)
    assert {m["name"]: m["sha256"] for m in manifest["members"]} == {n: bundlefile.sha256(d) for n, d in got.items()}
    items = manifest["items"]
    assert any(i["path"] == "/etc/docker/daemon.json" and i["member"] for i in items)
    absent = [i for i in items if i["member"] is None]
    assert absent and all(i["absent"] for i in absent)  # every absent item says why
    assert {"path": "/etc/ufw/ufw.conf", "absent": "absent"}.items() <= next(
        i for i in absent if i["path"] == "/etc/ufw/ufw.conf").items()
    broken = dict(manifest, items=[dict(items[0], timed_out="no")])
    assert schema.validate(broken, schema.load("bundle-manifest-v1"))
    assert not jsonschema.Draft202012Validator(raw).is_valid(broken)


def test_same_content_same_bytes_with_normalised_metadata(tmp_path):
    a = assemble(docker_host(), [], tmp_path / "a.tar.gz").archive.read_bytes()
    b = assemble(docker_host(), [], tmp_path / "b.tar.gz").archive.read_bytes()
    assert a == b
    with tarfile.open(fileobj=io.BytesIO(a), mode="r:gz") as tar:
        infos = tar.getmembers()
    assert [i.name for i in infos][1:] == sorted(i.name for i in infos[1:]) and infos[0].name == bundlefile.MANIFEST
    assert {(i.mtime, i.uid, i.gid, i.mode, i.type) for i in infos} == {(0, 0, 0, 0o600, tarfile.REGTYPE)}


def test_secrets_never_reach_the_archive(tmp_path):
    ev = docker_host()
    planted = {"/etc/libvirt/qemu/web1.xml": DOMAIN_XML, "/etc/libvirt/hooks/tls.key": "key material\n",
               "/etc/libvirt/hooks/server.pem": PEM, "/etc/libvirt/secrets/abc.base64": "c2VjcmV0\n"}
    for path, text in planted.items():
        ev.add_file(FileRecord(path, text))
    result = assemble(ev, [], tmp_path / "b.tar.gz")
    blob = b"".join(members(result.archive).values())
    for needle in (b"s3cr3t-VNC-pw", b"key material", b"PRIVATE KEY", b"c2VjcmV0"):
        assert needle not in blob
    assert b"web1" in blob  # the domain itself (scan reads its nwfilter) stays, its password blanked
    assert set(result.withheld) == {"/etc/libvirt/hooks/tls.key", "/etc/libvirt/hooks/server.pem",
                                    "/etc/libvirt/secrets/abc.base64"}


def test_redaction_replaces_every_original_and_keeps_the_findings(tmp_path):
    ev = docker_host()
    ev.add_file(FileRecord("/etc/libvirt/qemu/web1.xml", DOMAIN_XML))
    plain = assemble(ev, [], tmp_path / "plain.tar.gz")
    red = assemble(ev, [], tmp_path / "red.tar.gz", redact=True)
    text = b"".join(members(plain.archive).values()).decode()
    redacted = b"".join(n.encode() + d for n, d in members(red.archive).items()).decode()
    mapping = json.loads(red.redaction_map.read_text())
    assert stat.S_IMODE(red.redaction_map.stat().st_mode) == 0o600
    assert red.redaction_map.name not in redacted and "redaction" not in " ".join(members(red.archive))
    addresses = {a for a in re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", text) if _identifying(a)}
    assert "192.168.122.1" in addresses and len(addresses) > 2
    originals = addresses | {GUEST_MAC, HOSTNAME, "kvm-prod-17"}
    assert [o for o in originals if o in redacted] == []
    assert red.redaction == {k: len(v) for k, v in mapping.items()}
    assert all(red.redaction[k] for k in ("addresses", "macs", "names")) and red.redaction["coincidences"] == 0
    print(f"\nredaction: {red.redaction['addresses']} addresses, {red.redaction['macs']} MACs, "
          f"{red.redaction['names']} names replaced; originals found: 0; coincidences: 0")
    assert findings(valid_envelope(cli("report", str(red.archive), "-f", "json").stdout)) == \
        findings(valid_envelope(cli("report", str(plain.archive), "-f", "json").stdout))


def _identifying(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not (ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified or
                int(ip) >> 28 == 15 or int(ip) >> 24 == 0)


def test_redaction_keeps_subnet_structure_and_special_ranges():
    r = Redactor()
    for text in ('"addr": "172.17.0.0", "len": 16', "-s 192.168.122.0/24 -d 10.20.0.0/16",
                 "<ip family='ipv6' address='fd00:1:2::1' prefix='64'/>"):
        r.learn(text)
    r.settle()
    assert r.coincidences == 0  # no mapped address equals an original one
    net = ipaddress.ip_network(r.apply("172.17.0.0/16"))  # strict: host bits stay zero
    assert net.prefixlen == 16 and net != ipaddress.ip_network("172.17.0.0/16")
    assert ipaddress.ip_address(r.apply("172.17.0.2")) in net and net.subnet_of(ipaddress.ip_network("172.16.0.0/12"))
    lan = ipaddress.ip_network(r.apply("192.168.122.0/24"))
    assert r.apply("192.168.122.1") == str(lan.network_address + 1) and lan.subnet_of(
        ipaddress.ip_network("192.168.0.0/16"))
    assert ipaddress.ip_address(r.apply("fd00:1:2::1")) in ipaddress.ip_network(r.apply("fd00:1:2::/64"))
    assert r.apply("10.20.0.0/16") != "10.20.0.0/16"
    kept = "127.0.0.1 169.254.1.1 224.0.0.251 255.255.255.255 255.255.255.0 0.0.0.0/0 ::1 fe80::1 ff02::1"
    assert r.apply(kept) == kept
    assert r.apply("52:54:00:3a:9c:11") != "52:54:00:3a:9c:11" and r.apply("ff:ff:ff:ff:ff:ff") == "ff:ff:ff:ff:ff:ff"
    assert r.apply("52:54:00:3a:9c:11 and 52:54:00:3a:9c:11").split(" and ")[0] == r.apply("52:54:00:3a:9c:11")


def test_coincidences_are_counted_listed_and_shown_where_a_range_is_full(tmp_path):
    """Every /24 of 192.168/16: the mapping is a permutation of the 256 networks (the first
    mapped bit always flips), so every original is some other network's replacement."""
    r = Redactor()
    r.learn(" ".join(f"192.168.{i}.0/24 192.168.{i}.1" for i in range(256)))
    r.settle()
    assert r.coincidences == len(r.coincident) == 512 and r.counts()["coincidences"] == 512
    assert r.mapping()["coincidences"] == sorted(r.coincident)
    assert all(r.apply(a) != a for a in ("192.168.7.1", "192.168.200.0/24"))  # never a fixed point
    assert {r.apply(f"192.168.{i}.1") for i in range(256)} == {f"192.168.{i}.1" for i in range(256)}
    sparse = Redactor()
    sparse.learn("192.168.122.0/24 192.168.122.1 10.77.5.0/24")
    sparse.settle()
    assert sparse.coincidences == 0 and sparse.mapping()["coincidences"] == []
    ev = docker_host()
    ev.add_file(FileRecord("/etc/dense.conf", " ".join(f"192.168.{i}.1/24" for i in range(256))))
    res = cli_bundle_text(ev, tmp_path)
    assert "Coincidences:" in res and "the map lists them" in res


def cli_bundle_text(ev: Evidence, tmp_path: Path) -> str:
    from vnetmigrate.reports.bundle import to_text

    return to_text(assemble(ev, [], tmp_path / "dense.tar.gz", redact=True))


def test_a_hung_command_is_recorded_and_the_bundle_completes(tmp_path):
    item = run(LiveHost(Evidence()), CommandSpec("hung.txt", ("sleep", "30"), timeout=0.3))
    assert item.timed_out and item.exit_code is None and "timed out" in item.absent
    result = assemble(docker_host(), [item], tmp_path / "b.tar.gz")
    entry = next(i for i in result.manifest["items"] if i["key"] == "commands/hung.txt")
    assert entry["timed_out"] and entry["member"] is None and entry["argv"] == ["sleep", "30"]


# -- hostile or broken archives -----------------------------------------------------------
def _tar(tmp_path: Path, entries: list[tarfile.TarInfo | tuple[str, bytes]], manifest_names=None) -> Path:
    listed = manifest_names if manifest_names is not None else [e[0] for e in entries if isinstance(e, tuple)]
    manifest = {"format": bundlefile.FORMAT, "format_version": 1,
                "members": [{"name": n, "size": 0, "sha256": bundlefile.sha256(dict(
                    e for e in entries if isinstance(e, tuple)).get(n, b""))} for n in listed]}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for entry in [(bundlefile.MANIFEST, json.dumps(manifest).encode())] + entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
                continue
            name, data = entry
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path = tmp_path / "hostile.tar.gz"
    path.write_bytes(raw.getvalue())
    return path


def _special(name: str, kind: bytes, **attrs) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    for k, v in attrs.items():
        setattr(info, k, v)
    return info, None


def _one_line_error(path: Path, message: str) -> None:
    for argv in (("scan", "--from", str(path)), ("report", str(path))):
        res = cli(*argv)
        assert res.exit_code == ExitCode.ERROR, res.output
        lines = unwrapped(res.stderr).splitlines()
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in res.output, res.stderr


HOSTILE = {
    "traversal": ([("vnetmigrate-bundle/../../etc/cron.d/x", b"x")], "unsafe path"),
    "absolute": ([("/etc/passwd", b"x")], "unsafe path"),
    "outside the top directory": ([("elsewhere/x", b"x")], "unsafe path"),
    "symlink": ([_special("vnetmigrate-bundle/evidence/manifest.json", tarfile.SYMTYPE, linkname="/etc/shadow")],
                "is a link"),
    "hard link": ([_special("vnetmigrate-bundle/x", tarfile.LNKTYPE, linkname="vnetmigrate-bundle/manifest.json")],
                  "is a link"),
    "device": ([_special("vnetmigrate-bundle/sda", tarfile.BLKTYPE, devmajor=8, devminor=0)], "is a device file"),
    "fifo": ([_special("vnetmigrate-bundle/fifo", tarfile.FIFOTYPE)], "is a special file"),
    "unlisted member": ([("vnetmigrate-bundle/extra/smuggled", b"x")], "is not in the manifest"),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_hostile_members_are_refused_in_one_line(tmp_path, case):
    entries, message = HOSTILE[case]
    entries = [e[0] if isinstance(e[0], tarfile.TarInfo) else e for e in entries]
    listed = [] if case == "unlisted member" else None
    _one_line_error(_tar(tmp_path, entries, listed), message)


def test_checksum_mismatch_and_limits_are_refused(tmp_path, monkeypatch):
    good = assemble(docker_host(), [], tmp_path / "b.tar.gz").archive
    got = members(good)
    name = next(n for n in got if n.endswith("daemon.json"))
    tampered = dict(got, **{name: b'{"iptables": false}'})
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for n, d in tampered.items():
            info = tarfile.TarInfo(n)
            info.size = len(d)
            tar.addfile(info, io.BytesIO(d))
    (tmp_path / "t.tar.gz").write_bytes(raw.getvalue())
    _one_line_error(tmp_path / "t.tar.gz", "does not match its checksum")
    monkeypatch.setattr(bundlefile, "MAX_MEMBERS", 10)
    _one_line_error(good, "more than 10 members")
    monkeypatch.setattr(bundlefile, "MAX_MEMBERS", 20000)
    monkeypatch.setattr(bundlefile, "MAX_MEMBER", 100)
    _one_line_error(good, "larger than")
    monkeypatch.setattr(bundlefile, "MAX_ARCHIVE", 1000)
    _one_line_error(good, "larger than")


def test_a_fifo_named_as_a_bundle_never_blocks(tmp_path):
    fifo = tmp_path / "b.tar.gz"
    os.mkfifo(fifo)
    res = cli("report", str(fifo))  # would hang on open() or read() if it were read
    assert res.exit_code == ExitCode.ERROR and len(unwrapped(res.stderr).splitlines()) == 1, res.stderr


def test_corrupt_and_truncated_archives_are_one_line_errors(tmp_path):
    data = assemble(docker_host(), [], tmp_path / "b.tar.gz").archive.read_bytes()
    (tmp_path / "truncated.tar.gz").write_bytes(data[: len(data) // 2])
    _one_line_error(tmp_path / "truncated.tar.gz", "corrupt or truncated archive")
    (tmp_path / "corrupt.tar.gz").write_bytes(data[:20] + bytes(b ^ 0x5A for b in data[20:200]) + data[200:])
    _one_line_error(tmp_path / "corrupt.tar.gz", "corrupt or truncated archive")
    (tmp_path / "not-a-tar.tar.gz").write_bytes(gzip.compress(b"hello, not a tar\n" * 100))
    _one_line_error(tmp_path / "not-a-tar.tar.gz", "corrupt or truncated archive")
    (tmp_path / "not-gzip.tar.gz").write_text("garbage\n")  # not even gzip: neither evidence nor a bundle
    res = cli("scan", "--from", str(tmp_path / "not-gzip.tar.gz"))
    assert res.exit_code == ExitCode.ERROR and len(unwrapped(res.stderr).splitlines()) == 1, res.stderr
    assert "neither a directory saved by `scan --save-evidence` nor a bundle" in unwrapped(res.stderr)
    res = cli("report", str(tmp_path / "not-gzip.tar.gz"))  # not "malformed JSON": its name says archive
    assert res.exit_code == ExitCode.ERROR and "Traceback" not in res.output
    assert unwrapped(res.stderr).splitlines() == [
        f"vnetmigrate report: error: {tmp_path / 'not-gzip.tar.gz'} is not a bundle or an sos report: not a gzip "
        "or xz archive (an empty or partial copy, or another file under an archive's name)",
        "hint: write a bundle with `vnetmigrate bundle`; a saved scan is the JSON of `scan --format json -o FILE`"]


def test_text_output_shows_control_bytes_of_host_file_names_harmlessly(tmp_path):
    from vnetmigrate.reports.bundle import to_text

    ev = docker_host()
    ev.add_file(FileRecord("/etc/libvirt/hooks/\x1b]2;owned\x07.key", "x\n"))
    text = to_text(assemble(ev, [], tmp_path / "b.tar.gz"))
    assert "\x1b" not in text and "\\x1b]2;owned\\x07.key" in text and "Withheld" in text


def test_the_redaction_line_counts_in_the_right_number(tmp_path):
    from dataclasses import replace

    from vnetmigrate.reports.bundle import to_text

    red = assemble(docker_host(), [], tmp_path / "red.tar.gz", redact=True)
    one = replace(red, redaction={**red.redaction, "addresses": 1, "macs": 1, "names": 1})
    assert "Redacted: 1 address, 1 MAC address, 1 name; the map is " in to_text(one)
    two = replace(red, redaction={**red.redaction, "addresses": 2, "macs": 0, "names": 2})
    assert "Redacted: 2 addresses, 0 MAC addresses, 2 names; the map is " in to_text(two)


def test_an_existing_bundle_or_redaction_map_is_replaced_only_with_force(tmp_path):
    """An earlier redacted bundle's map is the only key to its names: a second `bundle -o` to the
    same name changes neither file unless forced; the map alone is enough to refuse."""
    from vnetmigrate.errors import InputError

    archive = tmp_path / "red.tar.gz"
    first = assemble(docker_host(), [], archive, redact=True)
    kept = archive.read_bytes(), first.redaction_map.read_bytes()
    for redact in (True, False):
        with pytest.raises(InputError, match=f"^{re.escape(str(archive))}"
                                             f"{re.escape(' and ' + str(first.redaction_map)) if redact else ''}"
                                             " already exists?; nothing was written$") as refused:
            assemble(docker_host(), [], archive, redact=redact)
        assert "--force" in refused.value.hint
        assert (archive.read_bytes(), first.redaction_map.read_bytes()) == kept
    archive.unlink()
    with pytest.raises(InputError, match=f"^{re.escape(str(first.redaction_map))} already exists"):
        assemble(docker_host(), [], archive, redact=True)
    assert not archive.exists() and first.redaction_map.read_bytes() == kept[1]
    plain = tmp_path / "plain.tgz"
    plain.write_bytes(b"an older bundle")
    again = assemble(docker_host(), [], plain, force=True)
    assert bundlefile.read_bundle(again.archive)[0]["redacted"] is False
    forced = assemble(docker_host(), [], archive, redact=True, force=True)
    assert forced.redaction_map == first.redaction_map and json.loads(forced.redaction_map.read_text())["names"]
    assert stat.S_IMODE(forced.redaction_map.stat().st_mode) == 0o600


@pytest.mark.parametrize("name", ["b.zip", "b.tar", "b.gz", "b", "b.tar.gz.zip", ".tar.gz", "b.TAR.GZ"])
def test_a_name_that_promises_another_format_is_refused(tmp_path, name):
    """The archive is a gzip-compressed tar whatever its name: a name that says otherwise (a
    .zip no unzip opens) is refused before anything is written, with the name to use."""
    from vnetmigrate.errors import InputError

    with pytest.raises(InputError, match="a bundle is a gzip-compressed tar; its name must end in .tar.gz or .tgz") as no:
        assemble(docker_host(), [], tmp_path / name, redact=True)
    assert no.value.hint.startswith("name it ") and no.value.hint.endswith(".tar.gz")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="bundle refuses to start without root")
def test_the_cli_refuses_before_reading_the_host(tmp_path):
    """Refusals come before collection (a minute on a big host), with one line and a hint."""
    (tmp_path / "old.tar.gz").write_bytes(b"kept")
    for name, message in (("b.zip", "a bundle is a gzip-compressed tar"), ("old.tar.gz", "already exists")):
        res = cli("bundle", "--netns", "vnm-no-such-namespace", "-o", str(tmp_path / name), "--redact")
        assert res.exit_code == ExitCode.ERROR, res.output
        first, hint = unwrapped(res.stderr).splitlines()
        assert first.startswith(f"vnetmigrate bundle: error: {tmp_path / name}") and message in first
        assert hint.startswith("hint: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.tar.gz"] and (tmp_path / "old.tar.gz").read_bytes() == b"kept"
