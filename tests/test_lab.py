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
    # JupyterLab's user settings of this test alone (not the machine's): a notebook whose
    # kernel it lost while starting (it may start two at once, and shut one) starts the
    # preferred kernel again instead of asking which, as a curator who ticked "Always start
    # the preferred kernel" has it; and every cell is in the page, not only those in view
    # ('defer', the default, attaches the others when the CPU is idle: on 2 busy cores the
    # widget's cell stayed out of the page for minutes)
    settings = tmp_path / "lab-settings"
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"autoStartDefaultKernel": true, "windowingMode": "none"}')
    proc = subprocess.Popen([*PHOTOLAB, "lab", "--library", str(libdir), "--port", str(port),
                             "--token", "lab-token"],
                            env={**env(), "JUPYTERLAB_SETTINGS_DIR": str(settings)},
                            stdout=log, stderr=log)
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
        # then closes the menu and runs nothing), a dialog asking for a kernel may cover the
        # menu, and a kernel JupyterLab replaces while it starts drops the cells queued on
        # it: run all again whenever nothing runs and the last cell has not run (the
        # menu's click times out while a dialog covers it; the next round answers it)
        prompts = ("[...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
                   ".map((p) => p.textContent.trim())")
        ran = "/\\[\\d+\\]/.test(p[p.length - 1])"
        last_ran = f"(() => {{ const p = {prompts}; return {ran}; }})()"
        idle = "!p.some((x) => x.includes('*'))"  # no cell running or queued
        settled = f"(() => {{ const p = {prompts}; return {ran} || {idle}; }})()"
        runs = 0
        while not page.evaluate(last_ran):
            if not page.evaluate(settled):  # cells run or wait to: until they are done
                page.wait_for_function(settled, timeout=240_000)
                continue
            assert runs < 5, "the notebook's last cell never ran, after Run All Cells 5 times"
            runs += 1
            accept = page.locator(".jp-Dialog .jp-mod-accept")
            if accept.count():  # a kernel to choose all the same: the preferred one
                accept.first.click()
            try:
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click(
                    timeout=15_000)
                page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click(
                    timeout=15_000)
                page.wait_for_function(f"!({settled}) || {last_ran}", timeout=15_000)
            except PlaywrightTimeout:
                page.screenshot(path=str(shot(f"lab-attempt-{runs}.png")))
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
