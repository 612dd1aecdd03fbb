"""scan_envelope passes the result through JSON without indent (json's C encoder); what comes
back must be exactly what reading back the printed, indented document gives."""

from __future__ import annotations

import enum
import json
from pathlib import Path

from tests.render.scenarios import docker_evidence, switching_evidence
from vnetmigrate.exitcodes import ExitCode
from vnetmigrate.reports import envelope
from vnetmigrate.scan import analyse


class Colour(str, enum.Enum):
    RED = "red"


def _printed_and_read(doc: dict) -> dict:
    return json.loads(envelope.dumps(doc))


def test_odd_values_come_back_as_from_the_printed_document():
    doc = {"exit": ExitCode.BLOCKERS, "colour": Colour.RED, Colour.RED: 1, 1: "int key", 2.5: "float key",
           True: "bool key", None: "null key", "path": Path("/etc/libvirt"), "tuple": (1, (2, 3)),
           "floats": [0.1, 1e300, -0.0, 3.0], "text": "é\u2028\x00<script>", "nested": {"a": [{"b": None}]},
           "big": 2 ** 70}
    got = envelope.through_json(doc)
    assert got == _printed_and_read(doc)
    assert json.dumps(got, sort_keys=True) == json.dumps(_printed_and_read(doc), sort_keys=True)  # types too


def test_scan_envelopes_equal_the_printed_documents_read_back():
    for ev in (docker_evidence(), switching_evidence()):
        result = analyse(ev)
        doc = envelope.scan_envelope(result)
        again = envelope.envelope("scan", result.status, result.exit_code, result.to_data(), result.errors)
        expected = _printed_and_read(again)
        for key in ("started_at", "duration"):  # the time of the call
            doc.pop(key), expected.pop(key)
        assert doc == expected
        assert envelope.dumps(doc) == envelope.dumps(expected)
