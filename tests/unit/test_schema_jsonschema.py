"""The project's own validator (reports/schema.py) against the real `jsonschema` package.

The installed tool validates with its own small validator (its runtime dependencies stay
typer, rich and python-iptables); here, in the test tier only, jsonschema checks that every
published schema is a valid draft 2020-12 schema and that both validators agree on every
command's real output and on broken variants of it.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any, Callable

import jsonschema
import pytest

from tests.unit.command_outputs import documents
from tests.unit.schema_check import SCHEMAS
from vnetmigrate.reports import schema

NAMES = sorted(p.name.removesuffix(".schema.json")
               for p in resources.files("vnetmigrate.reports").joinpath("schemas").iterdir()
               if p.name.endswith(".schema.json"))


def raw(name: str) -> dict[str, Any]:
    return json.loads(resources.files("vnetmigrate.reports").joinpath("schemas", f"{name}.schema.json").read_text())


def ours(doc: Any, name: str) -> bool:
    return schema.validate(doc, schema.load(name)) == []


def theirs(doc: Any, name: str) -> bool:
    return jsonschema.Draft202012Validator(raw(name)).is_valid(doc)


@pytest.fixture(scope="module")
def docs(tmp_path_factory) -> dict[str, dict[str, Any]]:
    return documents(tmp_path_factory.mktemp("outputs"))


def test_every_command_has_a_published_schema():
    assert NAMES == ["bundle-manifest-v1", "bundle-v1", "fleet-v1", "gate-v1", "history-v1", "plan-v1", "repair-v1",
                     "rules-v1", "scan-v1", "txn-v1"]
    assert set(SCHEMAS.values()) | {"bundle-manifest-v1"} == set(NAMES)  # the manifest is a file in a bundle


@pytest.mark.parametrize("name", NAMES)
def test_each_schema_is_valid_draft_2020_12_for_both(name):
    doc = raw(name)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(doc)
    schema.check_schema(doc)


def test_every_command_output_is_accepted_by_both(docs):
    assert {d["command"] for d in docs.values()} == set(SCHEMAS) - {"report"}
    for label, doc in docs.items():
        name = SCHEMAS[doc["command"]]
        assert ours(doc, name), (label, schema.validate(doc, schema.load(name)))
        assert theirs(doc, name), (label, [e.message for e in jsonschema.Draft202012Validator(raw(name))
                                           .iter_errors(doc)])


def test_both_agree_on_every_output_against_every_schema(docs):
    """A plan is no history: each document fits its own command's schema only (scan's excepted:
    scan-v1 accepts any command's error envelope, as documented)."""
    disagree = [(label, name) for label, doc in docs.items() for name in NAMES if ours(doc, name) != theirs(doc, name)]
    assert disagree == []
    fits = {(label, name) for label, doc in docs.items() for name in NAMES if ours(doc, name)}
    assert fits == {(label, SCHEMAS[doc["command"]]) for label, doc in docs.items()} | {
        (label, "scan-v1") for label in docs if label.endswith(" error")}


def _set(path: str, value: Any) -> Callable[[dict], None]:
    """A change at a dotted path ("data.steps.0.index"); value DROP removes the key."""
    def change(doc: dict) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if value is DROP:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return change


DROP = object()
BROKEN = [
    ("plan to-nftables", "schema_version", 2),
    ("plan to-nftables", "status", "rolled-back"),
    ("plan to-nftables", "command", "migrate"),
    ("plan to-nftables", "data.steps.0.index", 0),
    ("plan to-nftables", "data.blockers.0.source", "user"),
    ("plan to-nftables", "data.blockers.0.forced", DROP),
    ("plan to-nftables", "data.summary.restart", "systemctl restart libvirtd"),
    ("plan to-nftables", "data.summary.remove.ipv4.rules", "19"),
    ("plan to-nftables", "data.dry_run", True),
    ("plan refused", "data.summary", {}),
    ("migrate committed", "data.transaction.status", "done"),
    ("migrate committed", "data.refused", DROP),
    ("migrate committed", "command", "rollback"),
    ("migrate committed", "exit_code", 256),
    ("migrate rolled back", "data.transaction.failed_step", -1),
    ("migrate nothing to do", "data.recovered.0.notes", "one note"),
    ("rollback two", "status", "blockers"),
    ("rollback two", "data.transactions.1.rollback_errors", [1]),
    ("rollback two", "command", "migrate"),
    ("history three", "data.transactions.0.status", "unknown"),
    ("history three", "data.transactions.1.started", "yesterday"),
    ("history three", "data.state_dir", None),
    ("rules nftables", "data.iptables_restore", {"ipv4": "", "ipv6": ""}),
    ("rules nftables", "data.tc", [[1]]),
    ("rules iptables", "data.backend", "nftables"),
    ("rules iptables", "data.networks.0.rules", "yes"),
    ("scan docker", "data.matrix.now", 6),
    ("history error", "errors.0.message", DROP),
    ("rollback error", "data", {}),
    ("fleet six", "data.by_verdict.ready", "kvm-quiet1"),
    ("fleet six", "data.host_count", DROP),
    ("fleet six", "data.hosts.0.exit_code", 1),
    ("fleet six", "data.findings.0.severity", "fatal"),
    ("fleet six", "data.by_matrix_row.moves", []),
    ("fleet six", "command", "scan"),
    ("bundle redacted", "data.redaction.macs", -1),
    ("bundle redacted", "data.withheld", "none"),
    ("repair committed", "status", "blockers"),
    ("repair committed", "data.after.exit_code", 1),
    ("repair committed", "data.remedies.0.covers", "libvirt-leftover-rules"),
    ("repair dry-run", "data.left.0.reason", DROP),
    ("repair dry-run", "data.remedies.0.steps.0", 0),
    ("repair rolled back", "data.transaction.status", "undone"),
    ("repair not confirmed", "data.before.findings.0.severity", "fatal"),
    ("repair error", "data", {}),
    ("gate refused", "data.decision", "maybe"),
    ("gate refused", "data.blockers.0.id", 7),
    ("gate refused", "data.backend.after", "ebtables"),
    ("gate allowed", "data.policy", "strict"),
    ("gate allowed", "data.incoming", None),
    ("gate install", "data.files.0.change", "deleted"),
    ("gate install", "data.files", DROP),
    ("gate install", "status", "allowed-ish"),
]


@pytest.mark.parametrize("label, path, value", BROKEN, ids=[f"{label}: {path}" for label, path, _v in BROKEN])
def test_broken_outputs_are_rejected_by_both(docs, label, path, value):
    doc = copy.deepcopy(docs[label])
    _set(path, value)(doc)
    name = SCHEMAS[docs[label]["command"]]
    assert not ours(doc, name), schema.validate(doc, schema.load(name))
    assert not theirs(doc, name)
