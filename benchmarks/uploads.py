"""Adding photos from a phone, as a family member does: `photolab serve`, the home page in a
390 px Chromium context signed in as an editor, N files picked at once in "Add photos".

    .venv/bin/python benchmarks/uploads.py [--n 200] [--total-mb 1300] [--videos 6]

The files are made from the corpus (its JPEGs and MP4s, each made unique and brought to its
share of `--total-mb` by bytes after its end, which decoders ignore). Measured: the time
until every file is stored (the page says "added" for each), until every one shows with its
thumbnail in the timeline (the background ingest done, the page scrolled down to
each new tile), and the peak memory (RSS) of the
server's process while it streams them. Baselines, measured in the same run on the same
files: copying them into a folder (`shutil.copy2`: what storing costs at best), and
`photolab ingest` of that folder into a fresh library (what ingesting them costs from disk).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS = REPO.parent / "shared" / "corpus"
CHROMIUM = "/usr/bin/chromium"
PHOTOLAB = [sys.executable, "-m", "photolab.cli"]
SKIP = ["--skip", "semantic", "--skip", "tags", "--skip", "captions"]


def make_files(dest: Path, n: int, total_mb: int, videos: int) -> list[Path]:
    """`n` distinct files, `videos` of them MP4s, about `total_mb` in all."""
    jpgs = sorted((CORPUS / "exif").glob("ianare_*.jpg"))
    mp4s = sorted((CORPUS / "misc").glob("*.mp4"))
    dest.mkdir(parents=True, exist_ok=True)
    each = total_mb * 2**20 // n
    out = []
    for i in range(n):
        src = mp4s[i % len(mp4s)] if i < videos else jpgs[i % len(jpgs)]
        body = src.read_bytes()
        pad = max(each - len(body), 16)
        target = dest / f"IMG_{i:04d}{src.suffix}"
        target.write_bytes(body + i.to_bytes(8, "little") + bytes(pad - 8))
        out.append(target)
    return out


def peak_rss(pid: int, stop: threading.Event, out: list[int]) -> None:
    """The process's resident memory every 0.1 s (Linux's /proc) until `stop`."""
    while not stop.is_set():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        kb = next(int(line.split()[1]) for line in status.splitlines()
                  if line.startswith("VmRSS:"))
        out.append(kb * 1024)
        time.sleep(0.1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--total-mb", type=int, default=1300)
    ap.add_argument("--videos", type=int, default=6)
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(REPO))
    from photolab import Library
    from tests.serving import serve

    tmp = Path(tempfile.mkdtemp(prefix="photolab-uploads-"))
    files = make_files(tmp / "phone", a.n, a.total_mb, a.videos)
    size = sum(f.stat().st_size for f in files)
    # baselines: a plain copy, then `photolab ingest` of the copies
    (tmp / "copied").mkdir()
    t = time.perf_counter()
    for f in files:
        shutil.copy2(f, tmp / "copied" / f.name)
    copy_s = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run([*PHOTOLAB, "ingest", "--library", str(tmp / "base"), "--quiet", *SKIP,
                    str(tmp / "copied")], check=True)
    ingest_s = time.perf_counter() - t
    root = tmp / "lib"
    with Library(root) as lib:
        token = lib.add_member("Ada", "editor")
        lib.settings.clip_cache_dir = str(tmp / "empty-cache")  # no CLIP here: as the baseline
        lib.settings.save(root)
        lib.ingest([CORPUS / "faces_group"], show_progress=False, skip=SKIP[1::2])
    with serve(root, tmp / "serve.log") as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        page.goto(server.page("home.ipynb", token))
        tiles = page.locator(".photolab-tile")
        tiles.first.wait_for(timeout=180_000)
        rss: list[int] = []
        stop = threading.Event()
        watch = threading.Thread(target=peak_rss, args=(server.proc.pid, stop, rss))
        watch.start()
        t = time.perf_counter()
        page.locator("input.photolab-upload").set_input_files([str(f) for f in files])
        lines = page.locator(".photolab-upload-added")
        while lines.count() < a.n:
            if page.locator(".photolab-upload-refused").count():
                raise SystemExit(page.locator(".photolab-upload-lines").inner_text())
            time.sleep(0.5)
        stored_s = time.perf_counter() - t
        stop.set()
        watch.join()
        with Library(root, read_only=True) as lib:
            ids = lib.photos().filter(lib.photos()["path"].str.contains("uploads"))["photo_id"]
        while True:  # every new photo through the last stage the background ingest runs
            with Library(root, read_only=True) as lib:
                done = lib.catalog.frame_in(
                    "SELECT photo_id FROM stage_runs WHERE stage = 'faces' AND "
                    "photo_id IN ({ids})", ids.to_list()).height
            if done == len(ids):
                break
            time.sleep(1)
        ingested_s = time.perf_counter() - t
        new = {f"photo {i}" for i in ids}
        while True:  # every new photo's tile in the page's timeline, scrolling it down
            alts = set(tiles.evaluate_all("ts => ts.map(t => t.alt)"))
            if new <= alts:
                break
            tiles.last.scroll_into_view_if_needed()
            time.sleep(0.5)
        shown_s = time.perf_counter() - t
        left = list((root / "uploads" / ".partial").glob("*.part"))
        browser.close()
    mb = size / 2**20
    print(f"{a.n} files ({a.videos} videos), {mb:.0f} MB, 2 cores")
    print(f"stored (all 'added'):       {stored_s:7.1f} s  ({mb / stored_s:.0f} MB/s; "
          f"{stored_s / copy_s:.1f}x a plain copy's {copy_s:.1f} s)")
    print(f"ingested (every stage):     {ingested_s:7.1f} s  ({ingested_s / ingest_s:.2f}x "
          f"`photolab ingest` of the same files from disk: {ingest_s:.1f} s)")
    print(f"every tile in the timeline: {shown_s:7.1f} s  (no reload; scrolled down)")
    print(f"server's peak RSS: {max(rss) / 2**20:.0f} MB (files streamed to disk)")
    print(f"part files left: {len(left)}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
