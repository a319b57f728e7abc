"""All-pairs near-duplicate search on 64-bit hashes: photolab against a BK-tree, one run.

    .venv/bin/python benchmarks/dedupe.py [--sizes 10000 100000 1000000]

For each size, random hashes and clustered ones (groups of 10 copies of a hash with 0-6 bits
flipped, like re-encodes of one photo), at radius 4 and 10:

- photolab: `photolab.dedupe.search.hamming_pairs` (multi-index hashing, numba, all cores),
  with the chunks it chooses for the size and radius, and with four chunks of 16 bits (what
  it always used before, the classic layout: "4 chunks s", and "4/chosen");
- pybktree: the LibrePhotos approach, a BK-tree queried once per hash. Where the full run
  would take more than --bk-budget seconds, the build is timed in full and the queries
  extrapolated from 200 timed queries (printed as "~").

Both must find the same pairs where both run in full. imagededup is not timed: its package
requires torch and torchvision (a CUDA build of several GB here, and PyPI's torchvision does
not import beside the CPU torch on this machine), and its search module alone pulls in the
scikit-learn/joblib stack; installed without dependencies it does not import.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl
import pybktree

from photolab.dedupe.groups import group_duplicates
from photolab.dedupe.hashing import to_signed
from photolab.dedupe.search import chunk_widths, hamming_pairs


def make(n: int, clustered: bool, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if not clustered:
        return rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64, endpoint=True)
    base = rng.integers(0, 2**64 - 1, size=n // 10, dtype=np.uint64, endpoint=True)
    x = np.repeat(base, 10)
    for _ in range(6):  # up to 6 random bit flips per copy
        flip = rng.random(n) < 0.5
        bits = rng.integers(0, 64, size=n).astype(np.uint64)
        x = np.where(flip, x ^ (np.uint64(1) << bits), x)
    return x


def _distance(a: tuple[int, int], b: tuple[int, int]) -> int:
    return pybktree.hamming_distance(a[0], b[0])


def build_tree(x: np.ndarray) -> tuple[pybktree.BKTree, list[int], float]:
    values = [int(v) for v in x]
    t = time.perf_counter()
    tree = pybktree.BKTree(_distance, [(v, i) for i, v in enumerate(values)])
    return tree, values, time.perf_counter() - t


def query_tree(tree: pybktree.BKTree, values: list[int], radius: int,
               limit: int | None = None) -> tuple[set, float, int]:
    t = time.perf_counter()
    pairs = set()
    queries = range(len(values)) if limit is None else range(limit)
    for i in queries:
        for _, (_, j) in tree.find((values[i], i), radius):
            if j > i:
                pairs.add((i, j))
    return pairs, time.perf_counter() - t, len(queries)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--bk-budget", type=float, default=60.0)
    ap.add_argument("--hashes-per-photo", type=int, default=1,
                    help="2: a photo's pHash and its mirror's, as Library.duplicates searches")
    args = ap.parse_args()
    hamming_pairs(make(1000, False), 4)  # compile (or load the cached) kernels first
    print(f"{'n':>9} {'hashes':>9} {'r':>3} {'chunks':>6} {'pairs':>9} {'photolab s':>11} "
          f"{'4 chunks s':>11} {'4/chosen':>9} {'pybktree s':>11} {'ratio':>8}")
    for n in args.sizes:
        for clustered in (False, True):
            x = make(n * args.hashes_per_photo, clustered)
            tree, values, build_s = build_tree(x)  # shared by both radii, counted in each
            for r in (4, 8, 10):
                t = time.perf_counter()
                i, j, _ = hamming_pairs(x, r)
                ours = time.perf_counter() - t
                t = time.perf_counter()
                i4, j4, _ = hamming_pairs(x, r, chunks=4)
                four = time.perf_counter() - t
                assert np.array_equal(i, i4) and np.array_equal(j, j4)
                # time 200 queries; run them all only when that fits the budget
                _, sample_s, q = query_tree(tree, values, r, limit=min(200, n))
                estimate = build_s + sample_s / q * n
                if estimate <= args.bk_budget:
                    found, query_s, _ = query_tree(tree, values, r)
                    assert found == set(zip(i.tolist(), j.tolist(), strict=True))
                    bk = build_s + query_s
                    bk_text = f"{bk:11.2f}"
                else:
                    bk = estimate
                    bk_text = f"{'~' + format(bk, '.0f'):>11}"
                print(f"{n:>9} {'cluster' if clustered else 'random':>9} {r:>3} "
                      f"{len(chunk_widths(len(x), r)):>6} {len(i):>9} {ours:11.2f} {four:11.2f} "
                      f"{four / ours:8.1f}x {bk_text} {bk / ours:7.0f}x", flush=True)
    full_grouping(max(args.sizes), 10)


def full_grouping(n: int, radius: int) -> None:
    """Pairs, components and keepers: what `Library.duplicates` does after reading hashes."""
    x = make(n, clustered=True)
    rng = np.random.default_rng(1)
    photos = pl.DataFrame({
        "photo_id": np.arange(n), "phash": [to_signed(int(v)) for v in x],
        "content_hash": [f"{i:032x}" for i in range(n)], "pixel_hash": [None] * n,
        "size_bytes": rng.integers(10**5, 10**7, n), "width": rng.integers(500, 4000, n),
        "height": rng.integers(500, 3000, n), "mime": ["image/jpeg"] * n,
        "path": [f"/photos/{i}.jpg" for i in range(n)], "n_tags": rng.integers(10, 300, n)},
        schema_overrides={"pixel_hash": pl.String})
    t = time.perf_counter()
    groups = group_duplicates(photos, radius)
    print(f"full grouping of {n} clustered hashes at radius {radius}: "
          f"{time.perf_counter() - t:.1f} s, {groups['group_id'].n_unique()} groups")


if __name__ == "__main__":
    main()
