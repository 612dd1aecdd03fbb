"""`schema.compiled` (the fast yes/no `fleet` uses on thousands of saved scans) agrees with `validate`."""

import copy

import pytest

from tests.render import scenarios
from tests.unit.test_schema import OBJ
from vnetmigrate.reports import schema

SCAN = schema.load("scan-v1")
OBJ_CASES = [
    {"name": "a"}, {"name": 3, "row": 1}, {"name": "a", "row": "1"}, {"name": "a", "row": 0}, {"name": "a", "row": 6},
    {"name": "a", "row": 1.5}, {"name": "a", "row": True}, {"name": "a", "row": 1, "severity": "fatal"},
    {"name": "a", "row": 1, "flag": 0}, {"name": "a", "row": 1, "tags": ["a", 2]}, {"name": "a", "row": 1, "tags": "a"},
    {"name": "a", "row": 1, "extra": 1}, {"name": "a", "row": 1, "child": {}}, {"name": "a", "row": 1, "child": {"x": 2}},
    {"name": "a", "row": 1, "open": {"k": "v"}}, [], None,
    {"name": "a", "row": None},
    {"name": "a", "row": 5, "severity": "blocker", "flag": False, "tags": [], "child": {"x": True}},
    {"name": "a", "row": 1.0, "child": {"x": 1.0}, "open": {"k": 1, "j": 2}},
]


def broken_scans():
    base = scenarios.envelope(scenarios.docker_evidence())
    changes = [
        lambda d: d.update(schema_version=2),
        lambda d: d["data"].pop("verdict"),
        lambda d: d["data"]["matrix"].update(now=6),
        lambda d: d["data"]["findings"][0].update(severity="critical"),
        lambda d: d["data"]["findings"][0]["workarounds"][0].update(commands="iptables -I"),
        lambda d: d["data"]["findings"][-1]["evidence"].append({"kind": "rule"}),
        lambda d: d["data"]["facts"]["libvirt"].update(configured_backend="ebtables"),
        lambda d: d["errors"].append({"unit": "x"}),
        lambda d: d.update(data=None),  # a failed scan's envelope: valid
        lambda d: d["data"]["facts"].update(ufw={"active": True}),  # groups may grow: valid
    ]
    for change in changes:
        doc = copy.deepcopy(base)
        change(doc)
        yield doc


def cases():
    yield from ((OBJ, case) for case in OBJ_CASES)
    for make in (scenarios.docker_evidence, scenarios.switching_evidence, scenarios.quiet_evidence,
                 scenarios.hostile_evidence, scenarios.broken_evidence):
        yield SCAN, scenarios.envelope(make())
    yield from ((SCAN, doc) for doc in broken_scans())
    yield from ((s, 1) for s in (True, False))


@pytest.mark.parametrize("keywords", ["all", "without enum and items"])
def test_conforms_exactly_when_validate_finds_nothing(monkeypatch, keywords):
    if keywords != "all":  # a keyword compiled does not decide itself is handed to validate's code
        monkeypatch.setattr(schema, "_FAST", schema._FAST - {"enum", "items"})
    verdicts = [(schema.compiled(s)(instance), schema.validate(instance, s) == []) if isinstance(s, dict)
                else (schema._compile(s, s, {})(instance), s) for s, instance in cases()]
    assert all(fast == full for fast, full in verdicts), verdicts
    assert {fast for fast, _ in verdicts} == {True, False}  # both answers were exercised


def test_a_schema_that_refers_to_itself_compiles():
    tree = {"$defs": {"node": {"type": "object", "properties": {"kids": {"type": "array",
                                                                           "items": {"$ref": "#/$defs/node"}}}}},
            "$ref": "#/$defs/node"}
    check = schema.compiled(tree)
    assert check({"kids": [{"kids": []}, {}]}) and not check({"kids": [{"kids": [1]}]})
