"""Faces: detection speed, clustering time and clustering quality, side by side in one run.

    .venv/bin/python benchmarks/faces.py [--sizes 10000 100000] [--budget 600]

1. Detection + encoding, faces per second on ../shared/corpus/faces and faces_group:
   photolab's worker processes on the stored thumbnails at the default settings (1080 px,
   upsample 1) and at faster ones (500 px), against the naive way face_recognition's examples
   work (decode the full-size original, detect and encode in one process).
2. Clustering time for generated encodings around real corpus encodings (identities drawn
   around corpus faces with the spread measured between people, faces around them with the
   spread measured within a person), for the `hdbscan` package, scikit-learn's HDBSCAN and
   photolab's "knn" backend (scikit-learn's HDBSCAN on the sparse 16-nearest-neighbour graph).
   A run over --budget seconds is stopped and reported as such.
3. BCubed F1 on the labelled corpus faces and on the generated sets, for photolab's
   defaults, LibrePhotos' settings (min_cluster_size 2, min_samples 1, epsilon 0.05) and an
   Immich-style incremental DBSCAN (max distance 0.5 on dlib encodings, min faces 3).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from photolab import Library
from photolab.faces.cluster import FaceClusterer
from photolab.faces.detect import FaceDetector, FaceParams, _detect_one, _init, face_tasks
from photolab.faces.evaluate import score

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def detection(lib: Library) -> list[dict]:
    rows = []
    todo = lib.catalog.stale("faces", "bench", with_tags=True)
    for label, params, workers in [
            ("photolab default (1080 px thumbnail, upsample 1)", FaceParams(), None),
            ("photolab fast (500 px thumbnail, upsample 1)", FaceParams(image_size=500), None),
            ("photolab fastest (500 px, upsample 0)",
             FaceParams(image_size=500, upsample=0), None)]:
        det = FaceDetector(params, workers)
        tasks = face_tasks(todo, lib.thumbs_dir, lib.settings.thumb_sizes, params)
        det.detect(tasks[:2])  # start the workers and load the models outside the timing
        t = time.perf_counter()
        out = det.detect(tasks)
        secs = time.perf_counter() - t
        det.close()
        n = int(out["faces"].list.len().sum())
        rows.append({"method": label, "photos": len(tasks), "faces": n, "seconds": secs})
    # the naive way: full-size original, one process, as face_recognition's examples do
    params = FaceParams(image_size=100_000)
    _init(str(FaceDetector(params).folder), "hog")
    tasks = face_tasks(todo, lib.thumbs_dir, lib.settings.thumb_sizes, params)
    t = time.perf_counter()
    n = sum(len(_detect_one({**task, "params": params.__dict__})["faces"]) for task in tasks)
    rows.append({"method": "naive: full-size original, one process", "photos": len(tasks),
                 "faces": n, "seconds": time.perf_counter() - t})
    f = pl.DataFrame(rows).with_columns(faces_per_s=pl.col("faces") / pl.col("seconds"))
    naive = f["faces_per_s"][-1]
    return f.with_columns(x_naive=pl.col("faces_per_s") / naive).to_dicts()


def generate(real: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n encodings of n // 20 identities around real ones. Distances follow the corpus:
    between people 0.5-1.0 (look-alikes included), within a person about 0.38 with a long
    tail (profiles, blur, age), so that identities overlap as real ones do."""
    rng = np.random.default_rng(seed)
    k = max(1, n // 20)
    d = real.shape[1]
    between = rng.uniform(0.5, 1.0, (k, 1))
    centres = real[rng.integers(0, len(real), k)] + rng.normal(0, 1, (k, d)) * between / np.sqrt(
        2 * d)
    ids = rng.integers(0, k, n)
    within = np.exp(rng.normal(np.log(0.38), 0.3, (n, 1)))
    x = centres[ids] + rng.normal(0, 1, (n, d)) * within / np.sqrt(2 * d)
    return x.astype(np.float32), ids


def immich_dbscan(x: np.ndarray, max_distance: float = 0.5, min_faces: int = 3) -> np.ndarray:
    """Immich's incremental rule: a face with at least `min_faces` neighbours within
    `max_distance` joins its nearest neighbour's person, or starts a new one; others wait."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(radius=max_distance).fit(x)
    _, idx = nn.radius_neighbors(x, sort_results=True)
    person = np.full(len(x), -1)
    next_id = 0
    for i in range(len(x)):
        if len(idx[i]) < min_faces:
            continue
        known = [j for j in idx[i] if j != i and person[j] >= 0]
        if known:
            person[i] = person[known[0]]
        else:
            person[i] = next_id
            next_id += 1
    return person


def _fit(args: tuple[FaceClusterer, np.ndarray]) -> tuple[list[int], float]:
    c, x = args
    t = time.perf_counter()
    labels, _ = c.fit(x)
    return labels.tolist(), time.perf_counter() - t


def timed_fit(c: FaceClusterer, x: np.ndarray, budget: float) -> tuple[list[int] | None, float]:
    """Cluster in a child process, stopped after `budget` seconds."""
    ctx = multiprocessing.get_context("forkserver")
    with ctx.Pool(1) as pool:
        job = pool.apply_async(_fit, ((c, x),))
        try:
            return job.get(timeout=budget)
        except multiprocessing.TimeoutError:
            pool.terminate()
            return None, budget


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--budget", type=float, default=600.0, help="seconds per clustering run")
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp, Library(tmp) as lib:
        lib.ingest([CORPUS / "faces", CORPUS / "faces_group"], skip=["faces", "people"],
                   show_progress=False)
        print("\n== detection + encoding ==")
        with pl.Config(tbl_width_chars=160, fmt_str_lengths=60, float_precision=2):
            print(pl.DataFrame(detection(lib)))
        lib.ingest(show_progress=False)
        rel = pl.col("path").str.replace(f"^{CORPUS}/", "")
        faces = lib.faces().join(lib.photos().select("photo_id", rel=rel), on="photo_id")
    area = (pl.col("bottom") - pl.col("top")) * (pl.col("right") - pl.col("left"))
    one = (faces.filter(pl.col("rel").str.starts_with("faces/"))
           .sort(area, descending=True).unique("photo_id", keep="first").sort("photo_id")
           .with_columns(truth=pl.col("rel").str.extract(r"^faces/(?:df|fr)_([^/]+)/")))
    real = one["encoding"].to_numpy()

    methods = {
        "photolab defaults (radius 0.5)": FaceClusterer(),
        "photolab radius, 16-NN graph": FaceClusterer(exact_max=0),
        "HDBSCAN, no radius (before)": FaceClusterer(backend="exact", radius=None),
        "HDBSCAN on the 16-NN graph": FaceClusterer(backend="knn", radius=None),
        "LibrePhotos (2, 1, eps 0.05)": FaceClusterer(backend="exact", min_cluster_size=2,
                                                      min_samples=1, radius=None,
                                                      cluster_selection_epsilon=0.05),
    }
    print("\n== clustering quality (BCubed F1; pairwise precision / recall) ==")
    sets = {"corpus, 58 labelled faces of 15 people": (real, one["truth"].to_list())}
    for n in args.sizes[:1]:
        x, ids = generate(real, n)
        sets[f"generated, {n} faces of {n // 20} people"] = (x, ids.tolist())
    rows = []
    for name, (x, truth) in sets.items():
        for label, c in methods.items():
            labels, secs = timed_fit(c, x, args.budget)
            s = score(truth, labels) if labels is not None else {}
            rows.append({"data": name, "method": label, "seconds": secs, **s})
        t = time.perf_counter()
        s = score(truth, immich_dbscan(x).tolist())
        rows.append({"data": name, "method": "Immich-style DBSCAN (0.5, 3)",
                     "seconds": time.perf_counter() - t, **s})
    with pl.Config(tbl_width_chars=200, fmt_str_lengths=45, float_precision=3, tbl_rows=50):
        print(pl.DataFrame(rows).select("data", "method", "bcubed_f1", "bcubed_precision",
                                        "bcubed_recall", "pairwise_precision",
                                        "pairwise_recall", "n_clusters", "noise", "seconds"))

    print("\n== clustering time (generated encodings) ==")
    rows = []
    for n in args.sizes:
        x, _ = generate(real, n, seed=1)
        for backend in ("hdbscan", "sklearn", "knn", "radius"):  # at epsilon 0: all run
            c = FaceClusterer(backend=backend, cluster_selection_epsilon=0.0,
                              radius=0.5 if backend == "radius" else None)
            labels, secs = timed_fit(c, x, args.budget)
            rows.append({"faces": n, "backend": backend, "seconds": secs,
                         "finished": labels is not None})
    f = pl.DataFrame(rows)
    base = f.filter(pl.col("backend") == "hdbscan").select("faces", base="seconds",
                                                           base_done="finished")
    with pl.Config(float_precision=2):
        # against an unfinished baseline the ratio is a lower bound
        print(f.join(base, on="faces").with_columns(
            x_vs_hdbscan=pl.when(pl.col("finished")).then(
                pl.format("{}{}", pl.when(pl.col("base_done")).then(pl.lit("")).otherwise(
                    pl.lit(">")), (pl.col("base") / pl.col("seconds")).round(2))))
              .drop("base", "base_done"))


if __name__ == "__main__":
    main()
