"""What a page of timeline tiles costs Chromium's page thread, by what the tiles show.

    .venv/bin/python benchmarks/tiles.py [--pages 10]

Ten pages of 60 tiles appended, the way the timeline's module appends them (its own CSS),
with days of 10 and of 100 photos; each page timed from the first tile appended until every
new image is decoded and two frames are drawn. The tiles show:

- baseline: photolab's "no preview" SVG, each tile a blob URL of its own (the code before
  `static/image_url.mjs`: what a page of videos, damaged files or a library whose thumbnails were
  not made yet cost);
- shared: the same SVG, every tile the one URL (`photolab/widgets/static/image_url.mjs`);
- webp: a 256x170 WebP thumbnail each, a URL of its own (what thumbnails cost).

The ratios are against the baseline, measured in the same run (headless Chromium, this
machine's cores).
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
from pathlib import Path

import pyvips
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from photolab.widgets._html import NO_PREVIEW  # noqa: E402
from photolab.widgets.front import css  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
APPEND = """
async ([pages, perDay, kind, svg, webp]) => {
  const body = document.getElementById("b");
  const bytes = kind === "webp" ? Uint8Array.from(atob(webp), (c) => c.charCodeAt(0))
    : new TextEncoder().encode(svg);
  const type = kind === "webp" ? "image/webp" : "image/svg+xml";
  const one = URL.createObjectURL(new Blob([bytes], { type }));
  const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  let grid = null, k = 0;
  const took = [];
  for (let p = 0; p < pages; p++) {
    const t = performance.now();
    for (let i = 0; i < 60; i++, k++) {
      if (k % perDay === 0) {
        const h = document.createElement("h3");
        h.className = "photolab-day"; h.textContent = `day ${k / perDay}`;
        grid = document.createElement("div"); grid.className = "photolab-grid";
        body.append(h, grid);
      }
      const box = document.createElement("figure"); box.className = "photolab-tilebox";
      const img = document.createElement("img"); img.className = "photolab-tile";
      img.src = kind === "shared" ? one : URL.createObjectURL(new Blob([bytes], { type }));
      box.append(img); grid.append(box);
    }
    document.getElementById("m").scrollIntoView();
    await frames();
    await Promise.all([...document.images].slice(-60).map((i) => i.decode().catch(() => 0)));
    await frames();
    took.push(performance.now() - t);
  }
  return took;
}"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=10)
    args = ap.parse_args()
    webp = pyvips.Image.black(256, 170).draw_rect([120, 80, 200], 10, 10, 100, 100,
                                                  fill=True).webpsave_buffer()
    style = css("tiles.css", "timeline.css")
    page_html = (f"<style>{style}</style><div class='photolab-timeline'>"
                 "<div id='b'></div><div id='m' class='photolab-more'>loading…</div></div>")
    medians: dict[tuple[int, str], float] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        for per_day in (10, 100):
            for kind in ("baseline", "shared", "webp"):
                page = browser.new_page(viewport={"width": 1300, "height": 900})
                page.set_content(page_html)
                took = page.evaluate(APPEND, [args.pages, per_day, kind, NO_PREVIEW.decode(),
                                              base64.b64encode(webp).decode()])
                medians[per_day, kind] = statistics.median(took) / 1000
                print(json.dumps({"per_day": per_day, "tiles": kind,
                                  "ms": [round(x) for x in took]}), flush=True)
                page.close()
        browser.close()
    print("\n| photos a day | baseline: an SVG URL per tile | shared URL | x | webp | x |")
    print("| --- | --- | --- | --- | --- | --- |")
    for per_day in (10, 100):
        base = medians[per_day, "baseline"]
        shared, webp_s = medians[per_day, "shared"], medians[per_day, "webp"]
        print(f"| {per_day} | {base:.3f} s | {shared:.3f} s | {base / shared:.1f} | "
              f"{webp_s:.3f} s | {base / webp_s:.1f} |")


if __name__ == "__main__":
    main()
