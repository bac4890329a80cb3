"""The Monitor's page in a real browser: headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven
by Selenium loads the page of a running job and checks what it shows against the job.

Skipped, saying why, where Chromium, its driver or Selenium is missing. ``HEPRECO_SCREENSHOT_DOCS=1`` also
writes the screenshots to ``docs/`` (the README's): ``monitor.png`` (the toy job) and ``monitor_display.png``
(a COMET CDC x-y display of a simulation job running under ``--executor processes``; about a minute).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the monitor needs hepreco[monitor] (starlette, uvicorn)")
pytest.importorskip("uvicorn", reason="the monitor needs hepreco[monitor] (starlette, uvicorn)")
pytest.importorskip("selenium", reason="the browser tests need selenium (pip install selenium)")

import hepreco
from hepreco.monitor.server import MonitorServer
from hepreco.monitor.state import MonitorState

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")


@pytest.fixture
def browser() -> Any:
    if CHROMIUM is None or DRIVER is None:
        pytest.skip("no Chromium here: apt-get install chromium chromium-driver (Debian) to run the browser tests")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1100",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=opts)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: Any, script: str, timeout: float = 60) -> Any:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"the page never satisfied: {script}")


def shown(driver: Any) -> tuple[int, np.ndarray]:
    """The events of the histograms the page drew, and the bins it drew for h_x (one consistent snapshot)."""
    ev, values = driver.execute_script("return [window.hepreco.histEvents, window.hepreco.shown['h_x/h_x']]")
    return int(ev), np.asarray(values, dtype=float)


def test_page_of_a_running_job(browser, tmp_path, monitor_job):
    cfg = monitor_job(8000, throttle=0.15, monitor={"linger": 3.0})
    proc, url = _start_monitored(cfg, tmp_path)
    try:
        browser.get(url)
        wait_for(
            browser,
            "return window.hepreco.version >= 1 && window.hepreco.shown['h_x/h_x'] && window.hepreco.histEvents > 0",
        )

        # the bins on the page are the job's at that moment: the same job stopped after as many events
        n1, bins1 = shown(browser)
        expected = hepreco.run(monitor_job(n1), quiet=True).histograms["h_x"]["h_x"].values()
        np.testing.assert_array_equal(bins1, expected)

        # the counts grow while the job runs
        wait_for(browser, f"return window.hepreco.histEvents > {n1}")
        n2, bins2 = shown(browser)
        assert n2 > n1 and bins2.sum() > bins1.sum() and np.all(bins2 >= bins1)
        status = wait_for(browser, f"const s = window.hepreco.status; return s.progress.events >= {n2} && s")
        assert status["progress"]["total"] == 8000 and status["progress"]["executor"] == "inline"
        assert "TrigReport" in browser.find_element("id", "trig").text

        # an event display appears
        event = wait_for(browser, "return window.hepreco.displaysDrawn['toy.xy']")
        assert isinstance(event, list) and len(event) == 3
        assert browser.find_element("css selector", '#displays .card[data-name="toy.xy"] canvas')
        assert "toy hits" in browser.find_element("id", "displays").text

        browser.find_element("id", "logy").click()  # log scale, then back: redrawn without errors
        browser.find_element("id", "logy").click()
        png = tmp_path / "monitor.png"
        browser.save_screenshot(str(png))
        assert png.stat().st_size > 10_000
        if os.environ.get("HEPRECO_SCREENSHOT_DOCS"):
            (REPO / "docs").mkdir(exist_ok=True)
            shutil.copy(png, REPO / "docs" / "monitor.png")

        # the job ends cleanly with the browser still on the page
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "Traceback" not in err, err
        errors = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE" and "favicon" not in e["message"]]
        assert not [e for e in errors if "api/" not in e["message"]], errors  # no script error on the page
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_images_reach_the_browser(browser):
    """A 600x3000 LArTPC-sized view and a 128x128 CDC-sized image are drawn; the time each took is printed
    (benchmarks/monitor.py reports it too; tests assert no wall-clock times)."""
    rng = np.random.default_rng(1)
    state = MonitorState("images")
    state.fixed_displays["lartpc"] = {"kind": "image", "image": rng.random((600, 3000)), "title": "600x3000"}
    state.fixed_displays["cdc"] = {"kind": "image", "image": rng.random((128, 128)), "title": "128x128"}
    server = MonitorServer(state, "127.0.0.1:0")
    server.start()
    try:
        browser.get(server.url)
        wait_for(browser, "const m = window.hepreco.imageHistory; return m.lartpc && m.cdc && m.cdc.length >= 3")
        ms = browser.execute_script("return window.hepreco.imageHistory")
        print(
            "\nimage to browser (fetch + draw, first load then each refresh): "
            f"600x3000 {', '.join(f'{t:.0f}' for t in ms['lartpc'])} ms; 128x128 {', '.join(f'{t:.0f}' for t in ms['cdc'])} ms"
        )
        dims = browser.execute_script(
            "return [...document.querySelectorAll('#displays .card .t')].map(e => e.textContent)"
        )
        assert len(dims) == 2
    finally:
        server.stop()


def test_page_stays_responsive_with_500_histograms(browser):
    import hist

    state = MonitorState("many")
    for k in range(500):
        h = hist.Hist.new.Reg(50, 0, 1, name="x").Double()
        h.fill(np.random.default_rng(k).random(200))
        state.histograms[f"mod{k // 50}/h{k:03d}"] = h
    state.version = 1
    server = MonitorServer(state, "127.0.0.1:0")
    server.start()
    try:
        browser.get(server.url)
        wait_for(browser, "return window.hepreco.version === 1 && Object.keys(window.hepreco.shown).length > 0")
        assert browser.execute_script("return document.querySelectorAll('#grid .card').length") == 500
        drawn = browser.execute_script("return Object.keys(window.hepreco.shown).length")
        assert 0 < drawn < 500  # only the cards on screen are drawn
        t0 = time.monotonic()
        box = browser.find_element("id", "filter")
        box.send_keys("h499")
        wait_for(browser, "return document.getElementById('count').textContent.startsWith('1 of 500')")
        print(f"\nfilter 500 histograms: {1000 * (time.monotonic() - t0):.0f} ms")
    finally:
        server.stop()


def test_file_comparison_page(browser, tmp_path):
    """``hepreco monitor NEW --ref REF``: each histogram over its reference, with the ratio new / reference; a
    graph in both (a ROC curve) over its reference too, the ratio taken at the new graph's points."""
    import hist

    from hepreco.monitor.files import load_files
    from hepreco.services.histograms import write_histograms
    from hepreco.services.results import Graph

    def h(scale: float) -> Any:
        out = hist.Hist.new.Reg(10, 0, 1, name="x", label="x").Weight()
        out.fill(np.linspace(0.05, 0.95, 10), weight=scale)
        return out

    # ROC curves as the jets plugin writes them (results/roc/roc_NAME): 1/eps_B against eps_S, eps_S falling
    eps_s = np.linspace(0.9, 0.1, 9)
    new_roc = Graph(eps_s, 1.2 / eps_s**2, title="new ROC")
    ref_roc = Graph(eps_s[::2], 1.0 / eps_s[::2] ** 2, title="reference ROC")  # fewer points, on the curve 1/x^2
    write_histograms(tmp_path / "new.root", {"mod": {"h": h(2.0)}}, {"roc": {"roc_mpnn": new_roc}})
    write_histograms(tmp_path / "ref.root", {"mod": {"h": h(1.0)}}, {"roc": {"roc_mpnn": ref_roc}})
    server = MonitorServer(load_files(tmp_path / "new.root", tmp_path / "ref.root"), "127.0.0.1:0")
    server.start()
    try:
        browser.get(server.url)
        ratios = wait_for(browser, "return window.hepreco.ratios['mod/h']")
        assert ratios == [2.0] * 10
        assert wait_for(browser, "return window.hepreco.shown['mod/h']") == [2.0] * 10
        assert "new.root vs ref.root" in browser.find_element("id", "title").text
        name = "results/roc/roc_mpnn"
        drawn = wait_for(browser, f"return window.hepreco.graphsDrawn['{name}']")
        assert drawn == {"points": 9, "ref": 5}
        graph_ratios = np.asarray(browser.execute_script(f"return window.hepreco.graphRatios['{name}']"), float)
        expected = 1.2 / eps_s**2 / np.interp(eps_s, eps_s[::-2], 1.0 / eps_s[::-2] ** 2)  # linear between points
        np.testing.assert_allclose(graph_ratios, expected, rtol=1e-9)
        assert graph_ratios[0] == pytest.approx(1.2) and graph_ratios[-1] == pytest.approx(1.2)
        card = browser.find_element("css selector", f'#graphs .card[data-graph="{name}"]')
        assert "over the reference (red, dashed)" in card.text
    finally:
        server.stop()


def _start_monitored(config: dict[str, Any], tmp_path: Path) -> tuple[subprocess.Popen, str]:
    path = tmp_path / "job.yaml"
    path.write_text(json.dumps(config))
    proc = subprocess.Popen(
        [sys.executable, "-m", "hepreco", "run", str(path), "--no-reports"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert proc.stderr is not None
    for _ in range(200):
        line = proc.stderr.readline()
        if "monitor at " in line:
            return proc, line.split("monitor at ", 1)[1].split()[0]
        if not line and proc.poll() is not None:
            break
    proc.kill()
    pytest.fail("the job printed no monitor URL")


def test_pool_job_shows_displays_in_the_browser(browser, tmp_path, monitor_job):
    """Under ``--executor processes`` the page draws the event each worker sent back with its chunk; a display
    that fails shows its error on the page, and the job goes on."""
    cfg = monitor_job(6000, throttle=0.1, executor={"kind": "processes", "workers": 2, "chunk_size": 200})
    cfg["services"]["Monitor"] = {"address": "127.0.0.1:0"}
    cfg["modules"]["boom"] = {"module": "MonitorBoomHits"}
    cfg["paths"]["p"].append("boom")
    proc, url = _start_monitored(cfg, tmp_path)
    try:
        browser.get(url)
        event = wait_for(browser, "return window.hepreco.displaysDrawn['toy.xy']", timeout=120)
        assert event[2] % 200 == 101  # the first event of a chunk's last batch (batches of 100)
        title = browser.find_element("css selector", '#displays .card[data-name="toy.xy"] .t').text
        assert f"run 1:0:{event[2]}" in title and f"chunk {event[2] // 200}" in title
        error = wait_for(browser, "return window.hepreco.displayErrors['toy.broken']")
        assert "this display always fails" in error
        assert "failed" in browser.find_element("css selector", '#displays .card[data-name="toy.broken"] .t').text
        status = wait_for(browser, "const s = window.hepreco.status; return s && s.progress.chunks_done >= 1 && s")
        assert not status["finished"], "the job ended before the page was checked: give it more events"
        row = status["progress"]["rows"][status["progress"]["executor"]]
        assert row["running"] == status["progress"]["running"] and 1 <= row["running"] <= 3  # 2 workers + 1 queued
        header = [th.text for th in browser.find_elements("css selector", "#rows th")]
        assert header[:3] == ["executor", "chunks done", "running"]
    finally:
        proc.terminate()  # SIGTERM: the job stops (143), the workers with it
        _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "Traceback" not in err, err


@pytest.mark.skipif(
    not os.environ.get("HEPRECO_SCREENSHOT_DOCS"),
    reason="writes docs/monitor_display.png: HEPRECO_SCREENSHOT_DOCS=1 (a COMET simulation job, about a minute)",
)
def test_screenshot_of_a_detector_display(browser, tmp_path):
    """``docs/monitor_display.png``: the page of a COMET CDC simulation job running under ``--executor processes``
    with its CDC x-y display (the hits of the first event of a chunk's last batch, sent back by the worker)."""
    pytest.importorskip("hepreco_comet", reason="the COMET plugin draws the display")
    edep = {"fill": "source:hits.edep", "bins": 60, "start": 0, "stop": 1500, "label": "hit edep [0.16 keV]"}
    layer = {"fill": "source:hits.layer", "bins": 20, "start": 0, "stop": 20, "label": "layer"}
    cfg = {
        "process": "comet_cdc",
        "seed": 11,
        # the toy plugin's throttle: the job is still running when the page is shot
        "plugins": [str(REPO / "tests" / "data" / "monitor_plugin.py")],
        "source": {"module": "comet.CDCSimSource", "events": 20000, "batch_size": 100},
        "executor": {"kind": "processes", "workers": 2, "chunk_size": 200},
        "services": {"Monitor": {"address": "127.0.0.1:0"}},
        "modules": {
            "h_edep": {"module": "HistFill", "axes": [edep]},
            "h_layer": {"module": "HistFill", "axes": [layer]},
            "slow": {"module": "MonitorThrottle", "seconds": 0.2},
        },
        "end_paths": {"e": ["h_edep", "h_layer", "slow"]},
    }
    proc, url = _start_monitored(cfg, tmp_path)
    try:
        browser.set_window_size(1280, 1000)
        browser.get(url)
        wait_for(browser, "return window.hepreco.displaysDrawn['comet.xy']", timeout=600)
        wait_for(browser, "return window.hepreco.status.progress.chunks_done >= 3", timeout=600)
        time.sleep(2.5)  # one more display poll: the page as it is while the job runs
        status = browser.execute_script("return window.hepreco.status")
        assert not status["finished"], "the job ended before the screenshot"
        png = tmp_path / "monitor_display.png"
        browser.save_screenshot(str(png))
        from PIL import Image

        Image.open(png).convert("RGB").quantize(colors=128).save(png, optimize=True)  # a small PNG
        assert 10_000 < png.stat().st_size < 300_000
        (REPO / "docs").mkdir(exist_ok=True)
        shutil.copy(png, REPO / "docs" / "monitor_display.png")
    finally:
        proc.terminate()
        proc.communicate(timeout=120)
