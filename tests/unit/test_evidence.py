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
    with pytest.raises(InputError, match="stored file is unreadable"):
        Evidence.load(tmp_path)
