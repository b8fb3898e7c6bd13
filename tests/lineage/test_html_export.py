"""`codeevo lineage RUN --export html` in a real headless Chromium (Debian's chromium and
chromium-driver, driven through WebDriver by selenium): the page loads nothing from anywhere,
pans, zooms, and a click on a node shows its program, its diff to each parent and its metrics.

Without Chromium the test skips, unless CODEEVO_REQUIRE_BROWSER=1 (set by .ci/run, which
installs it) turns the skip into a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codeevo.candidate import Candidate, Status
from codeevo.cli import main
from codeevo.lineage.store import GitLineageStore

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HOSTILE = "</script><script>window.pwned = 1</script><img src=x onerror='window.pwned=2'>"


def _program(a: float, extra: str = "") -> str:
    return ("import math\n\n# EVOLVE-BLOCK-START\ndef solve(x):\n"
            f"    return {a:.3f} * x + 0.5\n# EVOLVE-BLOCK-END\n{extra}\n\n"
            "def main():\n    return solve(2.0)\n")


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """Seed, two diffs, a crossover of both, a failure, and a child whose program is hostile."""
    store = GitLineageStore.create(tmp_path / "run" / "lineage.git")

    def put(seq: int, parents: list[str], a: float, status: Status = Status.OK,
            extra: str = "", op: str = "diff") -> None:
        ok = status == Status.OK
        cand = Candidate(id=f"c{seq:06d}", seq=seq, parents=parents, operator=op,
                         model="openai/gpt-4.1-mini" if parents else None, status=status,
                         score=a * 2 if ok else None, stage="score" if ok else "validate",
                         reason=None if ok else "solve() returned NaN",
                         metrics={"value": a * 2} if ok else {}, features={"size": a})
        store.record(cand, _program(a, extra))

    put(0, [], 1.0, op="seed")
    put(1, ["c000000"], 1.25)
    put(2, ["c000000"], 1.5)
    put(3, ["c000001", "c000002"], 1.75, op="crossover", extra="BONUS = 3")
    put(4, ["c000003"], 0.0, status=Status.FAILED)
    put(5, ["c000003"], 2.0, extra=f"NOTE = {json.dumps(HOSTILE)}")
    store.close()
    return tmp_path / "run"


@pytest.fixture
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        reason = ("no Chromium here (apt-get install -y chromium chromium-driver)")
        if os.environ.get("CODEEVO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"CODEEVO_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="codeevo-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _export(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = run_dir / "lineage.html"
    assert main(["lineage", str(run_dir), "--export", "html", "--output", str(out)]) == 0
    assert "wrote" in capsys.readouterr().err
    return out


def test_the_page_is_self_contained(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = _export(run_dir, capsys).read_text()
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    head = page.split('<script type="application/json"', 1)[0]
    for needle in ("src=", "href=", "http://", "https://", "@import", "url("):
        assert needle not in head, needle
    # The hostile program cannot close the data block early.
    assert page.count("</script>") == 2


def test_pan_zoom_and_click_a_node_in_chromium(
    run_dir: Path, browser: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    page = _export(run_dir, capsys)
    browser.get_log("performance")  # drop what the browser's start-up page loaded
    browser.get(page.as_uri())
    js = browser.execute_script
    assert js("return window.codeevoLineage.count") == 6
    canvas = browser.find_element(By.ID, "graph")

    def click_node(cid: str) -> None:
        js(f"window.codeevoLineage.centre({cid!r})")
        at = js(f"return window.codeevoLineage.screenOf({cid!r})")
        rect = js("return arguments[0].getBoundingClientRect().toJSON()", canvas)
        ActionChains(browser).move_to_element_with_offset(
            canvas, int(at["x"] - rect["x"] - rect["width"] / 2),
            int(at["y"] - rect["y"] - rect["height"] / 2)).click().perform()

    # A click on the crossover shows its program, a diff to each parent and its metrics.
    click_node("c000003")
    assert js("return window.codeevoLineage.selected()") == "c000003"
    panel = browser.find_element(By.ID, "panel")
    text = panel.text.lower()  # headings are upper-cased by CSS
    assert "c000003" in text and "3.5000" in text and "bonus = 3" in text
    assert "diff to c000001" in text and "diff to c000002" in text
    diffs = panel.find_elements(By.CSS_SELECTOR, "pre.diff")
    assert len(diffs) == 2
    adds = [e.text for e in diffs[0].find_elements(By.CSS_SELECTOR, ".add")]
    dels = [e.text for e in diffs[0].find_elements(By.CSS_SELECTOR, ".del")]
    assert "+    return 1.750 * x + 0.5" in adds and "+BONUS = 3" in adds
    assert dels == ["-    return 1.250 * x + 0.5", "-"]  # and one blank line went
    assert "@@ -" in diffs[0].text
    assert "value" in text and "size" in text and "crossover" in text
    # A failure shows its stage and reason; a seed says it has no parent.
    click_node("c000004")
    assert "failed at validate: solve() returned NaN" in panel.text
    click_node("c000000")
    assert "a seed has no parent" in panel.text
    # The hostile program is shown as text, never run.
    click_node("c000005")
    assert HOSTILE in panel.text and js("return window.pwned === undefined")

    # Drag pans (and is not a click); the wheel zooms around the pointer; + zooms too.
    before = js("return window.codeevoLineage.view()")
    ActionChains(browser).move_to_element(canvas).click_and_hold().move_by_offset(
        120, 60).release().perform()
    after = js("return window.codeevoLineage.view()")
    assert after["x"] - before["x"] == pytest.approx(120, abs=2)
    assert after["y"] - before["y"] == pytest.approx(60, abs=2)
    assert js("return window.codeevoLineage.selected()") == "c000005"
    ActionChains(browser).scroll_from_origin(ScrollOrigin.from_element(canvas), 0, -400).perform()
    zoomed = js("return window.codeevoLineage.view()")
    assert zoomed["s"] > after["s"] * 1.3
    canvas.send_keys("-")
    assert js("return window.codeevoLineage.view()")["s"] < zoomed["s"]

    # The search box goes to an id, a number or a commit prefix.
    with GitLineageStore.open(run_dir / "lineage.git") as store:
        sha = store.commit_of("c000002")
    search = browser.find_element(By.ID, "search")
    for query, want in (("c000001", "c000001"), ("4", "c000004"), (sha[:8], "c000002")):
        search.clear()
        search.send_keys(query, Keys.ENTER)
        assert js("return window.codeevoLineage.selected()") == want

    # Nothing but the file itself was loaded; no script errors.
    mine, network = [], []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if message["params"].get("documentURL") == page.as_uri():
                mine.append(url)
            if url.split(":", 1)[0] in ("http", "https", "ws", "wss", "ftp"):
                network.append(url)
    assert mine == [page.as_uri()] and network == []
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
