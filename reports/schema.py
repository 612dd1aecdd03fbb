"""Validate JSON against vnetmigrate's published JSON Schemas (Draft 2020-12 style).

The client fixed the runtime stack (typer, rich, python-iptables), so the installed tool has no
`jsonschema` package (the test tier cross-checks this validator against it). It implements
exactly the keywords our schemas use: `type` (one name or a list, e.g. ["string", "null"]),
`enum`, `minimum`/`maximum`, `properties`, `required`, `additionalProperties`, `items`,
`oneOf` (exactly one of the alternatives; how txn-v1 ties `data` to `command`) and `$ref` to a
local `#/...` pointer (our `$defs`). A schema using any other keyword is refused
(`SchemaError`) instead of being silently half-checked.

As in JSON Schema, keywords apply only to the instance types they are about: `required`
constrains objects and leaves a null alone, which is how `data` is "a scan or null".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from importlib import resources
from typing import Any

CHECKED = frozenset({"type", "enum", "minimum", "maximum", "properties", "required",
                     "additionalProperties", "items", "oneOf", "$ref"})
ANNOTATIONS = frozenset({"$schema", "$id", "$defs", "$comment", "title", "description", "examples", "default"})
TYPES = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool)
    or isinstance(v, float) and v.is_integer(),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


class SchemaError(Exception):
    """The schema itself is malformed or uses a keyword this validator does not implement."""


def load(name: str = "scan-v1") -> dict[str, Any]:
    """A schema published with the package (reports/schemas/NAME.schema.json), checked."""
    text = resources.files("vnetmigrate.reports").joinpath("schemas", f"{name}.schema.json").read_text("utf-8")
    schema = json.loads(text)
    check_schema(schema)
    return schema


def check_schema(schema: Any, root: Any = None, where: str = "#") -> None:
    """Refuse keywords we do not check and `$ref`s that do not resolve, in every branch."""
    root = schema if root is None else root
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        raise SchemaError(f"{where}: a schema must be an object or a boolean")
    unknown = set(schema) - CHECKED - ANNOTATIONS
    if unknown:
        raise SchemaError(f"{where}: unsupported keyword(s): {', '.join(sorted(unknown))}")
    for name in [schema["type"]] if isinstance(schema.get("type"), str) else schema.get("type", []):
        if name not in TYPES:
            raise SchemaError(f"{where}: unknown type {name!r}")
    if "$ref" in schema:
        _resolve(root, schema["$ref"])
    for key in ("properties", "$defs"):
        for sub, subschema in schema.get(key, {}).items():
            check_schema(subschema, root, f"{where}/{key}/{sub}")
    for key in ("items", "additionalProperties"):
        if key in schema:
            check_schema(schema[key], root, f"{where}/{key}")
    if "oneOf" in schema:
        if not isinstance(schema["oneOf"], list) or not schema["oneOf"]:
            raise SchemaError(f"{where}/oneOf: must be a non-empty list of schemas")
        for i, sub in enumerate(schema["oneOf"]):
            check_schema(sub, root, f"{where}/oneOf/{i}")


def validate(instance: Any, schema: dict[str, Any]) -> list[str]:
    """Every way `instance` breaks `schema`, as "$.path: problem" lines; empty when it conforms."""
    check_schema(schema)
    return list(_errors(instance, schema, schema, "$"))


def _resolve(root: Any, ref: str) -> Any:
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise SchemaError(f"$ref {ref!r}: only local references (#/...) are supported")
    node = root
    for part in filter(None, ref[1:].split("/")):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise SchemaError(f"$ref {ref!r} does not resolve")
        node = node[part]
    return node


def _same(a: Any, b: Any) -> bool:
    # JSON equality: true is not 1, and 1 is 1.0.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def _errors(value: Any, schema: Any, root: Any, path: str) -> Iterator[str]:
    if schema is True:
        return
    if schema is False:
        yield f"{path}: not allowed here"
        return
    if "$ref" in schema:
        yield from _errors(value, _resolve(root, schema["$ref"]), root, path)
    if "type" in schema:
        names = [schema["type"]] if isinstance(schema["type"], str) else list(schema["type"])
        if not any(TYPES[n](value) for n in names):
            yield f"{path}: expected {' or '.join(names)}, found {_describe(value)}"
            return  # the other keywords would only repeat the same mistake
    if "enum" in schema and not any(_same(value, choice) for choice in schema["enum"]):
        yield f"{path}: {json.dumps(value)} is not one of {', '.join(json.dumps(c) for c in schema['enum'])}"
    if TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            yield f"{path}: {value} is less than the minimum {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            yield f"{path}: {value} is more than the maximum {schema['maximum']}"
    if "oneOf" in schema:
        yield from _one_of_errors(value, schema["oneOf"], root, path)
    if isinstance(value, dict):
        yield from _object_errors(value, schema, root, path)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            yield from _errors(item, schema["items"], root, f"{path}[{i}]")


def _one_of_errors(value: Any, alternatives: list[Any], root: Any, path: str) -> Iterator[str]:
    problems = [list(_errors(value, alt, root, path)) for alt in alternatives]
    matched = [i + 1 for i, found in enumerate(problems) if not found]
    if not matched:
        why = "; ".join(f"{i + 1}) {found[0]}" + (f" (and {len(found) - 1} more)" if len(found) > 1 else "")
                        for i, found in enumerate(problems))
        yield f"{path}: matches none of the {len(alternatives)} alternatives (oneOf): {why}"
    elif len(matched) > 1:
        yield f"{path}: matches alternatives {', '.join(map(str, matched))} of oneOf, exactly one allowed"


def _object_errors(value: dict[str, Any], schema: dict[str, Any], root: Any, path: str) -> Iterator[str]:
    for key in schema.get("required", ()):
        if key not in value:
            yield f"{path}: the key {key!r} is missing"
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        where = f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key)}]"
        if key in properties:
            yield from _errors(item, properties[key], root, where)
        elif extra is False:
            yield f"{path}: unexpected key {key!r}"
        else:
            yield from _errors(item, extra, root, where)


def _describe(value: Any) -> str:
    name = next((n for n in ("null", "boolean", "integer", "number", "string", "array", "object")
                 if TYPES[n](value)), type(value).__name__)
    text = json.dumps(value, default=repr)
    if value is None:
        return "null"
    return f"{name} {text}" if len(text) <= 40 else name



# The keywords `compiled` decides itself; a schema node with any other (checked) keyword is
# decided by `_errors`, so the two can never disagree about a keyword added later.
_FAST = frozenset({"type", "enum", "minimum", "maximum", "properties", "required", "additionalProperties",
                   "items", "$ref"}) | ANNOTATIONS

Check = Callable[[Any], bool]


def compiled(schema: dict[str, Any]) -> Check:
    """A function telling whether an instance conforms: `compiled(s)(x) == (validate(x, s) == [])`,
    several times faster — the schema is checked, its `$ref`s resolved and its keywords read once,
    and no message is built. For reading many documents (`vnetmigrate fleet`); call `validate`
    for the messages when it says False."""
    check_schema(schema)
    return _compile(schema, schema, {})


def _compile(node: Any, root: Any, done: dict[int, Check]) -> Check:
    if node is True or node is False:
        return lambda value, answer=node: answer
    if id(node) in done:  # a $def used in many places (or by itself) is compiled once
        return done[id(node)]
    slot: list[Check] = []
    done[id(node)] = lambda value: slot[0](value)
    slot.append(_node(node, root, done))
    done[id(node)] = slot[0]
    return slot[0]


def _node(node: dict[str, Any], root: Any, done: dict[int, Check]) -> Check:
    if not _FAST.issuperset(node):
        return lambda value: next(_errors(value, node, root, "$"), None) is None
    checks: list[Check] = []
    if "$ref" in node:
        checks.append(_compile(_resolve(root, node["$ref"]), root, done))
    if "type" in node:
        kinds = [TYPES[n] for n in ([node["type"]] if isinstance(node["type"], str) else node["type"])]
        checks.append(kinds[0] if len(kinds) == 1 else lambda value: any(kind(value) for kind in kinds))
    if "enum" in node:
        choices = list(node["enum"])
        checks.append(lambda value: any(_same(value, choice) for choice in choices))
    if "minimum" in node or "maximum" in node:
        low, high, number = node.get("minimum"), node.get("maximum"), TYPES["number"]
        checks.append(lambda value: not number(value) or ((low is None or value >= low)
                                                          and (high is None or value <= high)))
    if {"required", "properties", "additionalProperties"} & node.keys():
        checks.append(_object(node, root, done))
    if "items" in node:
        item = _compile(node["items"], root, done)
        checks.append(lambda value: not isinstance(value, list) or all(map(item, value)))
    if len(checks) == 1:
        return checks[0]

    def every(value: Any) -> bool:
        for check in checks:
            if not check(value):
                return False
        return True
    return every


def _object(node: dict[str, Any], root: Any, done: dict[int, Check]) -> Check:
    required = tuple(node.get("required", ()))
    properties = {key: _compile(sub, root, done) for key, sub in node.get("properties", {}).items()}
    extra_schema = node.get("additionalProperties", True)
    extra = None if extra_schema is True else _compile(extra_schema, root, done)

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for key in required:
            if key not in value:
                return False
        for key, item in value.items():
            sub = properties.get(key, extra)
            if sub is not None and not sub(item):
                return False
        return True
    return check
