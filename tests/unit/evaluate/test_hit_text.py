"""A Hit keeps its rule's text object and writes it when first read (evaluate/core.quoted),
except a text naming an anonymous set: rendering that reads the set's elements, so it is
written as the rule decides, as before."""

from __future__ import annotations

from vnetmigrate.evaluate.core import Hit, quoted
from vnetmigrate.evaluate.nftcompile import SetText, Text
from vnetmigrate.rules import nft

LOOKUP = nft.parse_statement({"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                                        "right": "@__set0"}})
DROP = nft.parse_statement({"drop": None})


def test_a_plain_text_is_written_when_read_and_as_it_would_have_been():
    text = Text((LOOKUP, DROP), "a comment")
    hit = Hit("ip t c", "handle 4", quoted(text), "drop")
    assert hit.__dict__["text"] is text and text._text is None  # not rendered yet
    assert hit == Hit("ip t c", "handle 4", str(Text((LOOKUP, DROP), "a comment")), "drop")
    assert hit.text == 'ip saddr @__set0 drop comment "a comment"' and type(hit.__dict__["text"]) is str
    assert str(hit) == 'ip t c handle 4: ip saddr @__set0 drop comment "a comment" -> drop'


def test_a_text_naming_an_anonymous_set_reads_the_set_as_the_rule_decides():
    asked = []

    def elements(family, table, name, left):
        asked.append((family, table, name))
        return {"set": ["10.0.0.1", "10.0.0.2"]}

    hit = Hit("ip t c", "handle 4", quoted(SetText((LOOKUP, DROP), None, ("ip", "t"), elements)), "drop")
    assert asked == [("ip", "t", "__set0")] and type(hit.__dict__["text"]) is str
    assert hit.text == "ip saddr { 10.0.0.1, 10.0.0.2 } drop"
