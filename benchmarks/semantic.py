"""CLIP embedding speed on the corpus, and FAISS query latency flat vs HNSW, in one run.

    .venv/bin/python benchmarks/semantic.py [--photos 64] [--sizes 10000,100000,1000000]

Embedding: ViT-B-32 with random weights saved to a local folder and loaded through
photolab's real path (no CLIP weights can be had here; weights do not change the speed).
photolab's stage (the small WebP thumbnail, batches of 32) is compared against the baseline
of the open_clip README: each original photo opened and encoded one at a time.

Search: random unit vectors (512-d, drawn around 1,000 centres so that neighbours exist, as
they do among photos), 200 queries near stored vectors, k=10. Flat is exact; HNSW is
photolab's index above 50k photos (M=32, efConstruction 80, efSearch 64). recall@10 is
HNSW's top 10 against flat's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"


def embed_speed(n_photos: int) -> list[tuple[str, float, str]]:
    import json

    import torch
    from PIL import Image
    from safetensors.torch import save_file

    from photolab import Library
    from photolab.semantic.clip import ClipModel, ClipParams, import_open_clip

    open_clip = import_open_clip()
    tmp = Path(tempfile.mkdtemp(prefix="photolab-bench-"))
    try:
        model = open_clip.create_model("ViT-B-32")
        folder = tmp / "vit-b-32-random"
        folder.mkdir()
        save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                  str(folder / "open_clip_model.safetensors"))
        cfg = open_clip.get_model_config("ViT-B-32")
        (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg}))
        files = sorted(p for p in CORPUS.glob("faces/**/*.jpg"))[:n_photos]
        src = tmp / "photos"
        src.mkdir()
        for f in files:
            shutil.copy(f, src / f"{f.parent.name}-{f.name}")
        lib = Library(tmp / "lib")
        lib.settings.clip_model = f"local-dir:{folder}"
        lib.settings.save(lib.root)
        lib.ingest([src], only=["scan", "metadata", "thumbnails"], show_progress=False)
        lib.clip_model()  # load once, outside the timing
        t = time.perf_counter()
        report = lib.ingest(only=["semantic"], show_progress=False)
        t_ours = time.perf_counter() - t
        done = report.counts["semantic_done"]

        clip = ClipModel(ClipParams(model=f"local-dir:{folder}"))
        t = time.perf_counter()
        for f in sorted(src.iterdir()):
            x = clip.preprocess(Image.open(f)).unsqueeze(0)
            with torch.inference_mode():
                clip.model.encode_image(x, normalize=True)
        t_base = time.perf_counter() - t
        lib.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [("baseline: open_clip, original file, one at a time", done / t_base, "1.00x"),
            ("photolab semantic stage: small thumbnail, batches of 32", done / t_ours,
             f"{t_base / t_ours:.2f}x")]


def clustered_vectors(n: int, dim: int, rng: np.random.Generator,
                      centres: np.ndarray) -> np.ndarray:
    pick = rng.integers(0, len(centres), n)
    x = centres[pick] + rng.normal(0, 0.6 / np.sqrt(dim), (n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def latency(index: object, queries: np.ndarray, kind: str, k: int = 10
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from photolab.semantic.index import knn

    times, ids = [], []
    for q in queries:
        t = time.perf_counter()
        _, i = knn(index, q[None, :], k, kind)
        times.append(time.perf_counter() - t)
        ids.append(i[0])
    ms = np.array(times) * 1000
    return np.percentile(ms, 50), np.percentile(ms, 99), np.array(ids)


def search_speed(sizes: list[int], dim: int = 512, n_queries: int = 200) -> list[str]:
    import faiss

    from photolab.semantic.index import new_index

    faiss.omp_set_num_threads(1)  # one query at a time, as a person searches
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (1000, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    lines = [f"{'vectors':>9} {'index':<5} {'build s':>8} {'p50 ms':>8} {'p99 ms':>8} "
             f"{'p50 vs flat':>11} {'recall@10':>9}"]
    for n in sizes:
        x = clustered_vectors(n, dim, rng, centres)
        queries = clustered_vectors(n_queries, dim, rng, centres)
        results = {}
        for kind in ("flat", "hnsw"):
            faiss.omp_set_num_threads(os.cpu_count() or 1)  # building uses every core
            index = new_index(dim, kind)
            t = time.perf_counter()
            index.add_with_ids(x, np.arange(n, dtype=np.int64))  # type: ignore[attr-defined]
            build = time.perf_counter() - t
            faiss.omp_set_num_threads(1)
            p50, p99, ids = latency(index, queries, kind)
            results[kind] = (build, p50, p99, ids)
            del index
        flat = results["flat"]
        for kind, (build, p50, p99, ids) in results.items():
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in
                              zip(ids, flat[3], strict=True)])
            lines.append(f"{n:>9} {kind:<5} {build:8.1f} {p50:8.2f} {p99:8.2f} "
                         f"{flat[1] / p50:10.2f}x {recall:9.3f}")
        del x
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=64)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    args = ap.parse_args()
    print(f"# CLIP ViT-B-32 embedding on this CPU ({args.photos} corpus face photos)")
    for name, rate, ratio in embed_speed(args.photos):
        print(f"{name:<58} {rate:6.2f} images/s  {ratio}")
    print("\n# FAISS inner-product search, k=10, one query at a time (one thread)")
    for line in search_speed([int(s) for s in args.sizes.split(",")]):
        print(line)


if __name__ == "__main__":
    main()
