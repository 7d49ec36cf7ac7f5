"""The Snakemake report of a tiny workflow run, opened in headless Chromium.

A small simulated dataset goes through the whole workflow (PCA and a 2-epoch CLAIRE),
then `snakemake --report` builds the HTML report. In the browser every category and
subcategory is opened and every figure shown; each must load as a non-empty image, and
every table page must show a filled table.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.workflow import PCA_PARAMS, ROOT, run_snakemake, tiny_dataset

# A whole (tiny) workflow run: about 1.5 CPU-minutes.
pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
CLAIRE_PARAMS = {
    "preset": "paper",
    "epochs": 2,
    "refine_epoch": 1,
    "batch_size": 128,
    "snapshot_epochs": [0, 2],
    "device": "cpu",
}
CONFIG = {
    "results": "results",
    "metrics": {"resolutions": [0.5, 1.0], "threads": 1},
    "report": {"umap_max_cells": 150},
    "datasets": {"tiny": tiny_dataset(240, 200, seed=3, n_batches=2, n_cell_types=3)},
    "methods": ["pca", "claire"],
    "method_params": {**PCA_PARAMS, "claire": CLAIRE_PARAMS},
}
EXPECTED_FIGURES = {
    "f1_bars.png",
    "batch_vs_bio.png",
    "runtime_memory.png",
    "training_curves.png",
    "seed_refinement.png",
    "tiny.png",  # UMAP per method
    "claire.png",  # UMAP per training epoch
}
EXPECTED_TABLES = {
    f"{name}.html"
    for name in (
        "raw_metrics",
        "scores",
        "summary",
        "control_scaled",
        "control_scaled_summary",
        "training_curves",
        "seed_refinement",
        "runtime",
    )
}
BROWSER_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


def _click(driver, element) -> None:
    """Click through JavaScript: the report's sliding menus can overlap a link mid-animation."""
    driver.execute_script("arguments[0].click();", element)


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> Path:
    """results + report.html of the tiny workflow run."""
    workdir = tmp_path_factory.mktemp("report_run")
    done = run_snakemake(workdir, CONFIG)
    assert done.returncode == 0, done.stderr[-4000:]
    report = workdir / "report.html"
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile")]
    cmd += ["--configfile", str(workdir / "config.yaml"), "--report", str(report)]
    made = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-4000:]
    return report


def test_report_holds_every_figure_and_table(report_html):
    html = report_html.read_text()
    assert report_html.stat().st_size > 100_000
    for name in EXPECTED_FIGURES | EXPECTED_TABLES:
        assert f"filename={name}" in html, name
    figures = report_html.parent / "results" / "figures"
    assert (figures / "umap" / "tiny.pdf").exists() and (figures / "f1_bars.pdf").exists()


def test_report_captions_come_from_the_registries(report_html):
    """Every table page and registered figure carries its entry's caption, rendered from
    the metric registry (config/tables.yaml, config/figures.yaml), and the report's
    description names the metrics of S_batch and S_bio from it."""
    from claire.bench.registry.figures import caption_fields, load_figures
    from claire.bench.registry.tables import load_tables

    html = report_html.read_text()
    for specs in (load_tables(), load_figures()):
        for name, spec in specs.items():
            if spec.optional is None:
                first_line = spec.caption_text.splitlines()[0]
                fragment = re.match(r"[\w ,:;()-]+", first_line).group(0)[:60]
                assert fragment in html, (name, fragment)
    fields = caption_fields()
    assert f"{fields['batch_metrics']} (batch mixing)" in html


@pytest.fixture
def browser(tmp_path):
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(
            "chromium and chromedriver not installed (apt-get install chromium "
            "chromium-driver, or scripts/install_system_deps.sh browser)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in (*BROWSER_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def _wait(condition, timeout: float = 15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the report page")


def _shown_png(driver) -> dict | None:
    """Filename and natural size of the PNG the report shows now (None while loading)."""
    return driver.execute_script(
        """const img = Array.from(document.images).find(i => i.src.startsWith('data:image/png'));
           if (!img || !img.complete) return null;
           const name = img.src.match(/filename=([^;]+);/);
           return {name: name && name[1], width: img.naturalWidth, height: img.naturalHeight};"""
    )


def _shown_table(driver, index: int, seen: set[str]) -> dict:
    """Open the index-th table of the list; its page (an iframe) must hold a filled table."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    _click(driver, driver.find_elements(By.CSS_SELECTOR, "a[iconname=eye]")[index])

    def read() -> dict | None:
        frames = driver.find_elements(By.TAG_NAME, "iframe")
        if not frames:
            return None
        try:
            driver.switch_to.frame(frames[0])
            info = driver.execute_script(
                """const t = document.querySelector('table');
                   return t && {title: document.title, rows: t.tBodies[0].rows.length,
                                columns: t.tHead.rows[0].cells.length};"""
            )
        except WebDriverException:  # the frame was replaced while reading it
            info = None
        finally:
            driver.switch_to.default_content()
        return info if info and info["title"] not in seen else None

    return _wait(read)


def _open(driver, link_text: str) -> None:
    from selenium.webdriver.common.by import By

    _click(driver, _wait(lambda: driver.find_elements(By.LINK_TEXT, link_text))[0])


def test_report_figures_render_in_chromium(report_html, browser, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(report_html.as_uri())
    categories = _wait(lambda: browser.execute_script("return window.categories"))
    results = browser.execute_script("return window.results")
    assert set(categories) == {
        "1. Scores",
        "2. Embeddings",
        "3. Training",
        "4. Tables",
        "5. Downstream",
        "6. Extended metrics",
    }
    shown, tables = {}, []
    for category, subcategories in categories.items():
        for subcategory, paths in subcategories.items():
            browser.get(report_html.as_uri())
            _open(browser, category)
            if len(subcategories) > 1:
                _open(browser, subcategory)
            eyes = _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "a[iconname=eye]"))
            assert len(eyes) == len(paths), (category, subcategory)
            if all(results[p]["mime_type"] == "text/html" for p in paths):
                for i in range(len(eyes)):
                    tables.append(_shown_table(browser, i, {t["title"] for t in tables}))
                continue
            for i in range(len(eyes)):
                _click(browser, browser.find_elements(By.CSS_SELECTOR, "a[iconname=eye]")[i])
                png = _wait(lambda: (p := _shown_png(browser)) and p["name"] not in shown and p)
                shown[png["name"]] = png
    assert set(shown) >= EXPECTED_FIGURES
    assert len(tables) == len(EXPECTED_TABLES)
    assert all(t["rows"] >= 1 and t["columns"] >= 4 for t in tables), tables
    assert all(size["width"] > 200 and size["height"] > 100 for size in shown.values()), shown
    # last view: a UMAP grid, for a person to look at
    browser.get(report_html.as_uri())
    _open(browser, "2. Embeddings")
    _open(browser, "UMAP per method")
    _click(browser, _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "a[iconname=eye]"))[0])
    _wait(lambda: (p := _shown_png(browser)) and p["name"] == "tiny.png")
    screenshot = tmp_path / "report_umap.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
