"""bounded.load_json bounds the nesting of what it reads: from the text's brackets
(bounded.text_depth, regular expressions) where it can, instead of walking every parsed value
(bounded.depth). Both must give the same depth for every document, and load_json must refuse
exactly what the walk refuses."""

import json
import random
from pathlib import Path

import pytest

from vnetmigrate import bounded

DATA = Path(__file__).resolve().parent.parent / "data"
# strings that look like structure, escapes that end or do not end a string, and non-ASCII text
NASTY = ['[', ']', '{', '}', '"', '\\', '\\"', '"]', '\\\\', '[{"a": 1}]', '\u005b', 'é[ü', '\u2028', '\U0001f600{',
         '\n]\t', 'x' * 50, '', '\\u005b']


def _doc(rng: random.Random, levels: int):
    roll = rng.random()
    if levels == 0 or roll < 0.25:
        return rng.choice([rng.choice(NASTY), rng.randint(-5, 5), 1.5, None, True, False])
    items = [_doc(rng, levels - 1) for _ in range(rng.randint(0, 4))]
    if roll < 0.6:
        return items
    return {rng.choice(NASTY) + str(i): v for i, v in enumerate(items)}


def _texts(doc):
    for kwargs in ({}, {"ensure_ascii": False}, {"indent": 2}, {"separators": (",", ":")}):
        text = json.dumps(doc, **kwargs)
        yield text
        yield text.encode("utf-8")
    yield b"\xef\xbb\xbf" + json.dumps(doc, ensure_ascii=False).encode("utf-8")  # BOM: json.loads reads it


def test_the_text_depth_is_the_walks_for_thousands_of_documents():
    rng = random.Random(13)
    seen = set()
    for _ in range(3000):
        doc = _doc(rng, rng.randint(0, 9))
        want = bounded.depth(doc)
        seen.add(want)
        for text in _texts(doc):
            assert bounded.text_depth(text) == want, text
    assert seen >= set(range(0, 10))


def test_a_recorded_journal_gives_the_same_depth_both_ways():
    lines = [ln for p in sorted(DATA.glob("txn/**/journal.jsonl")) for ln in p.read_bytes().splitlines() if ln]
    assert len(lines) >= 5
    for line in lines:
        assert bounded.text_depth(line) == bounded.depth(json.loads(line))


@pytest.mark.parametrize("levels", [1, 20, 63, 64, 65, 80])
@pytest.mark.parametrize("encoding", ["str", "utf-8", "utf-16"])
def test_load_json_refuses_exactly_what_is_nested_deeper_than_its_bound(levels, encoding):
    doc = "x"
    for i in range(levels):
        doc = [doc, {"k": "]]"}] if i % 2 else {"[": doc}
    text = json.dumps(doc)
    data = text if encoding == "str" else text.encode(encoding)
    if bounded.depth(doc) > bounded.JSON_DEPTH:
        with pytest.raises(bounded.TooDeep):
            bounded.load_json(data)
    else:
        assert bounded.load_json(data) == doc
