"""`fleet --html-dir DIR`: each host's own HTML report and the fleet page, as one directory.

    DIR/index.html          the fleet page; every host's row links to its report
    DIR/hosts/NAME.html     each host's report (the same page `vnetmigrate report --format html` makes)

A directory an admin can publish on a web server or zip up as it is: the links are relative.
A host's page is written while its scan is in memory, so nothing waits for the whole fleet.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from vnetmigrate.errors import VnmError

INDEX = "index.html"
HOSTS = "hosts"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 100


class HostPages:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._names: dict[tuple, str] = {}  # host identity -> file name
        self._taken: set[str] = set()
        try:
            (directory / HOSTS).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VnmError(f"cannot create {directory / HOSTS}: {exc.strerror or exc}")

    def path_for(self, identity: tuple, label: str) -> Path:
        """One file per host: a second scan of the same host writes over the first's page."""
        name = self._names.get(identity)
        if name is None:
            stem = _UNSAFE.sub("_", label).strip("._")[:MAX_NAME] or "host"
            name, n = f"{stem}.html", 1
            while name in self._taken:  # different hosts whose names differ only in unsafe characters
                n += 1
                name = f"{stem}-{n}.html"
            self._names[identity] = name
            self._taken.add(name)
        return self.directory / HOSTS / name

    def write_host(self, identity: tuple, label: str, doc: dict[str, Any]) -> Path:
        from vnetmigrate.reports.render import render  # the entry point: it sanitizes first

        path = self.path_for(identity, label)
        _write(path, render(doc, "html"))
        return path

    def write_index(self, fleet_doc: dict[str, Any]) -> Path:
        from vnetmigrate.reports.fleet.html import render

        path = self.directory / INDEX
        _write(path, render(fleet_doc, page_dir=self.directory))
        return path


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise VnmError(f"cannot write {path}: {exc.strerror or exc}")
