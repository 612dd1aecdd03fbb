import json

import pytest

from vnetmigrate.errors import InputError
from vnetmigrate.evidence import Evidence
from tests.unit.builders import make_evidence, status_xml


def test_save_and_load_round_trip(tmp_path):
    ev = make_evidence(files={"/run/libvirt/network/default.xml": status_xml(),
                              "/etc/docker/daemon.json": None})
    ev.add_error("collect.nft", "boom")
    ev.save(tmp_path / "ev")
    back = Evidence.load(tmp_path / "ev")
    assert back.commands == ev.commands
    assert back.files == ev.files
    assert back.listings == ev.listings
    assert back.errors == ev.errors


def _saved(tmp_path):
    make_evidence().save(tmp_path)
    return json.loads((tmp_path / "manifest.json").read_text())


@pytest.mark.parametrize("mutate, message", [
    (lambda m: m.update(format="other"), "not vnetmigrate evidence"),
    (lambda m: m.update(format_version=99), "format_version 99"),
    (lambda m: m["commands"][0].update(stdout="../../etc/shadow"), "escapes the evidence directory"),
    (lambda m: m["commands"][0].update(returncode="zero"), "not an integer"),
    (lambda m: m["commands"][0].update(returncode=True), "not an integer"),
    (lambda m: m["files"][0].update(path="etc/os-release"), "not absolute"),
    (lambda m: m.pop("commands"), "malformed"),
])
def test_corrupt_or_hostile_manifest_is_refused(tmp_path, mutate, message):
    manifest = _saved(tmp_path)
    mutate(manifest)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError) as err:
        Evidence.load(tmp_path)
    assert message in err.value.message


def test_missing_and_unparsable_manifest(tmp_path):
    with pytest.raises(InputError, match="no manifest.json"):
        Evidence.load(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(InputError, match="unreadable"):
        Evidence.load(tmp_path)


def test_missing_stored_file(tmp_path):
    _saved(tmp_path)
    (tmp_path / "commands" / "tools.stdout").unlink()
    with pytest.raises(InputError, match="stored file 'commands/tools.stdout' is missing"):
        Evidence.load(tmp_path)


def test_fifo_or_binary_stored_files_are_refused_not_read(tmp_path):
    import os

    _saved(tmp_path)
    target = tmp_path / "commands" / "tools.stdout"
    target.unlink()
    os.mkfifo(target)  # reading it would block forever
    with pytest.raises(InputError, match="is a FIFO, not a regular file"):
        Evidence.load(tmp_path)
    target.unlink()
    target.write_bytes(b"\xff\xfe not text")
    with pytest.raises(InputError, match="is not UTF-8 text"):
        Evidence.load(tmp_path)


def test_malformed_tools_list_is_an_error_of_that_unit_not_a_crash(tmp_path):
    from vnetmigrate.evidence import CommandRecord
    from vnetmigrate.scan import analyse

    ev = make_evidence()
    ev.commands["tools"] = CommandRecord("tools", ("which",), 0, stdout="[]")
    result = analyse(ev)
    assert any("tools is malformed" in e["message"] for e in result.errors)
    assert result.status != "ok"


def test_a_deferred_record_is_written_once_when_read_and_is_the_record_of_that_text(tmp_path):
    from dataclasses import replace

    from vnetmigrate.evidence import CommandRecord, DeferredRecord

    calls = []

    def write():
        calls.append(1)
        return '{"nftables": []}'

    argv = ("nft", "-j", "list", "chain", "inet", "filter", "forward")
    rec = DeferredRecord.deferred("nft.chain.0", argv, write, via="netlink", duration=0.5)
    plain = CommandRecord("nft.chain.0", argv, 0, stdout='{"nftables": []}', via="netlink", duration=0.5)
    assert not calls and rec.ok
    assert rec == plain and plain == rec and hash(rec) == hash(plain)
    assert rec.stdout == plain.stdout and len(calls) == 1
    assert rec.stdout == plain.stdout and len(calls) == 1  # kept, not written again
    assert rec != replace(plain, stdout="")
    assert replace(rec, stdout="").stdout == ""  # a bundle withholding it
    assert replace(DeferredRecord.deferred("k", argv, write), error="x").stdout == plain.stdout

    # saved (and loaded) as the record of that text
    ev, other = Evidence(), Evidence()
    ev.add_command(DeferredRecord.deferred("nft.chain.0", argv, write, via="netlink", duration=0.5))
    other.add_command(plain)
    ev.save(tmp_path / "deferred")
    other.save(tmp_path / "plain")
    for name in ("manifest.json", "commands/nft.chain.0.stdout", "commands/nft.chain.0.stderr"):
        assert (tmp_path / "deferred" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()
    assert Evidence.load(tmp_path / "deferred").commands == ev.commands
