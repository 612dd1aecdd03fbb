"""The evidence catalogue (vnetmigrate/specs.py) names each evidence key and path once.

Both directions: each source's collector and parsers use the catalogue's name for it, and no
module of the package spells a catalogued path or key itself (the way insights-core's specs
are the one place a source is named).
"""

from __future__ import annotations

import ast

import pytest

from tests.unit.test_architecture import REPO, modules
from vnetmigrate import specs

SOURCES = specs.CATALOGUE


def _names_used(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    used |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    used |= {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
             and n.module == "vnetmigrate.specs" for a in n.names}
    used |= {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
             and n.module == "vnetmigrate.specs" for a in n.names}
    return used


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.what)
def test_each_source_is_recorded_and_read_through_its_catalogue_name(source):
    collector = REPO / "vnetmigrate/collect" / f"{source.collector}.py"
    assert collector.is_file(), f"{source.name}: no collector module {collector}"
    assert source.name in _names_used(collector), f"{collector.name} does not use specs.{source.name}"
    for parser in source.parsers:
        path = REPO / "vnetmigrate/facts" / f"{parser}.py"  # "__init__": the package's own module
        assert path.is_file(), f"{source.name}: no parser module facts/{parser}"
        assert source.name in _names_used(path), f"facts/{parser} does not use specs.{source.name}"


def _literals(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):  # an f-string's fixed parts
            for part in node.values:
                if isinstance(part, ast.Constant):
                    yield node.lineno, part.value


def test_no_module_spells_a_catalogued_path_or_key():
    # paths and dotted keys: a bare word such as "tools" is also an ordinary JSON key elsewhere
    exact = {s.what for s in SOURCES if "{" not in s.what and ("/" in s.what or "." in s.what)}
    prefixes = {specs.prefix(s.what) for s in SOURCES if "{" in s.what and len(specs.prefix(s.what)) > 1}
    found = []
    for name, path in modules():
        if name == "vnetmigrate.specs" or ".sandbox" in name:  # the lab leaves the package (issue 8 item 6)
            continue
        for line, text in _literals(path):
            # a citation "PATH:LINE" or "PATH: detail" spells the path too
            head = text.split(":", 1)[0] if text.startswith("/") else text
            if head in exact or text in prefixes:
                found.append(f"{path.relative_to(REPO)}:{line}: {text!r}")
    assert found == []


def test_templates_and_prefixes_agree():
    assert specs.IPT_CHAIN_T.format(family="ipv4", n=3).startswith(specs.family_prefix(specs.IPT_CHAIN_T, "ipv4"))
    assert specs.LEGACY_TABLE_T.format(family="ipv6", table="nat").startswith(
        specs.family_prefix(specs.LEGACY_TABLE_T, "ipv6"))
    assert specs.FIREWALLD_ZONE_T.format(bridge="virbr0") == specs.prefix(specs.FIREWALLD_ZONE_T) + "virbr0"
    assert specs.NFT_CHAIN_T.format(n=12) == specs.prefix(specs.NFT_CHAIN_T) + "12"
