"""The remedy registry: one builder per finding id, every module of vnetmigrate.repair loaded."""

import pytest

from vnetmigrate.repair import remedies


def test_a_finding_id_cannot_have_two_remedies(monkeypatch):
    monkeypatch.setattr(remedies, "REGISTRY", {})
    remedies.remedy("some-finding")(lambda facts, finding, ctx: None)
    with pytest.raises(ValueError, match="two remedies for 'some-finding'"):
        remedies.remedy("some-finding")(lambda facts, finding, ctx: None)


def test_load_all_imports_each_module_of_the_package_once():
    first = remedies.load_all()
    assert remedies.load_all() is first
