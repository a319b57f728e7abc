"""`photolab lab`: JupyterLab on the curator's notebooks, driven in headless Chromium — the
widget and plotly front-ends are really installed in the lab, not only in Voilà."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from photolab import Library

from .conftest import PHOTOLAB, copy_files, env, free_port, wait_for_port
from .serving import shot

pytestmark = pytest.mark.slow


def test_lab_runs_the_duplicates_notebook_with_widgets_and_plots(tmp_path: Path,
                                                                 new_page) -> None:
    copy_files(tmp_path / "p", ["dupes/fr_obama-1080p.jpg", "dupes/fr_obama-720p.jpg",
                                "dupes/pillow_flower2.jpg", "dupes/pillow_flower2.webp"])
    libdir = tmp_path / "lib"
    with Library(libdir) as lib:
        lib.ingest([tmp_path / "p"], show_progress=False, skip=["faces", "people"])
    port = free_port()
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen([*PHOTOLAB, "lab", "--library", str(libdir), "--port", str(port),
                             "--token", "lab-token"], env=env(), stdout=log, stderr=log)
    try:
        wait_for_port(port, proc, 120)
        assert (libdir / "notebooks" / "02_duplicates.ipynb").exists()  # copied for editing
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        page = new_page(1400, 1000)
        page.goto(f"http://127.0.0.1:{port}/lab/tree/02_duplicates.ipynb?token=lab-token")
        page.locator(".jp-Notebook").first.wait_for(timeout=120_000)
        page.get_by_text("Kernel status: Idle").first.wait_for(state="attached",
                                                               timeout=120_000)
        # "Run All Cells" is disabled until the notebook's kernel session is ready (a click
        # then closes the menu and runs nothing), and a dialog asking for a kernel may cover
        # the menu: asked again until a cell has started
        started = ("[...document.querySelectorAll('.jp-InputPrompt')]"
                   ".some((p) => /\\[(\\*|\\d+)\\]/.test(p.textContent))")
        for attempt in range(4):
            # JupyterLab may ask which kernel to start, at any moment of its start-up: its
            # dialog covers the menu until answered
            accept = page.locator(".jp-Dialog .jp-mod-accept")
            if accept.count():  # then the kernel it starts is waited for, not run at once
                accept.first.click()
                page.locator(".jp-Dialog").first.wait_for(state="detached", timeout=30_000)
                page.get_by_text("Kernel status: Idle").first.wait_for(state="attached",
                                                                       timeout=120_000)
            try:
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click(
                    timeout=15_000)
                page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click(
                    timeout=15_000)
                page.wait_for_function(started, timeout=15_000)
                break
            except PlaywrightTimeout:
                page.screenshot(path=str(shot(f"lab-attempt-{attempt}.png")))
                assert attempt < 3, "no cell started after Run All Cells, four times"
        try:
            page.get_by_text("group 1 of 2").wait_for(timeout=120_000)  # the widget
        finally:
            page.screenshot(path=str(shot("lab-duplicates.png")), full_page=True)
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)  # a plotly figure
        assert page.locator(".jp-OutputArea-output img").count() >= 2  # thumbnails
        page.screenshot(path=str(shot("lab-duplicates-done.png")), full_page=True)
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    assert "127.0.0.1" in (tmp_path / "lab.log").read_text()
