"""A hardened XML reader for libvirt's network XML and status files.

Those files are read from hosts we are asked to inspect, from support bundles and from the
command line, so they may be hostile. libvirt's own files never contain a document type
declaration, so we refuse any DOCTYPE outright: that rules out entity expansion attacks
("billion laughs", quadratic blow-up) and external entities (file or network access) in
one step, rather than trying to make entity handling safe. We also bound the input size
and the nesting depth.

The tree is built with pyexpat directly (not ElementTree's parser) so that the handlers
above are installed on every parser we use, whichever ElementTree implementation is loaded.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.parsers import expat

from vnetmigrate.errors import InputError

MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 64


class _Refused(Exception):
    pass


class _Builder:
    def __init__(self) -> None:
        self.stack: list[ET.Element] = []
        self.root: ET.Element | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise _Refused(f"elements are nested deeper than {MAX_DEPTH} levels")
        elem = ET.Element(tag, attrs)
        if self.stack:
            self.stack[-1].append(elem)
        elif self.root is None:
            self.root = elem
        self.stack.append(elem)

    def end(self, tag: str) -> None:
        self.stack.pop()

    def data(self, text: str) -> None:
        if not self.stack:
            return
        elem = self.stack[-1]
        if len(elem):
            last = elem[-1]
            last.tail = (last.tail or "") + text
        else:
            elem.text = (elem.text or "") + text


def _refuse(what: str):
    def handler(*_args: object) -> None:
        raise _Refused(what)
    return handler


def parse_xml(text: str | bytes, source: str) -> ET.Element:
    """Parse `text` into an Element tree; any problem is an InputError naming `source`."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    if len(data) > MAX_BYTES:
        raise InputError(f"{source}: file is larger than {MAX_BYTES // (1024 * 1024)} MiB; not a libvirt XML file")
    # A str was already decoded: tell expat the bytes are UTF-8 whatever the declaration says.
    parser = expat.ParserCreate(encoding="utf-8" if isinstance(text, str) else None)
    builder = _Builder()
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = _refuse("a DOCTYPE declaration is not allowed")
    parser.EntityDeclHandler = _refuse("entity declarations are not allowed")
    parser.UnparsedEntityDeclHandler = _refuse("entity declarations are not allowed")
    parser.ExternalEntityRefHandler = _refuse("external entities are not allowed")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        raise InputError(f"{source}: refused XML: {exc}") from None
    except expat.ExpatError as exc:
        raise InputError(f"{source}: not well-formed XML: {expat.ErrorString(exc.code)} "
                         f"(line {exc.lineno}, column {exc.offset})") from None
    if builder.root is None:
        raise InputError(f"{source}: no XML element found")
    return builder.root
