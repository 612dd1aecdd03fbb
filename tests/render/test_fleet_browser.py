"""The fleet's HTML page in a real browser: headless Chromium screenshots it (1280 and 390 px wide)
and parses it. The fleet is real saved scans (tests/unit/fleet_scans.py) plus a hostile hostname
and a broken file; all Chromium runs happen once, in parallel, in a module fixture."""

import re
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote

import pytest
from typer.testing import CliRunner

from tests.render import browser, png, scenarios
from tests.render.test_html_browser import WHITE, css_colour
from tests.unit.fleet_scans import FLEET, save_fleet, save_scan
from vnetmigrate.cli import app

runner = CliRunner()
HOSTILE = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'
QUIET = {name: FLEET[name] for name in ("kvm-quiet1", "kvm-quiet2")}


@pytest.fixture(scope="module")
def seen(tmp_path_factory):
    binary = browser.find()
    if binary is None:
        pytest.skip("chromium is not installed (`./bootstrap test` installs it: Debian/Fedora package chromium)")
    tmp = tmp_path_factory.mktemp("fleet-browser")
    save_fleet(tmp / "scans")
    save_scan(tmp / "scans", HOSTILE, scenarios.hostile_evidence, name="hostile.json")
    (tmp / "scans" / "broken.json").write_text("{")
    save_fleet(tmp / "quiet", QUIET)
    for name in ("scans", "quiet"):
        res = runner.invoke(app, ["fleet", str(tmp / name), "--html-dir", str(tmp / f"{name}-site"), "-f", "json"])
        assert res.exit_code in (0, 4), res.output
    page, quiet = tmp / "scans-site" / "index.html", tmp / "quiet-site" / "index.html"
    jobs = {
        "wide": lambda: browser.screenshot(binary, page, tmp / "wide.png", 1280, 2400),
        "narrow": lambda: browser.screenshot(binary, page, tmp / "narrow.png", 390, 6000),
        "quiet": lambda: browser.screenshot(binary, quiet, tmp / "quiet.png", 1280, 1200),
        "dom": lambda: browser.dump_dom(binary, page),
    }
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        results = {name: f.result() for name, f in futures.items()}
    results["site"] = tmp / "scans-site"
    return results


def test_wide_screenshot_shows_a_red_verdict_and_the_counts_as_bars(seen):
    img = png.decode(seen["wide"])
    assert (img.width, img.height) == (1280, 2400)
    colours = img.colours()
    inked = img.inked(colours)
    assert inked > 0.1, f"only {inked:.0%} of the page is not blank"
    assert colours[css_colour("blocker-bg")] > 30_000, "no red verdict panel"
    assert colours[css_colour("blocker")] > 2_000, "no red bars, badges or verdicts"
    assert colours[css_colour("ok")] > 500, "no green bar or verdict for the ready hosts"
    assert colours[css_colour("warning")] > 500, "no bar or badge for the warnings"


def test_a_fleet_of_ready_hosts_is_green_without_red(seen):
    colours = png.decode(seen["quiet"]).colours()
    assert colours[css_colour("ok-bg")] > 30_000
    assert colours[css_colour("blocker-bg")] == 0 and colours[css_colour("blocker")] == 0


def test_a_phone_sized_window_cuts_nothing_off(seen):
    img = png.decode(seen["narrow"])
    assert img.width == 390
    right_edge = img.colours(img.width - 8, img.width)
    assert set(right_edge) == {WHITE}, "something reaches the right edge: a table is cut off"
    assert img.colours()[css_colour("blocker-bg")] > 10_000


def test_browser_parses_one_row_and_one_working_link_per_host(seen):
    dom = seen["dom"]
    hosts = re.search(r'<table class="hosts">(.*?)</table>', dom, re.S).group(1)
    links = re.findall(r'<a href="([^"]+)">', hosts)
    assert len(links) == hosts.count("<tr>") - 1 == len(FLEET) + 1  # the header row; the hostile host
    for link in links:
        target = seen["site"] / unquote(link)
        assert target.is_file(), link
    assert "<script" not in dom and "<img" not in dom
    assert "&lt;script&gt;alert(\"pwned\")&lt;/script&gt;" in dom
    assert "broken.json is not a saved scan" in dom
