"""What every dataclass of the project generates: how its objects compare, hash and print.

Creating a dataclass at import is most of the project's start-up (HACKING.md: Python 3.11
compiles each generated method from source text). Generating fewer methods (eq=False,
repr=False, no frozen, a field left out of comparison) would be cheaper, and silently changes
what `==`, `hash()`, sets, dict keys and messages do with its objects. So the classes that
differ from the usual frozen value class are listed here: changing one is a deliberate act,
made with the proof that nothing relies on what it removes, and this list updated with it.
"""

from __future__ import annotations

import dataclasses
import importlib

import pytest

from vnetmigrate import dataclass_code

# The usual class: @dataclass(frozen=True): fields compared, hashed and shown; __eq__,
# __hash__ and __repr__ generated. Listed: (module, class) -> how it differs.
#   flags: the dataclass() arguments that differ (frozen, eq, repr, order, unsafe_hash)
#   hash: "generated" (from the compared fields), "unhashable", or the qualname of its own
#   fields: (name, compare, hash, repr) of each field that is not compared/hashed/shown as usual
UNUSUAL = {
    ("vnetmigrate.evaluate.probes", "Probe"): {"fields": (("source", False, None, True),)},
    ("vnetmigrate.evaluate.ruleset", "Ruleset"): {"fields": (("memo", False, None, False),)},
    ("vnetmigrate.evidence", "Evidence"): {"flags": {"frozen": False}, "hash": "unhashable",
                                          "fields": (("live_sets", False, None, False),
                                                     ("typed", False, None, False))},
    ("vnetmigrate.libvirt.ownership_expect", "ExpectTable"): {"flags": {"frozen": False}, "hash": "unhashable"},
    ("vnetmigrate.libvirt.ownership_expect", "Expected"): {"flags": {"frozen": False}, "hash": "unhashable"},
    ("vnetmigrate.redact", "Redactor"): {"flags": {"frozen": False}, "hash": "unhashable"},
    ("vnetmigrate.reports.envelope", "Run"): {"flags": {"frozen": False}, "hash": "unhashable"},
    ("vnetmigrate.rules.nft_ruleset", "NftRuleset"): {"fields": (("sets", False, None, False),)},
    ("vnetmigrate.rules.nft_text", "_Table"): {"flags": {"frozen": False}, "hash": "unhashable"},
    ("vnetmigrate.txn.engine", "TxnResult"): {"flags": {"frozen": False}, "hash": "unhashable"},
    ("vnetmigrate.txnstore", "Summary"): {"flags": {"frozen": False}, "hash": "unhashable"},
}
USUAL_FLAGS = {"frozen": True, "eq": True, "repr": True, "order": False, "unsafe_hash": False}


def _dataclasses() -> list[type]:
    names = dataclass_code.modules()  # checks and reports too, which an editable install keeps apart
    found = []
    for name in names:
        module = importlib.import_module(name)
        found += [c for c in vars(module).values()
                  if isinstance(c, type) and "__dataclass_params__" in c.__dict__ and c.__module__ == name]
    return found  # (a subclass not decorated itself, like evidence.DeferredRecord, is its own business)


CLASSES = _dataclasses()


def _generated(cls: type, method: str) -> bool:
    """Whether dataclass() made `method` for this class (it names what it makes after the class)."""
    own = cls.__dict__.get(method)
    return own is not None and getattr(own, "__qualname__", "") == f"{cls.__qualname__}.{method}"


def _shape(cls: type) -> dict:
    params = cls.__dataclass_params__
    flags = {k: getattr(params, k) for k in USUAL_FLAGS if getattr(params, k) != USUAL_FLAGS[k]}
    if cls.__hash__ is None:
        hashing = "unhashable"
    elif _generated(cls, "__hash__"):
        hashing = "generated"
    else:
        hashing = cls.__hash__.__qualname__
    fields = tuple((f.name, f.compare, f.hash, f.repr) for f in dataclasses.fields(cls)
                   if not f.compare or f.hash is not None or not f.repr)
    shape = {"flags": flags, "hash": hashing, "fields": fields}
    return {k: v for k, v in shape.items() if v != {"flags": {}, "hash": "generated", "fields": ()}[k]}


def test_the_walk_finds_the_project_s_dataclasses():
    # migrate's path alone creates ~148 of them; the walk must see the whole package
    assert len(CLASSES) > 150
    assert {(c.__module__, c.__name__) for c in CLASSES} >= set(UNUSUAL)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_generated_methods_are_as_listed(cls):
    assert _shape(cls) == UNUSUAL.get((cls.__module__, cls.__name__), {})
    if cls.__dataclass_params__.eq:
        assert _generated(cls, "__eq__"), "a hand-written __eq__ on a dataclass: list it above"
    if cls.__dataclass_params__.repr:
        assert _generated(cls, "__repr__"), "a hand-written __repr__ on a dataclass: list it above"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_every_dataclass_has_a_docstring(cls):
    # Without one, dataclass() writes one from inspect.signature at import: ~15% of creating
    # the class, paid by every command's start-up.
    doc = cls.__dict__.get("__doc__") or ""
    assert doc and not doc.startswith(f"{cls.__name__}("), f"{cls.__qualname__}: write its docstring"
