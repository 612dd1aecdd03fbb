"""The HTML report in a real browser: headless Chromium screenshots it, parses it and prints it.

All Chromium runs happen once, in parallel, in a module fixture (about 2-4 s in all); the
tests then look at what a reader would see.
"""

import re
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

import pytest

from tests.render import browser, png, scenarios
from vnetmigrate.reports.html import render

WHITE = (255, 255, 255)


def css_colour(name: str) -> tuple[int, int, int]:
    css = resources.files("vnetmigrate.reports").joinpath("report.css").read_text()
    hexa = re.search(rf"--{name}:\s*#([0-9a-fA-F]{{6}});", css).group(1)
    return tuple(int(hexa[i:i + 2], 16) for i in (0, 2, 4))


@pytest.fixture(scope="module")
def seen(tmp_path_factory):
    binary = browser.find()
    if binary is None:
        pytest.skip("chromium is not installed (`./bootstrap test` installs it: Debian/Fedora package chromium)")
    tmp = tmp_path_factory.mktemp("browser")
    pages = {}
    for name, evidence in (("docker", scenarios.docker_evidence), ("quiet", scenarios.quiet_evidence),
                           ("hostile", scenarios.hostile_evidence)):
        pages[name] = tmp / f"{name}.html"
        pages[name].write_text(render(scenarios.envelope(evidence())))
    jobs = {
        "docker": lambda: browser.screenshot(binary, pages["docker"], tmp / "docker.png", 1280, 1600),
        "quiet": lambda: browser.screenshot(binary, pages["quiet"], tmp / "quiet.png", 1280, 900),
        "narrow": lambda: browser.screenshot(binary, pages["docker"], tmp / "narrow.png", 390, 8000),
        "dom": lambda: browser.dump_dom(binary, pages["hostile"]),
        "pdf": lambda: browser.print_pdf(binary, pages["docker"], tmp / "docker.pdf"),
    }
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        results = {name: f.result() for name, f in futures.items()}
    results["seconds"] = time.monotonic() - start
    return results


def test_screenshot_shows_the_verdict_matrix_and_blocker(seen):
    img = png.decode(seen["docker"])
    assert (img.width, img.height) == (1280, 1600)
    colours = img.colours()
    inked = img.inked(colours)
    assert inked > 0.2, f"only {inked:.0%} of the page is not blank"
    assert len(colours) > 50  # text is antialiased: a rendered page has many shades
    assert colours[css_colour("host-row")] > 20_000, "the host's matrix row is not highlighted"
    assert colours[css_colour("blocker-bg")] > 50_000, "no red blocker panel"
    assert colours[css_colour("blocker")] > 500, "no red verdict text, border or badge"


def test_a_clean_host_shows_green_and_no_red(seen):
    colours = png.decode(seen["quiet"]).colours()
    assert colours[css_colour("ok-bg")] > 20_000
    assert colours[css_colour("host-row")] > 20_000
    assert colours[css_colour("blocker-bg")] == 0 and colours[css_colour("blocker")] == 0


def test_a_narrow_window_cuts_nothing_off(seen):
    img = png.decode(seen["narrow"])
    right_edge = img.colours(img.width - 8, img.width)
    assert set(right_edge) == {WHITE}, "something reaches the right edge: a table or command is cut off"


def test_browser_parses_the_matrix_and_findings_and_runs_nothing(seen):
    dom = seen["dom"]
    assert '<table class="matrix">' in dom and dom.count('<tr class="host-row">') == 1
    assert "Verdict: guests are broken now (no switch pending: network.conf pins libvirt to nftables)" in dom
    assert '&lt;script&gt;alert("pwned")&lt;script&gt;&lt;img src=x onerror=alert(1)&gt;' in dom
    assert "<script" not in dom and "<img" not in dom
    assert dom.count('<article class="finding') == len(scenarios.envelope(scenarios.hostile_evidence())
                                                      ["data"]["findings"])


def test_prints_to_pdf(seen):
    pdf = seen["pdf"]
    assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) >= 2  # the docker report is longer than a page
    assert b"vnetmigrate scan of test: guests are broken now \\(no switch pending: network.conf pins libvirt to nftables\\)" in pdf  # the document title


def test_the_browser_checks_stay_quick(seen):
    assert seen["seconds"] < 30, f"Chromium took {seen['seconds']:.1f} s"
