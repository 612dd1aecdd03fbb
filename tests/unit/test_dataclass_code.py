"""The precompiled dataclass methods (vnetmigrate/dataclass_code.py): each is exactly what its
text compiles to, the table holds what the project's classes need now, and every class of the
project is made from it, on the Python it was written for. Any other class is made as usual.
"""

from __future__ import annotations

import __future__
import ast
import dataclasses
import importlib
import subprocess
import sys
from pathlib import Path
from types import CodeType

import pytest

import vnetmigrate
from vnetmigrate import _dataclass_code as generated
from vnetmigrate import dataclass_code
from vnetmigrate.dataclass_code import dataclass

SAME_PYTHON = generated.PYTHON == tuple(sys.version_info[:2])
PROJECT = Path(vnetmigrate.__file__).resolve().parent.parent


def _shape(code: CodeType) -> tuple:
    """Everything of a code object but where it was compiled (file, lines)."""
    consts = tuple(_shape(c) if isinstance(c, CodeType) else c for c in code.co_consts)
    return (code.co_code, consts, code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars,
            code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount, code.co_flags, code.co_name,
            code.co_qualname, code.co_stacksize, code.co_exceptiontable)


def test_each_factory_is_exactly_its_text_compiled():
    assert len(generated.TEXTS) == len(generated.FACTORIES) > 500
    assert len(set(generated.TEXTS)) == len(generated.TEXTS)
    for text, factory in zip(generated.TEXTS, generated.FACTORIES):
        module = compile(text, "<string>", "exec", dont_inherit=True)  # as dataclasses compiles it
        (compiled,) = [c for c in module.co_consts if isinstance(c, CodeType)]
        assert _shape(compiled) == _shape(factory.__code__), text


@pytest.mark.skipif(not SAME_PYTHON, reason=f"the table was written under Python {generated.PYTHON}")
def test_the_table_holds_what_the_project_s_classes_need_now():
    # A fresh interpreter imports every module, recording each factory text: the file must be
    # what it would write (a class added or changed without rewriting it fails here).
    proc = subprocess.run([sys.executable, "-m", "vnetmigrate.dataclass_code", "--check"],
                          capture_output=True, text=True, cwd=PROJECT)
    assert proc.returncode == 0, proc.stderr


def _project_classes() -> list[type]:
    names = dataclass_code.modules()
    return [c for name in names for c in vars(importlib.import_module(name)).values()
            if isinstance(c, type) and "__dataclass_params__" in c.__dict__ and c.__module__ == name]


def _generated_methods(cls: type) -> list:
    out = []
    for name in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
        fn = cls.__dict__.get(name)
        fn = getattr(fn, "__wrapped__", fn)  # __repr__ is wrapped against recursion
        if getattr(fn, "__code__", None) is not None and fn.__code__.co_name == name \
                and fn.__qualname__.endswith(f".{name}") and "__create_fn__" in fn.__code__.co_qualname:
            out.append(fn)
    return out


@pytest.mark.skipif(not SAME_PYTHON, reason=f"the table was written under Python {generated.PYTHON}")
def test_every_class_of_the_project_is_made_from_the_table():
    classes = _project_classes()
    assert len(classes) > 150
    methods = [(cls, fn) for cls in classes for fn in _generated_methods(cls)]
    assert len(methods) > 800
    compiled_here = [f"{cls.__qualname__}.{fn.__name__}" for cls, fn in methods
                     if fn.__code__.co_filename != generated.__file__]
    assert not compiled_here
    assert all(fn.__globals__ is vars(sys.modules[cls.__module__]) for cls, fn in methods)


def test_no_module_takes_dataclass_from_the_standard_library():
    # Importing it from vnetmigrate.dataclass_code installs the table before a module's first
    # class, whichever module a command happens to import first.
    offenders = []
    for path in sorted(PROJECT.glob("vnetmigrate/**/*.py")) + sorted(PROJECT.glob("checks/**/*.py")) \
            + sorted(PROJECT.glob("reports/**/*.py")):
        if path.name == "dataclass_code.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "dataclasses" \
                    and any(a.name == "dataclass" for a in node.names):
                offenders.append(str(path.relative_to(PROJECT)))
            if isinstance(node, ast.Attribute) and node.attr == "dataclass" \
                    and isinstance(node.value, ast.Name) and node.value.id == "dataclasses":
                offenders.append(str(path.relative_to(PROJECT)))
    assert not offenders


def test_a_class_the_table_does_not_hold_is_made_as_usual():
    @dataclass(frozen=True)
    class Unlisted:
        """Field names no class of the project has."""

        zq_first: int
        zq_second: tuple = ()

    init = Unlisted.__init__
    assert init.__code__.co_filename == "<string>"  # compiled by the builtin exec, as ever
    # ... with the dataclasses module's (no) __future__ flags, not those of the module calling it
    assert not init.__code__.co_flags & __future__.annotations.compiler_flag
    one, same, other = Unlisted(1, (2,)), Unlisted(1, (2,)), Unlisted(2)
    assert one == same and hash(one) == hash(same) and one != other
    assert repr(one) == ("test_a_class_the_table_does_not_hold_is_made_as_usual.<locals>."
                         "Unlisted(zq_first=1, zq_second=(2,))")
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.zq_first = 3  # type: ignore[misc]


@pytest.mark.skipif(not SAME_PYTHON, reason=f"the table was written under Python {generated.PYTHON}")
def test_a_class_shaped_like_one_of_the_project_s_is_made_from_the_table_and_behaves():
    # The field names, defaults and flags of txn.recovery.Where give the same factory texts
    # (types and defaults are passed in, not written out): its methods come from the table,
    # bound to this module's globals, and do what the plain decorator's do.
    @dataclass(frozen=True)
    class Where:
        """A twin of txn.recovery.Where."""

        netns: str | None
        root: Path

    for name in ("__init__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
        fn = Where.__dict__[name]
        assert fn.__code__.co_filename == generated.__file__, name
        assert fn.__globals__ is globals()
    one, same, other = Where("a", Path("/")), Where("a", Path("/")), Where(None, Path("/"))
    assert one == same and hash(one) == hash(same) and one != other and one != ("a", Path("/"))
    assert repr(other).endswith("Where(netns=None, root=PosixPath('/'))")
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'root'"):
        one.root = Path("/x")  # type: ignore[misc]
    with pytest.raises(TypeError, match=r"__init__\(\) missing 1 required positional argument: 'root'"):
        Where("a")  # type: ignore[call-arg]


def test_installing_twice_keeps_the_first_and_leaves_the_builtin_for_other_texts():
    assert vars(dataclasses)["exec"] is dataclass_code._exec
    dataclass_code._install()
    assert vars(dataclasses)["exec"] is dataclass_code._exec
    namespace: dict = {}
    dataclass_code._exec("x = 1 + 1", None, namespace)
    assert namespace == {"x": 2}
