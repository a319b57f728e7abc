"""Thumbnails of 24-megapixel camera RAWs, by path, against the JPEG path, in one run.

    .venv/bin/python benchmarks/raw.py [--n 12] [--workers 2]

A 6000 x 4000 picture is made from a corpus photo and written as a JPEG (the baseline: what
a camera's JPEG costs) and as Bayer DNGs (tests/dngs.py, 14-bit RGGB): one with a full-size
embedded JPEG preview (the `raw-preview` path), one with IFD0's thumbnail only (decoded: the
`raw-half` path, LibRaw's half-size demosaic, as the stage picks for 24 MP), and the same
decoded at full size (`raw-full`, what a RAW too small for half size costs per pixel). Each
path runs `make_thumbnails` (the thumbnails stage's function: big/small/tiny WebP) over
`--n` files with `--workers` threads in a child process of its own, so its peak memory
(Linux's VmHWM) is its own. Printed: thumbnails per second, the ratio to the JPEG path and the
peak memory.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS = REPO.parent / "shared" / "corpus"
SOURCE = CORPUS / "faces" / "df_person03" / "img49.jpg"
PATHS = ("jpeg", "raw-preview", "raw-half", "raw-full")


def make_inputs(folder: Path) -> dict[str, Path]:
    """The 24 MP picture as a JPEG, a DNG with a full-size preview, a DNG without."""
    import pyvips

    sys.path.insert(0, str(REPO))
    from tests.dngs import write_dng

    im = pyvips.Image.new_from_file(str(SOURCE)).resize(6000 / 4352)
    im = im.crop(0, 0, 6000, 4000) if im.height >= 4000 else im
    rgb = im.extract_band(0, n=3).numpy()
    out = {"jpeg": folder / "photo.jpg", "raw-preview": folder / "preview.dng",
           "raw-half": folder / "decode.dng"}
    im.jpegsave(str(out["jpeg"]), Q=92)
    write_dng(out["raw-preview"], rgb, preview=max(rgb.shape[:2]))
    write_dng(out["raw-half"], rgb)
    out["raw-full"] = out["raw-half"]
    return out


def child(kind: str, path: str, n: int, workers: int) -> None:
    """Run the stage's function over `n` copies of one file; print the seconds."""
    import polars as pl

    sys.path.insert(0, str(REPO))
    from photolab.media import raw, thumbnails

    if kind == "raw-full":  # the decode at full size, as a RAW under 2160 px gets
        load = raw.load_raw
        raw.load_raw = lambda p, longest, *a: load(p, max(longest, 3001), *a)  # type: ignore[assignment]
        thumbnails.load_raw = raw.load_raw
    mime = "image/jpeg" if kind == "jpeg" else "image/x-adobe-dng"
    files = pl.DataFrame({"photo_id": range(n), "path_raw": [path.encode()] * n,
                          "content_hash": [f"{i:032x}" for i in range(n)], "mime": [mime] * n})
    out_dir = Path(tempfile.mkdtemp(prefix="raw-bench-"))
    t = time.perf_counter()
    made = thumbnails.make_thumbnails(files, out_dir, workers=workers)
    seconds = time.perf_counter() - t
    assert made["error"].null_count() == n, made["error"].drop_nulls().to_list()
    assert set(made["source"]) == {"libvips" if kind == "jpeg" else kind}, made["source"]
    hwm = next(line for line in Path("/proc/self/status").read_text().splitlines()
               if line.startswith("VmHWM:"))  # this process's peak resident memory
    print(seconds, int(hwm.split()[1]) / 1024)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--child", nargs=2, metavar=("KIND", "PATH"))
    a = ap.parse_args()
    if a.child:
        child(a.child[0], a.child[1], a.n, a.workers)
        return
    folder = Path(tempfile.mkdtemp(prefix="raw-bench-"))
    inputs = make_inputs(folder)
    sizes = {k: p.stat().st_size / 2**20 for k, p in inputs.items()}
    results: dict[str, tuple[float, float]] = {}
    for kind in PATHS:
        out = subprocess.run([sys.executable, __file__, "--n", str(a.n), "--workers",
                              str(a.workers), "--child", kind, str(inputs[kind])],
                             capture_output=True, text=True, check=True).stdout
        seconds, rss = out.strip().splitlines()[-1].split()
        results[kind] = (float(seconds), float(rss))
    base = a.n / results["jpeg"][0]
    print(f"24 MP (6000 x 4000), {a.n} files per path, {a.workers} workers, "
          f"{os.cpu_count()} cores; big/small/tiny WebP")
    print(f"{'path':<12} {'file MB':>8} {'thumbs/s':>9} {'vs JPEG':>8} {'peak RSS MB':>12}")
    for kind, (seconds, rss) in results.items():
        rate = a.n / seconds
        print(f"{kind:<12} {sizes[kind]:8.1f} {rate:9.2f} {rate / base:7.2f}x {rss:12.0f}")


if __name__ == "__main__":
    main()
