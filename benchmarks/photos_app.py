"""The photos app as a family member meets it: `photolab serve`, each dashboard in headless
Chromium, the time from the request until its first content shows (the kernel's start
included), and on the timeline the time each next page of tiles takes to appear as the page
is scrolled to its end.

    .venv/bin/python benchmarks/photos_app.py [--library DIR ...] [--pages 10] [--baseline REF]
                                              [--opens N]

Default libraries: `benchmarks/out/corpus` (../shared/corpus ingested once, kept) and
`benchmarks/out/catalog-100000/lib` when `benchmarks/catalog.py` built it. Baseline, measured
in the same run on the same library: the kernel's own work for one page (`Timeline.load_page`
and reading its thumbnails, no browser); the ratio says what the round trip through Voilà,
the widget messages and the browser's layout add. With `--baseline REF` (default
`DEFAULT_BASELINE`, '' for none) each page is also opened, in the same run, on a server of
that commit (a git worktree, its code first on the server's and kernels' path), and the
table gives both and their ratio: this machine's speed varies from day to day by more than
most changes do.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS = REPO.parent / "shared" / "corpus"
CHROMIUM = "/usr/bin/chromium"
#: the commit before the places page lost its FigureWidget and more pages were run ahead
DEFAULT_BASELINE = "8e4e11f"
PHOTOLAB = [sys.executable, "-m", "photolab.cli"]
#: each dashboard and what shows once its widgets have drawn their first content
FIRST = {"home.ipynb": ".photolab-tile", "photos.ipynb": ".photolab-tile",
         "albums.ipynb": ".photolab-album", "people.ipynb": ".photolab-person",
         "places.ipynb": ".photolab-place, g.slice",  # its covers (a baseline: the sunburst)
         "duplicates.ipynb": ".widget-html >> text=group 1 of"}
#: what a page shows before its widgets (`photolab.widgets.early`: thumbnails written into
#: the page itself), where it has any
EARLY = ".photolab-early img"


def corpus_library() -> Path:
    from photolab import Library

    lib = HERE / "out" / "corpus"
    if not (lib / "built").exists():
        with Library(lib) as made:
            made.ingest([CORPUS], show_progress=False, skip=["semantic", "tags", "captions"])
        (lib / "built").write_text("corpus")
    return lib


def kernel_page_s(library: Path, pages: int) -> float:
    """The median seconds of one page read in the kernel: tiles and their thumbnails."""
    from photolab import Library
    from photolab.media.thumbnails import thumb_path
    from photolab.widgets.photos import Timeline

    with Library(library, read_only=True) as lib:
        t = Timeline(lib)
        times = []
        for _ in range(pages):
            s = time.perf_counter()
            tiles = t.load_page()
            for tile in tiles:
                p = thumb_path(lib.thumbs_dir, tile["hash"] or "", "tiny")
                if p.exists():
                    p.read_bytes()
            times.append(time.perf_counter() - s)
            if t.done:
                break
        return statistics.median(times)


def preheated(code: Path) -> int:
    """How many pages the server of this code runs ahead."""
    out = subprocess.run([sys.executable, "-c", "from photolab.server.voila import PREHEATED;"
                          "print(len(PREHEATED))"], env=_env(code), cwd=code, capture_output=True,
                         text=True, check=True)
    return int(out.stdout)


def _env(code: Path) -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(code)}


def wait_idle(pid: int, timeout: float = 300) -> None:
    """Wait until the server and its kernels have had a quiet second (under a tenth of a
    core): the preheated pages have run their notebooks, not only started their kernels."""
    import psutil

    root = psutil.Process(pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs = [root, *root.children(recursive=True)]
        before = sum(sum(p.cpu_times()[:2]) for p in procs if p.is_running())
        time.sleep(1)
        after = sum(sum(p.cpu_times()[:2]) for p in procs if p.is_running())
        if after - before < 0.1:
            return
    raise SystemExit("the server did not settle")


def browser(library: Path, pages: int, only: list[str] | None = None,
            code: Path = REPO, opens: int = 1) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(REPO))
    from tests.conftest import free_port, wait_for_port

    library = library.resolve()  # the server runs in the code's folder
    # as an ingest leaves the library: its first reads kept, by this code (a kept answer
    # is tied to the code that made it)
    subprocess.run([sys.executable, "-c", "import sys; from photolab import Library; "
                    "from photolab.materialised import keep_reads; "
                    "lib = Library(sys.argv[1]); keep_reads(lib); lib.close()", str(library)],
                   env=_env(code), cwd=code, check=True)
    port = free_port()
    log = HERE / "out" / f"serve-{port}.log"
    with log.open("w") as err:
        proc = subprocess.Popen([*PHOTOLAB, "serve", "--library", str(library), "--port",
                                 str(port), "--token", "t", "--read-only"], cwd=code,
                                env=_env(code), stdout=subprocess.DEVNULL, stderr=err,
                                text=True)
    try:
        wait_for_port(port, proc, 120)
        # "once the server is up": its preheated pages have run (Voilà logs each pool filled,
        # then the kernels run their notebooks)
        deadline, pools = time.monotonic() + 300, preheated(code)
        while log.read_text().count("is filled with") < pools:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"the preheated pages did not run: see {log}")
            time.sleep(0.2)
        wait_idle(proc.pid)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=CHROMIUM,
                                  args=["--no-sandbox", "--disable-dev-shm-usage"])
            base = f"http://127.0.0.1:{port}/voila/render"
            shown, early = {}, {}
            for name, selector in FIRST.items():
                if only and name not in only:
                    continue
                firsts, shows = [], []
                for _ in range(opens):  # the median of `opens` opens, each a new kernel
                    page = b.new_page(viewport={"width": 1300, "height": 900})
                    t = time.monotonic()
                    page.goto(f"{base}/{name}?token=t", wait_until="commit")
                    first = page.locator(EARLY).or_(page.locator(selector)).first
                    try:
                        first.wait_for(timeout=180_000)
                        firsts.append(time.monotonic() - t)
                        page.locator(selector).first.wait_for(timeout=180_000)
                        shows.append(time.monotonic() - t)
                    except Exception:  # nothing of that kind in this library (a timeout)
                        firsts.append(float("nan"))
                        shows.append(float("nan"))
                    page.close()
                    wait_idle(proc.pid)  # the page's kernel replaced in its pool
                early[name], shown[name] = statistics.median(firsts), statistics.median(shows)
            page = b.new_page(viewport={"width": 1300, "height": 900})
            page.goto(f"{base}/photos.ipynb?token=t")
            page.locator(".photolab-tile").first.wait_for(timeout=180_000)
            count = "document.querySelectorAll('.photolab-tile').length"
            page.wait_for_function(f"{count} >= 60 || "
                                   "!document.querySelector('.photolab-more').textContent")
            paging = []
            for _ in range(pages):
                n = page.evaluate(count)
                if not page.evaluate("document.querySelector('.photolab-more').textContent"):
                    break  # every photo is on the page
                t = time.monotonic()
                page.evaluate("document.querySelector('.photolab-more').scrollIntoView()")
                page.wait_for_function(f"{count} > {n}", timeout=60_000)
                paging.append(time.monotonic() - t)
            b.close()
    finally:
        proc.terminate()
        proc.wait(10)
    return {"shown": shown, "early": early, "pages": len(paging),
            "paging": statistics.median(paging) if paging else float("nan")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", nargs="*", type=Path)
    ap.add_argument("--pages", type=int, default=10)
    ap.add_argument("--only", nargs="*", help="these dashboards only (home.ipynb ...)")
    ap.add_argument("--opens", type=int, default=1,
                    help="open each page this many times (the median is shown); the baseline "
                         "is measured first, then this code, when more than one")
    ap.add_argument("--baseline", default=DEFAULT_BASELINE,
                    help="git ref to compare with ('' for none)")
    args = ap.parse_args()
    libs = args.library or [corpus_library()] + [
        p for p in [HERE / "out" / f"catalog-{n}" / "lib" for n in (100_000, 1_000_000)]
        if p.exists()]
    from photolab import Library

    base_code = None
    if args.baseline:
        from catalog import worktree

        base_code = worktree(args.baseline)
    for lib in libs:
        with Library(lib, read_only=True) as opened:
            n = opened.count_recent()
        # with several opens the baseline goes first: whichever goes first meets colder caches
        was = (browser(lib, args.pages, args.only, base_code, args.opens)
               if base_code and args.opens > 1 else None)
        got = browser(lib, args.pages, args.only, opens=args.opens)
        if base_code and args.opens == 1:
            was = browser(lib, args.pages, args.only, base_code)
        kernel = kernel_page_s(lib, args.pages)
        name = str(lib.relative_to(REPO) if lib.is_relative_to(REPO) else lib)
        print(f"\n{name}: {n:,} photos; seconds from the request until the first photos "
              "show (the page's own HTML or its widgets), and until its widgets show them"
              + (f"; baseline {args.baseline}: the same, served by that commit" if was else ""))
        for page, secs in got["shown"].items():
            first = got["early"][page]
            line = f"  {page:<18}first {first:>6.2f}  widgets {secs:>6.2f}"
            if was:
                then, then_first = was["shown"][page], was["early"][page]
                line += (f"   baseline first {then_first:>6.2f} widgets {then:>6.2f}   "
                         f"now/baseline first {first / then_first:.2f}x "
                         f"widgets {secs / then:.2f}x")
            print(line)
        print(f"  timeline paging: {got['paging']:.3f} s a page in Chromium (median of "
              f"{got['pages']}), {kernel:.3f} s in the kernel: {got['paging'] / kernel:.1f}x"
              + (f"; baseline {was['paging']:.3f} s" if was else ""), flush=True)


if __name__ == "__main__":
    main()
