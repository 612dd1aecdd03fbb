"""The HTML report, parsed with the standard library's HTML parser: self-contained and escaped."""

from html.parser import HTMLParser

import pytest

from tests.render import scenarios
from vnetmigrate.reports.html import render

ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "footer", "section", "article",
                "h1", "h2", "h3", "h4", "p", "span", "strong", "code", "pre", "ul", "ol", "li", "dl", "dt",
                "dd", "table", "thead", "tbody", "tr", "th", "td", "a"}


class Page(HTMLParser):
    """Elements with their attributes and their content (text and child elements, in order)."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[dict] = []
        self.stack: list[dict] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        el = {"tag": tag, "attrs": dict(attrs), "parts": []}
        if self.stack:
            self.stack[-1]["parts"].append(el)
        self.elements.append(el)
        if tag != "meta":
            self.stack.append(el)

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop()["tag"] != tag:
            pass

    def handle_data(self, data):
        if self.stack:
            self.stack[-1]["parts"].append(data)

    def find(self, tag, cls=None):
        return [e for e in self.elements
                if e["tag"] == tag and (cls is None or cls in e["attrs"].get("class", "").split())]


def children(el) -> list[dict]:
    return [p for p in el["parts"] if isinstance(p, dict)]


def text_of(el) -> str:
    return "".join(p if isinstance(p, str) else text_of(p) for p in el["parts"])


def page(evidence) -> tuple[Page, dict]:
    doc = scenarios.envelope(evidence())
    return Page(render(doc)), doc


@pytest.mark.parametrize("evidence", [scenarios.docker_evidence, scenarios.hostile_evidence,
                                      scenarios.broken_evidence])
def test_self_contained_no_scripts_no_fetches(evidence):
    html, _ = page(evidence)
    ids = {el["attrs"]["id"] for el in html.elements if "id" in el["attrs"]}
    assert {e["tag"] for e in html.elements} <= ALLOWED_TAGS
    for el in html.elements:
        assert not {"src", "srcset", "style"} & set(el["attrs"]), el
        assert not any(name.startswith("on") for name in el["attrs"]), el
        if "href" in el["attrs"]:  # a web link, or a link to a finding in the page
            href = el["attrs"]["href"]
            assert el["tag"] == "a" and (href.startswith("https://") or href[1:] in ids), el
    css = text_of(html.find("style")[0])
    assert "url(" not in css and "@import" not in css and "@font-face" not in css
    assert "@media print" in css
    csp = next(m["attrs"]["content"] for m in html.find("meta") if m["attrs"].get("http-equiv"))
    assert "default-src 'none'" in csp and "script-src" not in csp


def test_hostile_names_arrive_as_text():
    html, doc = page(scenarios.hostile_evidence)
    shown = scenarios.HOSTILE.replace("`tick`", "tick")  # backticked names become code
    title = next(h for h in html.find("h4") if shown in text_of(h))
    assert text_of(title).startswith("BLOCKER")
    assert any(text_of(c) == "tick" for c in children(title) if isinstance(c, dict) and c["tag"] == "code")
    commands = [c for f in doc["data"]["findings"] for w in f["workarounds"] for c in w["commands"]]
    hostile_command = next(c for c in commands if "<script>" in c)
    assert any(hostile_command in text_of(p) for p in html.find("pre"))
    assert not html.find("script") and not html.find("img")


def test_verdict_comes_first_and_is_coloured_by_status():
    html, doc = page(scenarios.switching_evidence)
    first = html.find("section")[0]
    assert "status-warnings" in first["attrs"]["class"]
    assert text_of(first).startswith("Verdict: ready after these steps")


def test_the_hosts_rows_are_highlighted_and_marked():
    html, _ = page(scenarios.switching_evidence)  # row 2 now, row 3 after the switch
    rows = children(html.find("tbody")[0])
    marked = {int(text_of(children(r)[0])): text_of(children(r)[-1]).strip("▶ ")
              for r in rows if r["attrs"].get("class") == "host-row"}
    assert marked == {2: "now", 3: "after the switch"}
    h3s = [text_of(h) for h in html.find("h3")]
    assert "now: row 2" in h3s and "after the switch: row 3" in h3s


def test_findings_grouped_by_severity_with_evidence_and_exact_commands():
    html, doc = page(scenarios.docker_evidence)
    assert [text_of(h) for h in html.find("h3") if "(" in text_of(h)] == [
        "Blockers (1)", "Warnings (1)", "Information (2)"]
    articles = html.find("article")
    assert [a["attrs"]["class"] for a in articles] == [f"finding sev-{f['severity']}" for f in doc["data"]["findings"]]
    blocker = doc["data"]["findings"][0]
    shown = [text_of(p) for p in html.find("pre")]
    for w in blocker["workarounds"]:
        if w["commands"]:  # a hint-only workaround has no command block
            assert "\n".join(w["commands"]) in shown
    assert any(not w["commands"] for w in blocker["workarounds"])  # and is shown anyway: see the hint below
    assert any(w["hint"] in text_of(p) for w in blocker["workarounds"] if not w["commands"]
               for p in html.find("p"))
    evidence = " ".join(text_of(li) for li in children(html.find("ul", "evidence")[0]))
    assert all(e["where"] in evidence for e in blocker["evidence"])
    summary = html.find("ol", "blockers")[0]
    assert [c["attrs"]["href"] for li in children(summary) for c in children(li) if c["tag"] == "a"] == [
        f"#finding-{f['id']}" for f in doc["data"]["findings"] if f["severity"] == "blocker"]


def test_errors_and_skipped_checks_are_listed():
    html, doc = page(scenarios.broken_evidence)
    errors = [text_of(li) for li in children(html.find("ul", "errors")[0])]
    assert errors == [f"{e['unit']}: {e['message']}" for e in doc["errors"]]
    skipped = [text_of(li) for li in children(html.find("ul", "skipped")[0])]
    assert skipped == [f"{s['check']}: {s['reason']}" for s in doc["data"]["skipped_checks"]]
    assert "docker-forward-drop: facts missing: iptables" in skipped
