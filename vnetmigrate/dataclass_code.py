"""The project's dataclass methods compiled ahead of time, like any module, not at every start.

Python 3.11 and 3.12 make each method a dataclass generates (`__init__`, `__repr__`, `__eq__`,
`__hash__`, a frozen class's `__setattr__` and `__delattr__`) from source text:
`dataclasses._create_fn` writes a factory, `def __create_fn__(...)` returning the method, and
hands the text to `exec`, which compiles it. Compiling is ~85% of creating a class (~0.3 of
~0.36 ms here) and migrate's path creates ~150 classes: ~40 ms of every command's start-up.

vnetmigrate/_dataclass_code.py holds every factory text the project's classes give `exec`,
written out as Python (`python -m vnetmigrate.dataclass_code` writes it), so it is compiled
once into its .pyc like any module, beside the text each factory was written from. Importing
this module puts an `exec` into the dataclasses module's namespace, where `_create_fn` finds
it before the builtin: given a text the table holds, it binds that factory's precompiled code
to the globals the builtin would have used; given any other text (another library's class,
one of ours changed since the table was written, another Python), it is the builtin `exec`.
The same text compiles to the same code, so every class comes out as the plain decorator
makes it: tests/unit/test_dataclass_code.py compares each factory's code with its text
compiled, and checks that the table is current.

The project's modules import `dataclass` from here (tests/unit/test_dataclass_code.py keeps it
so), which installs the table before their first class. On a Python other than the table's
every text goes to the builtin; Python 3.13, whose dataclasses has no `_create_fn` (it compiles
one text per class), is left alone. The table pays only from its .pyc: pip, Debian's and
Fedora's packaging write it at install, `./bootstrap` for a checkout (compiling the module
itself takes ~85 ms).
"""

from __future__ import annotations

import builtins
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, FunctionType
from typing import Any

__all__ = ["dataclass"]

GENERATED = Path(__file__).with_name("_dataclass_code.py")
_FACTORY = "def __create_fn__("
_codes: dict[str, CodeType] | None = None


def _table() -> dict[str, CodeType]:
    """{factory text: its precompiled code}: empty on a Python other than the table's."""
    global _codes
    if _codes is None:
        try:
            from vnetmigrate import _dataclass_code as generated
        except ImportError:  # not written yet (a new checkout's first generate())
            _codes = {}
            return _codes
        same = generated.PYTHON == tuple(sys.version_info[:2])
        _codes = dict(zip(generated.TEXTS, (f.__code__ for f in generated.FACTORIES))) if same else {}
    return _codes


def _exec(source: Any, globals: dict[str, Any] | None = None, locals: Any = None, /, **kwargs: Any) -> None:
    """`exec` as dataclasses' `_create_fn` calls it: exec(text, globals, namespace)."""
    code = _table().get(source) if type(source) is str and locals is not None and not kwargs else None
    if code is None:
        return _builtin(source, globals, locals, **kwargs)
    # what running `def __create_fn__` binds, in the globals the builtin would have used
    locals["__create_fn__"] = FunctionType(code, vars(dataclasses) if globals is None else globals)
    return None


def _builtin(source: Any, globals: dict[str, Any] | None = None, locals: Any = None, /, **kwargs: Any) -> None:
    """The builtin `exec` as if dataclasses called it: in that module's globals when given none,
    and compiled with its `__future__` flags. `exec` of text takes its caller's: the dataclasses
    module has none, this one has `annotations` (which would make the methods' annotations
    strings)."""
    if isinstance(source, (str, bytes)):
        source = compile(source, "<string>", "exec", dont_inherit=True)
    return builtins.exec(source, vars(dataclasses) if globals is None else globals, locals, **kwargs)


def _install() -> None:
    if hasattr(dataclasses, "_create_fn") and "exec" not in vars(dataclasses):
        dataclasses.exec = _exec  # type: ignore[attr-defined]


if __name__ != "__main__":
    _install()


def modules() -> list[str]:
    """Every module of the package, checks and reports included: an editable install finds
    those two beside the package, not in its __path__, so each is walked in its own right."""
    import importlib
    import pkgutil

    names = []
    for package in ("vnetmigrate", "vnetmigrate.checks", "vnetmigrate.reports"):
        path = importlib.import_module(package).__path__
        names += [package] + [m.name for m in pkgutil.walk_packages(path, f"{package}.")]
    return sorted({n for n in names if not n.endswith(("__main__", "._dataclass_code"))})


def generate() -> str:
    """The text of vnetmigrate/_dataclass_code.py for the project as it is, on this Python.

    Run in a fresh interpreter (`python -m vnetmigrate.dataclass_code`): it imports every
    module of the package and records the factory texts the package's classes give `exec`
    (a class created before it starts recording is missed; other libraries' are left out, so
    the table does not change with their versions)."""
    import importlib

    texts: dict[str, None] = {}

    def record(source: Any, globals: dict[str, Any] | None = None, locals: Any = None, /, **kwargs: Any) -> None:
        module = (globals or {}).get("__name__", "")
        if type(source) is str and source.startswith(_FACTORY) and module.partition(".")[0] == "vnetmigrate":
            texts.setdefault(source)  # only the project's: the table must not follow rich's or typer's
        return _builtin(source, globals, locals, **kwargs)

    dataclasses.exec = record  # type: ignore[attr-defined]
    try:
        for name in modules():
            importlib.import_module(name)
    finally:
        dataclasses.exec = _exec  # type: ignore[attr-defined]
    python = tuple(sys.version_info[:2])
    head = (f'"""Generated by `python -m vnetmigrate.dataclass_code` under Python {python[0]}.{python[1]}: '
            'do not edit.\n\nThe factories dataclasses writes for the project\'s classes, compiled with this module '
            '(vnetmigrate/dataclass_code.py\nsays why); TEXTS[i] is the text FACTORIES[i] was written from.\n"""\n\n'
            f"PYTHON = {python!r}\nFACTORIES = []\n")
    body = "".join(f"\n{text}\nFACTORIES.append(__create_fn__)\n" for text in texts)
    return head + body + "\nTEXTS = (\n" + "".join(f"    {text!r},\n" for text in texts) + ")\n"


def main(argv: list[str]) -> int:
    """`--check`: exit 1 when the table is not what generate() writes now; else write it."""
    text = generate()
    if "--check" in argv:
        if GENERATED.read_text() != text:
            print(f"{GENERATED} is out of date: run `python -m vnetmigrate.dataclass_code`", file=sys.stderr)
            return 1
        return 0
    GENERATED.write_text(text)
    print(f"wrote {GENERATED}: {text.count('FACTORIES.append')} factories")
    return 0


if __name__ == "__main__":
    # As a script this file is __main__, a second copy: the package's own copy is the one
    # dataclasses calls, and its generate() does the recording.
    from vnetmigrate import dataclass_code

    raise SystemExit(dataclass_code.main(sys.argv[1:]))
