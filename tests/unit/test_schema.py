"""The JSON Schema subset validator, and the published scan schema against real scan output."""

import copy
import fnmatch
import json
import tomllib
from pathlib import Path

import pytest

from tests.render import scenarios
from tests.unit.schema_check import schema_problems, valid_envelope
from vnetmigrate.reports import schema
from vnetmigrate.reports.schema import SchemaError, validate

REPO = Path(__file__).resolve().parents[2]

OBJ = {
    "type": "object",
    "required": ["name", "row"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "row": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
        "severity": {"type": "string", "enum": ["info", "warning", "blocker"]},
        "flag": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "child": {"$ref": "#/$defs/child"},
        "open": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
    "$defs": {"child": {"type": "object", "required": ["x"], "properties": {"x": {"enum": [1, True]}}}},
}


@pytest.mark.parametrize("instance, problem", [
    ({"name": "a"}, "$: the key 'row' is missing"),
    ({"name": 3, "row": 1}, "$.name: expected string, found integer 3"),
    ({"name": "a", "row": "1"}, '$.row: expected integer or null, found string "1"'),
    ({"name": "a", "row": 0}, "$.row: 0 is less than the minimum 1"),
    ({"name": "a", "row": 6}, "$.row: 6 is more than the maximum 5"),
    ({"name": "a", "row": 1.5}, "$.row: expected integer or null, found number 1.5"),
    ({"name": "a", "row": True}, "$.row: expected integer or null, found boolean true"),
    ({"name": "a", "row": 1, "severity": "fatal"}, '$.severity: "fatal" is not one of "info", "warning", "blocker"'),
    ({"name": "a", "row": 1, "flag": 0}, "$.flag: expected boolean, found integer 0"),
    ({"name": "a", "row": 1, "tags": ["a", 2]}, "$.tags[1]: expected string, found integer 2"),
    ({"name": "a", "row": 1, "tags": "a"}, '$.tags: expected array, found string "a"'),
    ({"name": "a", "row": 1, "extra": 1}, "$: unexpected key 'extra'"),
    ({"name": "a", "row": 1, "child": {}}, "$.child: the key 'x' is missing"),
    ({"name": "a", "row": 1, "child": {"x": 2}}, "$.child.x: 2 is not one of 1, true"),
    ({"name": "a", "row": 1, "open": {"k": "v"}}, '$.open.k: expected integer, found string "v"'),
    ([], "$: expected object, found array []"),
    (None, "$: expected object, found null"),
])
def test_rejects(instance, problem):
    assert problem in validate(instance, OBJ)


@pytest.mark.parametrize("instance", [
    {"name": "a", "row": None},
    {"name": "a", "row": 5, "severity": "blocker", "flag": False, "tags": [], "child": {"x": True}},
    {"name": "a", "row": 1.0, "child": {"x": 1.0}, "open": {"k": 1, "j": 2}},  # JSON: 1.0 is the integer 1
])
def test_accepts(instance):
    assert validate(instance, OBJ) == []


def test_true_is_not_one_and_one_is_not_true():
    assert validate(True, {"enum": [1]}) and validate(1, {"enum": [True]})
    assert validate(1, {"enum": [1]}) == [] and validate(True, {"enum": [True]}) == []


def test_keywords_apply_only_to_their_types():
    # How data is "a scan or null": `required` says nothing about null.
    s = {"type": ["object", "null"], "required": ["a"], "$ref": "#/$defs/d", "$defs": {"d": {"required": ["b"]}}}
    assert validate(None, s) == []
    assert sorted(validate({}, s)) == ["$: the key 'a' is missing", "$: the key 'b' is missing"]
    assert validate("x", {"minimum": 3, "items": {"type": "string"}, "required": ["a"]}) == []


def test_every_problem_is_reported_not_only_the_first():
    assert len(validate({"name": 1, "row": 9, "x": 0}, OBJ)) == 3


@pytest.mark.parametrize("bad, message", [
    ({"type": "string", "pattern": "^a"}, "unsupported keyword(s): pattern"),
    ({"properties": {"a": {"anyOf": []}}}, "#/properties/a: unsupported keyword(s): anyOf"),
    ({"properties": {"a": {"oneOf": []}}}, "#/properties/a/oneOf: must be a non-empty list of schemas"),
    ({"oneOf": [{"allOf": []}]}, "#/oneOf/0: unsupported keyword(s): allOf"),
    ({"items": {"format": "uri"}}, "#/items: unsupported keyword(s): format"),
    ({"type": "str"}, "unknown type 'str'"),
    ({"$ref": "#/$defs/missing"}, "does not resolve"),
    ({"$ref": "https://example.org/other.json"}, "only local references"),
    ({"properties": {"a": 3}}, "a schema must be an object or a boolean"),
])
def test_refuses_schemas_it_cannot_check(bad, message):
    with pytest.raises(SchemaError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate({}, bad)


# How txn-v1 ties data to command: exactly one alternative must hold.
ONE_OF = {"oneOf": [{"properties": {"command": {"enum": ["migrate"]}, "data": {"required": ["target"]}}},
                    {"properties": {"command": {"enum": ["rollback"]}, "data": {"required": ["transactions"]}}}]}


@pytest.mark.parametrize("instance", [
    {"command": "migrate", "data": {"target": "nftables"}},
    {"command": "rollback", "data": {"transactions": []}},
    {"command": "rollback", "data": None},
])
def test_one_of_accepts_exactly_one_match(instance):
    assert validate(instance, ONE_OF) == []


@pytest.mark.parametrize("instance, problem", [
    ({"command": "migrate", "data": {"transactions": []}},
     "$: matches none of the 2 alternatives (oneOf): 1) $.data: the key 'target' is missing; "
     "2) $.command: \"migrate\" is not one of \"rollback\""),
    ({"command": "history", "data": None}, "$: matches none of the 2 alternatives (oneOf)"),
    ({"data": {"target": "x", "transactions": []}}, "$: matches alternatives 1, 2 of oneOf, exactly one allowed"),
])
def test_one_of_rejects_no_match_and_several(instance, problem):
    found = validate(instance, ONE_OF)
    assert len(found) == 1 and found[0].startswith(problem), found


def test_boolean_schemas():
    assert validate({"a": 1}, {"properties": {"a": False}}) == ["$.a: not allowed here"]
    assert validate({"a": 1}, {"properties": {"a": True}}) == []


# -- the published schema ------------------------------------------------------------------

def test_published_schema_loads_from_the_package_and_is_draft_2020_12():
    s = schema.load("scan-v1")
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert s["properties"]["status"]["enum"] == ["ok", "warnings", "blockers", "error"]


def test_package_data_ships_the_schema_and_the_stylesheet():
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    patterns = data["vnetmigrate.reports"]
    for shipped in ("schemas/scan-v1.schema.json", "schemas/plan-v1.schema.json", "schemas/txn-v1.schema.json",
                    "schemas/history-v1.schema.json", "schemas/rules-v1.schema.json", "report.css"):
        assert (REPO / "reports" / shipped).is_file()
        assert any(fnmatch.fnmatch(shipped, p) for p in patterns), shipped


@pytest.mark.parametrize("evidence", [scenarios.docker_evidence, scenarios.switching_evidence,
                                      scenarios.quiet_evidence, scenarios.hostile_evidence,
                                      scenarios.broken_evidence])
def test_real_scans_conform(evidence):
    valid_envelope(scenarios.envelope(evidence()))


def _mutated(change):
    doc = copy.deepcopy(scenarios.envelope(scenarios.docker_evidence()))
    change(doc)
    return doc


@pytest.mark.parametrize("change, problem", [
    (lambda d: d.update(schema_version=2), "$.schema_version: 2 is not one of 1"),
    (lambda d: d.update(status="fine"), '$.status: "fine" is not one of'),
    (lambda d: d["data"].pop("verdict"), "$.data: the key 'verdict' is missing"),
    (lambda d: d["data"]["matrix"].update(now=6), "$.data.matrix.now: 6 is more than the maximum 5"),
    (lambda d: d["data"]["matrix"].update(after="3"), "$.data.matrix.after: expected integer or null"),
    (lambda d: d["data"]["findings"][0].update(severity="critical"), "$.data.findings[0].severity"),
    (lambda d: d["data"]["findings"][0]["workarounds"][0].update(commands="iptables -I"),
     "$.data.findings[0].workarounds[0].commands: expected array"),
    (lambda d: d["data"]["findings"][0]["evidence"][0].pop("where"),
     "$.data.findings[0].evidence[0]: the key 'where' is missing"),
    (lambda d: d["data"]["facts"]["libvirt"].update(configured_backend="ebtables"),
     "$.data.facts.libvirt.configured_backend"),
    (lambda d: d["data"]["facts"]["libvirt"].pop("effective_backend"),
     "$.data.facts.libvirt: the key 'effective_backend' is missing"),
    (lambda d: d["errors"].append({"unit": "x"}), "$.errors[0]: the key 'message' is missing"),
    (lambda d: d.update(extra=1), "$: unexpected key 'extra'"),
])
def test_schema_rejects_broken_scans(change, problem):
    problems = schema_problems(_mutated(change))
    assert any(problem in p for p in problems), problems


def test_facts_may_grow_keys_and_groups():
    def grow(d):
        d["data"]["facts"]["libvirt"]["nwfilter"] = {"rules": 3}
        d["data"]["facts"]["docker"]["version"] = "28.0"
        d["data"]["facts"]["ufw"] = {"active": True}
    assert schema_problems(_mutated(grow)) == []


def test_missing_fact_groups_are_null():
    ev = scenarios.quiet_evidence()
    del ev.commands["nft.chains"]
    doc = valid_envelope(scenarios.envelope(ev))
    assert doc["data"]["facts"]["nftables"] is None and doc["errors"]


def test_valid_envelope_fails_loudly_on_bad_output():
    with pytest.raises(AssertionError, match="does not match scan-v1.schema.json"):
        valid_envelope(json.dumps({"schema_version": 1}))
    with pytest.raises(AssertionError, match="does not match plan-v1.schema.json"):  # the command's own schema
        valid_envelope({"schema_version": 1, "tool_version": "x", "command": "plan", "status": "warnings",
                        "exit_code": 3, "data": None, "errors": []})
