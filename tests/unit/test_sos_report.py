"""sos reports: real ones recorded from Debian 13's sos 4.9.1 on hosts real libvirt 11.3 and Docker's
rules set up (tests/data/sos/README.md), analysed offline by `report` and `scan --from` as a
directory and as an archive; the analysis must agree with the live scan recorded beside each
(tests/peer/sos.py `disagreements`: the same findings where sos has the facts, "cannot tell"
where it does not, never another answer). Hostile archives are refused or left unread.
The live comparison with a fresh sos run is tests/peer/test_sos_peer.py."""

from __future__ import annotations

import io
import json
import lzma
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.peer.sos import DATA, disagreements
from tests.unit.schema_check import valid_envelope
from tests.unit.wrapping import unwrapped
from vnetmigrate import bundlefile, sosreport
from vnetmigrate.cli import app
from vnetmigrate.exitcodes import ExitCode

RECORDED = sorted(p for p in DATA.iterdir() if p.is_dir())


def cli(*argv: str):
    return CliRunner().invoke(app, list(argv))


def analyse(source: Path, command: str = "report") -> tuple[int, dict]:
    argv = ("report", str(source)) if command == "report" else ("scan", "--from", str(source))
    res = cli(*argv, "--format", "json")
    return res.exit_code, valid_envelope(res.stdout)


def as_archive(report: Path, target: Path, top: str = "sosreport-vm-2026-12-06-abcdefg") -> Path:
    """The recorded directory packed as sos packs it (tar.xz under one top directory)."""
    with tarfile.open(target, "w:xz") as tar:
        for path in sorted(report.rglob("*")):
            if path.is_file() or path.is_symlink():
                tar.add(path, arcname=f"{top}/{path.relative_to(report).as_posix()}", recursive=False)
    return target


def test_recordings_cover_both_backends():
    assert [p.name for p in RECORDED] == ["11.3-nftables-docker", "11.3-unset-docker"]


@pytest.mark.parametrize("recorded", RECORDED, ids=lambda p: p.name)
def test_a_recorded_sos_report_agrees_with_the_live_scan(recorded, tmp_path):
    live = json.loads((recorded / "live-scan.json").read_text())
    archive = as_archive(recorded / "sosreport", tmp_path / "sosreport-vm.tar.xz")
    results = [analyse(recorded / "sosreport"), analyse(archive), analyse(archive, "scan")]
    for code, doc in results:
        assert disagreements(live, code, doc) == []
        assert doc["data"]["host"]["source"] == "saved"
    (code, doc), *others = results
    assert all((c, d["data"]["findings"]) == (code, doc["data"]["findings"]) for c, d in others)
    missing = {e["unit"] for e in doc["errors"]}
    # what sos 4.9.1 does not collect on Debian 13 (docs/sos-reports.md), and nothing else
    assert missing == {"facts.nftables_service", "facts.persist", "facts.port_forwards"}
    assert "network.conf was not collected" in doc["data"]["matrix"]["detail"]["after"]["backend"]["reason"]
    print(f"\n{recorded.name}: live {live['status']} {[f[:2] for f in live['findings']]}\n"
          f"  sos {doc['status']} {sorted((f['id'], f['severity']) for f in doc['data']['findings'])}")


def test_the_nftables_host_gets_the_docker_blocker_from_sos_alone():
    code, doc = analyse(DATA / "11.3-nftables-docker" / "sosreport")
    assert code == ExitCode.BLOCKERS
    drop = next(f for f in doc["data"]["findings"] if f["id"] == "docker-forward-drop")
    assert drop["severity"] == "blocker"
    facts = doc["data"]["facts"]
    assert facts["libvirt"]["effective_backend"] == "nftables" and facts["libvirt"]["version"] == "11.3.0"
    assert facts["system"]["ip_forward"] is True


def test_where_sos_lacks_network_conf_the_upgrade_is_cannot_tell_not_ready():
    live = json.loads((DATA / "11.3-unset-docker" / "live-scan.json").read_text())
    code, doc = analyse(DATA / "11.3-unset-docker" / "sosreport")
    assert live["exit_code"] == 0 and code == ExitCode.WARNINGS
    assert doc["data"]["verdict"].startswith("cannot tell yet")


def test_iptables_rules_come_from_nfts_listing_of_iptables_nft_tables():
    report = DATA / "11.3-unset-docker" / "sosreport"
    ev = sosreport.load(report)
    listings = {r.argv[2:]: r.stdout for r in ev.commands.values() if r.argv[:1] == ("iptables-nft",)}
    assert "-A LIBVIRT_PRT -o virbr0 -p udp -m udp --dport 68 -j CHECKSUM --checksum-fill" in \
        listings[("mangle", "-S", "LIBVIRT_PRT")]
    assert listings[("filter", "-S", "FORWARD")].startswith("-P FORWARD DROP\n")
    assert "-A DOCKER-CT -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT" in \
        listings[("filter", "-S", "DOCKER-CT")]


def _xz_tar(path: Path, entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    path.write_bytes(lzma.compress(raw.getvalue(), format=lzma.FORMAT_XZ))
    return path


def _member(name: str, data: bytes = b"", **kw) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    for k, v in kw.items():
        setattr(info, k, v)
    if info.isreg():
        info.size = len(data)
        return info, data
    return info, None


def test_hostile_members_are_never_read_through(tmp_path):
    nft = (DATA / "11.3-nftables-docker/sosreport" / sosreport.NFT).read_bytes()
    top = "sosreport-x"
    archive = _xz_tar(tmp_path / "sosreport-x.tar.xz", [
        _member(f"{top}/{sosreport.NFT}", nft),
        _member(f"{top}/../../etc/libvirt/qemu/networks/escape.xml", b"<network><name>escape</name></network>"),
        _member(f"/{top}/etc/libvirt/qemu/networks/abs.xml", b"<network><name>abs</name></network>"),
        _member(f"{top}/etc/libvirt/qemu/networks/link.xml", type=tarfile.SYMTYPE, linkname="/etc/shadow"),
        _member(f"{top}/run/libvirt/network/dev.xml", type=tarfile.CHRTYPE, devmajor=1, devminor=3),
        _member(f"{top}/run/libvirt/network/fifo.xml", type=tarfile.FIFOTYPE),
    ])
    ev = sosreport.load(archive)
    assert ev.listing("/etc/libvirt/qemu/networks") == ["link.xml"]  # a name only: never opened
    assert ev.file("/etc/libvirt/qemu/networks/link.xml") is None
    assert not any("escape" in p or "abs" in p or "dev.xml" in p or "fifo" in p for p in ev.files)
    code, doc = analyse(archive)
    assert code in (ExitCode.WARNINGS, ExitCode.BLOCKERS) and doc["status"] != "error"


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_damaged_archives_are_one_line_errors(tmp_path, damage):
    data = as_archive(DATA / "11.3-unset-docker/sosreport", tmp_path / "sosreport-ok.tar.xz").read_bytes()
    bad = data[: len(data) // 2] if damage == "truncated" else data[:40] + bytes(b ^ 0x5A for b in data[40:400]) + data[400:]
    (tmp_path / "sosreport-bad.tar.xz").write_bytes(bad)
    res = cli("report", str(tmp_path / "sosreport-bad.tar.xz"))
    assert res.exit_code == ExitCode.ERROR and len(unwrapped(res.stderr).strip().splitlines()) == 1, res.stderr
    assert "corrupt or truncated archive" in res.stderr


def test_limits_of_the_bundle_apply(tmp_path, monkeypatch):
    archive = as_archive(DATA / "11.3-unset-docker/sosreport", tmp_path / "sosreport-ok.tar.xz")
    monkeypatch.setattr(sosreport, "MAX_MEMBERS", 5)
    res = cli("report", str(archive))
    assert res.exit_code == ExitCode.ERROR and "more than 5 members" in res.stderr
    monkeypatch.setattr(sosreport, "MAX_MEMBERS", 500_000)
    monkeypatch.setattr(bundlefile, "MAX_MEMBER", 1000)
    res = cli("report", str(archive))
    assert res.exit_code == ExitCode.ERROR and "larger than" in res.stderr


def test_a_directory_that_is_not_a_sos_report_is_still_evidence_or_refused(tmp_path):
    (tmp_path / "d").mkdir()
    res = cli("report", str(tmp_path / "d"))
    assert res.exit_code == ExitCode.ERROR and "no manifest.json" in unwrapped(res.stderr)


def test_links_in_an_extracted_directory_are_never_followed(tmp_path):
    report = tmp_path / "sosreport-x"
    import shutil

    shutil.copytree(DATA / "11.3-unset-docker/sosreport", report, symlinks=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "evil.xml").write_text("<network><name>evil</name></network>")
    nets = report / "etc/libvirt/qemu/networks"
    shutil.rmtree(nets)
    nets.symlink_to(outside)  # the whole directory is a link out of the report
    (report / "run/libvirt/network/stolen.xml").symlink_to(outside / "evil.xml")
    ev = sosreport.load(tmp_path)  # the report's parent: its one sos report is found
    assert not any("evil" in (r.content or "") for r in ev.files.values())
    assert ev.listing("/etc/libvirt/qemu/networks") == []
    assert "stolen.xml" in ev.listing("/run/libvirt/network") and ev.file("/run/libvirt/network/stolen.xml") is None


def test_a_table_with_a_rule_not_understood_keeps_its_chains_and_the_analysis_says_incomplete():
    texts = {p.relative_to(REC).as_posix(): p.read_text() for p in REC.rglob("*") if p.is_file() and not p.is_symlink()}
    texts[sosreport.NFT] += ("table inet fw { # handle 99\n\tchain fwd { # handle 1\n"
                             "\t\ttype filter hook forward priority filter + 10; policy accept;\n"
                             "\t\tiifname . oifname { \"a\" . \"b\" } accept # handle 2\n\t}\n}\n")
    ev = sosreport.evidence(texts, set(), "test")
    assert [e["unit"] for e in ev.errors] == ["sos.nft"] and "inet fw" in ev.errors[0]["message"]
    chains = json.loads(ev.command("nft.chains").stdout)["nftables"]
    assert {"family": "inet", "table": "fw", "name": "fwd", "handle": 1, "type": "filter", "hook": "forward",
            "prio": 10, "policy": "accept"} in [c["chain"] for c in chains if "chain" in c]
    assert ev.command("nft.table.inet.fw") is None  # its rules: not read, as a live scan leaves chains unread
    from vnetmigrate.scan import analyse

    result = analyse(ev)
    assert "incomplete" in result.verdict or "cannot tell" in result.verdict
    # in libvirt's own table the same rule makes the ruleset unreadable: ownership needs every rule
    lines = texts[sosreport.NFT].splitlines(keepends=True)
    chain = next(i for i, ln in enumerate(lines) if ln.startswith("table ip libvirt_network")) + 1
    lines.insert(chain + 1, "\t\tlimit rate 5/second accept # handle 999\n")
    ev = sosreport.evidence({**texts, sosreport.NFT: "".join(lines)}, set(), "test")
    assert not ev.command("nft.chains").ok and "limit" in ev.command("nft.chains").error


REC = DATA / "11.3-nftables-docker" / "sosreport"


def test_an_rpm_package_list_gives_the_tools_and_libvirts_version():
    """sos's rpm plugin writes `rpm -qa --qf "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\t..."` as package-data."""
    data = "\n".join(f"{n}\tMon 01 Dec 2025\t1764547200\tRed Hat, Inc.\tbuild.example\t(none)\t(none)" for n in (
        "libvirt-daemon-driver-network-10.10.0-7.el10.x86_64", "libvirt-daemon-10.10.0-7.el10.x86_64",
        "nftables-1.1.1-4.el10.x86_64", "iptables-nft-1.8.11-8.el10.x86_64", "firewalld-2.3.0-1.el10.noarch",
        "python3-nftables-1.1.1-4.el10.x86_64", "rpm-4.19.1.1-12.el10.x86_64"))
    ev = sosreport.evidence({sosreport.RPM: data + "\n"}, set(), "test")
    tools = json.loads(ev.command("tools").stdout)
    assert {"nft", "iptables-nft", "firewall-cmd", "virtnetworkd", "libvirtd"} <= set(tools)
    assert "iptables-legacy" not in tools and "ufw" not in tools
    assert ev.command("libvirtd.version").stdout.split()[1] == "10.10.0"
    debian = sosreport.evidence({sosreport.DPKG: "ii  libvirt-daemon-driver-network 11.3.0-3 amd64 x\n"
                                                 "ii  dpkg 1.22 amd64 x\n"}, set(), "test")
    assert "virtnetworkd" not in json.loads(debian.command("tools").stdout)  # Debian's libvirtd loads the driver
