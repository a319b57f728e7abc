"""All pairs of 64-bit hashes within a Hamming radius, by multi-index hashing.

The 64 bits are cut into four 16-bit chunks. Two hashes within distance r differ in at most
r // 4 bits in at least one chunk (pigeonhole), so each hash only needs comparing with the
hashes whose chunk equals one of its own chunks with up to r // 4 bits flipped. The buckets
are CSR arrays; the loops are compiled with numba and run in parallel over buckets, each
bucket compared with the buckets its flip masks lead to.

Measured before choosing this (1M random hashes, 2 cores): faiss `IndexBinaryMultiHash`
range search took 95 s at radius 4; all-pairs `IndexBinaryFlat` is 10^12 comparisons.
"""

from __future__ import annotations

import numpy as np

CHUNKS = 4
CHUNK_BITS = 16


def _masks(flips: int) -> np.ndarray:
    values = np.arange(1 << CHUNK_BITS, dtype=np.int64)
    return values[np.bitwise_count(values) <= flips]


def hamming_pairs(hashes: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (i < j) of `hashes` (uint64) within Hamming distance `radius`.

    Returns
    -------
    (i, j, distance) as int64 arrays, sorted by i then j.

    Example
    -------
    >>> h = np.array([0b0000, 0b0111, 0xFFFF], dtype=np.uint64)
    >>> [a.tolist() for a in hamming_pairs(h, 3)]
    [[0], [1], [3]]
    """
    if radius < 0 or radius > 64:
        raise ValueError("radius must be between 0 and 64")
    x = np.ascontiguousarray(hashes, dtype=np.uint64)
    n = x.shape[0]
    flips = radius // CHUNKS
    size = 1 << CHUNK_BITS
    starts = np.zeros((CHUNKS, size + 1), dtype=np.int64)
    vals = np.empty((CHUNKS, n), dtype=np.uint64)
    ids = np.empty((CHUNKS, n), dtype=np.int64)
    for k in range(CHUNKS):
        keys = ((x >> np.uint64(CHUNK_BITS * k)) & np.uint64(0xFFFF)).astype(np.int64)
        order = np.argsort(keys, kind="stable")
        ids[k], vals[k] = order, x[order]
        starts[k, 1:] = np.cumsum(np.bincount(keys, minlength=size))
    masks = _masks(flips)
    from ._kernels import _scan as scan

    parts = []
    for k in range(CHUNKS):
        counts = np.zeros(size, dtype=np.int64)
        offsets = np.zeros(size, dtype=np.int64)
        empty = np.zeros(0, dtype=np.int64)
        scan(k, starts[k], vals[k], ids[k], masks, radius, flips, counts, offsets,
             empty, empty, empty, False, CHUNK_BITS)
        offsets[1:] = np.cumsum(counts)[:-1]
        total = int(counts.sum())
        out = [np.empty(total, dtype=np.int64) for _ in range(3)]
        scan(k, starts[k], vals[k], ids[k], masks, radius, flips, counts, offsets, *out, True,
             CHUNK_BITS)
        parts.append(out)
    out_i, out_j, out_d = (np.concatenate([p[c] for p in parts]) for c in range(3))
    order = np.lexsort((out_j, out_i))
    return out_i[order], out_j[order], out_d[order]
