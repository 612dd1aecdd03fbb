"""The project cites only what it contains: domain facts live in docs/, and the pointers to them hold."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
# Documents outside the repository that comments once cited; the facts now live in docs/.
OUTSIDE = re.compile(r"domain\.md|\.\./shared|/work/shared")
SECTION_POINTER = re.compile(r"docs/([a-z-]+\.md) §(\d+)")
LINK = re.compile(r"\]\(([^)\s]*)\)")


def tracked() -> list[Path]:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs a git checkout to list the tracked files")
    names = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, text=True,
                           check=True).stdout.split("\0")
    return [REPO / n for n in names if n and (REPO / n).is_file()]


def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None  # binary recordings, images


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_no_file_points_outside_the_repository():
    here = Path(__file__).resolve()
    hits = [f"{p.relative_to(REPO)}:{n}: {line.strip()}" for p in tracked() if p.resolve() != here
            for n, line in enumerate((text_of(p) or "").splitlines(), 1) if OUTSIDE.search(line)]
    assert not hits, "cite docs/ instead:\n" + "\n".join(hits)


def test_every_pointer_into_docs_names_an_existing_section():
    bad = []
    for p in tracked():
        for n, line in enumerate((text_of(p) or "").splitlines(), 1):
            for name, section in SECTION_POINTER.findall(line):
                doc = DOCS / name
                if not doc.is_file() or not re.search(rf"^## {section}\. ", doc.read_text(), re.M):
                    bad.append(f"{p.relative_to(REPO)}:{n}: docs/{name} §{section}")
    assert not bad, "\n".join(bad)


def test_docs_links_resolve_and_the_index_lists_every_page():
    pages = sorted(DOCS.glob("*.md"))
    assert DOCS / "README.md" in pages and len(pages) > 1
    bad = []
    for page in pages:
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            dest = (page.parent / file).resolve() if file else page
            if not dest.is_file():
                bad.append(f"{page.name}: {target} (no such file)")
            elif anchor and anchor not in {slug(h) for h in re.findall(r"^#+ (.+)$", dest.read_text(), re.M)}:
                bad.append(f"{page.name}: {target} (no such heading)")
    assert not bad, "\n".join(bad)
    index = (DOCS / "README.md").read_text()
    assert [p.name for p in pages if p.name != "README.md" and f"]({p.name})" not in index] == []
