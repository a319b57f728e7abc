"""The local engine against Ray on this machine, Ray's per-batch overhead, the driver's
per-photo costs, and a projection to 10 million photos on N machines, in one run.

    .venv/bin/python benchmarks/scale.py [--n 500] [--faces-n 40] [--cores 16]

The tree is benchmarks/ingest.py's: N corpus photos upscaled to 12 MP JPEGs. Both engines run
the CPU stages (scan, metadata, dates, thumbnails, hashes, motion, places) into fresh
libraries; Ray gets this machine's cores as 2 workers. The faces stage is timed on --faces-n
photos (local, all cores), CLIP embedding is taken from benchmarks/semantic.py's figure
(passed as --clip-per-s), captions are not measured (no GGUF model here: --caption-s is an
assumption, printed as one). The projection divides each stage's measured CPU-seconds per
photo over N machines of --cores cores, and keeps the driver's serial work (scan+hash reads
every byte, catalog writes) on one machine: the bottleneck is whichever is larger.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import make_tree

from photolab import Library

CPU_STAGES = ["metadata", "dates", "thumbnails", "hashes", "motion", "places"]
LATER = ["faces", "people", "semantic", "tags", "captions"]


def ingest(tree: Path, root: Path, engine: str) -> tuple[float, dict[str, float]]:
    lib = Library(root)
    t = time.perf_counter()
    report = lib.ingest([tree], skip=LATER, show_progress=False, engine=engine)
    total = time.perf_counter() - t
    lib.close()
    return total, report.seconds


def batch_overhead(rows: int = 64, n: int = 200) -> tuple[float, float]:
    """Milliseconds per Ray task carrying a batch frame there and back: one at a time, and
    with every task in flight."""
    import ray

    @ray.remote(num_cpus=1)
    def echo(frame: pl.DataFrame) -> pl.DataFrame:
        return frame

    frame = pl.DataFrame({"photo_id": np.arange(rows), "path": [f"/photos/{i:08d}.jpg"
                                                                 for i in range(rows)],
                          "content_hash": ["0" * 32] * rows})
    ray.get(echo.remote(frame))
    t = time.perf_counter()
    for _ in range(n):
        ray.get(echo.remote(frame))
    serial = (time.perf_counter() - t) / n * 1000
    t = time.perf_counter()
    ray.get([echo.remote(frame) for _ in range(n)])
    pipelined = (time.perf_counter() - t) / n * 1000
    return serial, pipelined


def driver_writes(root: Path, n: int = 20_000) -> float:
    """Seconds per photo for the driver to store one stage's results (hashes-sized rows)."""
    lib = Library(root)
    now = "2026-01-01T00:00:00"
    with lib.catalog.transaction() as c:
        c.executemany("INSERT INTO photos (photo_id, path, path_raw, content_hash, first_seen, "
                      "last_seen) VALUES (?,?,?,?,?,?)",
                      [(i, f"/p/{i}.jpg", f"/p/{i}.jpg".encode(), f"{i:032x}", now, now)
                       for i in range(1, n + 1)])
    res = pl.DataFrame({"photo_id": np.arange(1, n + 1), "phash": np.arange(n),
                        "phash_mirror": np.arange(n), "pixel_hash": ["x"] * n,
                        "error": [None] * n}, schema_overrides={"error": pl.String})
    t = time.perf_counter()
    for batch in res.iter_slices(256):
        lib.catalog.write_stage("hashes", "2", batch,
                                {int(i): f"{i:032x}" for i in batch["photo_id"]})
    per = (time.perf_counter() - t) / n
    lib.close()
    return per


def faces_cost(tree: Path, root: Path, n: int) -> float:
    """CPU-seconds per photo for face detection + encoding on the 1080 px thumbnail."""
    src = root / "faces-src"
    src.mkdir(parents=True)
    for f in sorted(tree.glob("*.jpg"))[:n]:
        os.link(f, src / f.name)
    lib = Library(root / "faces-lib")
    lib.ingest([src], skip=["people", "semantic", "tags", "captions"], show_progress=False)
    secs = lib.jobs()["seconds"][0]
    lib.close()
    import json

    return json.loads(secs)["faces"] * (os.cpu_count() or 1) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--faces-n", type=int, default=40)
    ap.add_argument("--cores", type=int, default=16, help="cores per machine, projected")
    ap.add_argument("--clip-per-s", type=float, default=21.4,
                    help="images/s for CLIP ViT-B-32 on this machine (benchmarks/semantic.py)")
    ap.add_argument("--caption-s", type=float, default=3.0,
                    help="ASSUMED CPU-seconds per caption (no GGUF model could be measured)")
    ap.add_argument("--driver-gbit", type=float, default=10.0,
                    help="the driver's read rate from the photo store, Gbit/s (scan+hash "
                    "reads every byte; this run reads from the page cache)")
    args = ap.parse_args()
    tree = make_tree(args.n)
    cores = os.cpu_count() or 1
    tmp = Path(tempfile.mkdtemp(prefix="photolab-scale-"))
    try:
        t_local, s_local = ingest(tree, tmp / "local", "local")
        import ray

        t = time.perf_counter()
        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
        t_start = time.perf_counter() - t
        t_ray, s_ray = ingest(tree, tmp / "ray", "ray")
        serial, pipelined = batch_overhead()
        ray.shutdown()
        write = driver_writes(tmp / "writes")
        face = faces_cost(tree, tmp, args.faces_n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"# {args.n} 12 MP JPEGs, CPU stages, this machine ({cores} cores)")
    print(f"{'stage':<11} {'local s':>8} {'ray s':>8}")
    for stage in ["scan", *CPU_STAGES]:
        print(f"{stage:<11} {s_local.get(stage, 0):8.2f} {s_ray.get(stage, 0):8.2f}")
    print(f"{'total':<11} {t_local:8.2f} {t_ray:8.2f}")
    print(f"local engine: {args.n / t_local:.1f} photos/s (1.00x); Ray, {cores} workers: "
          f"{args.n / t_ray:.1f} photos/s ({t_local / t_ray:.2f}x); Ray start {t_start:.1f} s")
    print(f"Ray per batch of 64 rows: {serial:.2f} ms one at a time, {pipelined:.2f} ms "
          "pipelined")
    print(f"driver catalog write: {write * 1e6:.1f} us per photo per stage")

    # CPU-seconds per photo of each worker stage (local run, all cores busy)
    per = {st: s_local.get(st, 0) * cores / args.n for st in CPU_STAGES}
    per["faces"] = face
    per["semantic"] = cores / args.clip_per_s
    per["captions"] = args.caption_s
    # the driver reads and hashes every byte: here from the page cache; at scale from the
    # network, so the slower of the two
    mean_bytes = np.mean([f.stat().st_size for f in tree.glob("*.jpg")])
    scan_s = max(s_local.get("scan", 0) / args.n, mean_bytes * 8 / (args.driver_gbit * 1e9))
    n_stages = len(CPU_STAGES) + 3
    driver = scan_s + write * n_stages
    work = sum(per.values())
    print("\n# CPU-seconds per photo (measured here; captions assumed)")
    for st, v in per.items():
        print(f"{st:<11} {v:8.4f}{'  (assumed)' if st == 'captions' else ''}")
    print(f"{'workers':<11} {work:8.4f}\n{'driver':<11} {driver:8.4f} "
          f"(scan+hash {scan_s:.4f}: {mean_bytes / 1e6:.1f} MB per photo read at "
          f"{args.driver_gbit:g} Gbit/s; catalog writes {write * n_stages:.4f})")
    photos = 10_000_000
    print(f"\n# 10,000,000 photos, machines of {args.cores} cores")
    print(f"{'machines':>8} {'workers h':>10} {'driver h':>9} {'bottleneck':>11}")
    for m in (1, 2, 4, 8, 16, 32, 64, 128):
        w = photos * work / (m * args.cores) / 3600
        d = photos * driver / 3600
        print(f"{m:>8} {w:10.1f} {d:9.1f} {'driver' if d > w else 'workers':>11}")
    cross = photos * work / args.cores / (photos * driver)
    print(f"the driver becomes the bottleneck from about {cross:.0f} machines")


if __name__ == "__main__":
    main()
