"""All pairs of 64-bit hashes within a Hamming radius, by multi-index hashing.

The 64 bits are cut into m chunks. Two hashes within distance r differ in at most r // m
bits in at least one chunk (pigeonhole), so each hash only needs comparing with the hashes
whose chunk equals one of its own chunks with up to r // m bits flipped. The buckets are CSR
arrays; the loops are compiled with numba and run in parallel over buckets, each bucket
compared with the buckets its flip masks lead to.

How many chunks is chosen for the number of hashes and the radius (`chunk_widths`): more
chunks mean fewer masks but fuller buckets. Four chunks of 16 bits, the classic choice, put
about 30 of a million photos' two million hashes (straight and mirrored) in each bucket, and
at radius 8 each hash met 137 buckets of them: 16 billion comparisons. Three chunks of 21-22
bits leave a bucket about one hash and cost 232-254 bucket visits a hash instead
(benchmarks/dedupe.py measures both).

Measured before choosing multi-index hashing (1M random hashes, 2 cores): faiss
`IndexBinaryMultiHash` range search took 95 s at radius 4; all-pairs `IndexBinaryFlat` is
10^12 comparisons.
"""

from __future__ import annotations

from math import comb

import numpy as np

#: the widest chunk: its buckets are an array of 2^bits + 1 offsets (32 MB at 22 bits)
MAX_CHUNK_BITS = 22
#: a bucket visited costs about this many hash comparisons (a random read against a
#: sequential one); what `chunk_widths` weighs them by
VISIT_COST = 8


def _masks(width: int, flips: int) -> np.ndarray:
    values = np.arange(1 << width, dtype=np.int64)
    return values[np.bitwise_count(values) <= flips]


def chunk_widths(n: int, radius: int) -> list[int]:
    """The chunks' widths in bits (summing to 64) that make the least work for `n` hashes
    at `radius`, by the count of buckets visited and of comparisons expected for hashes
    spread evenly."""
    def cost(m: int) -> float:
        widths = _widths(m)
        flips = radius // m
        return sum(n * sum(comb(w, f) for f in range(flips + 1))
                   * (VISIT_COST + n / 2 ** w) + 2 ** w for w in widths)

    return _widths(min((m for m in range(3, 9) if max(_widths(m)) <= MAX_CHUNK_BITS),
                       key=cost))


def _widths(m: int) -> list[int]:
    return [64 // m + (1 if i < 64 % m else 0) for i in range(m)]


def hamming_pairs(hashes: np.ndarray, radius: int, chunks: int | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair (i < j) of `hashes` (uint64) within Hamming distance `radius`. `chunks`:
    how many chunks to cut the hashes into (default: `chunk_widths`' choice).

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
    widths = _widths(chunks) if chunks else chunk_widths(n, radius)
    m = len(widths)
    flips = radius // m
    shifts = np.cumsum([0, *widths[:-1]]).astype(np.int64)
    width = np.array(widths, dtype=np.int64)
    from ._kernels import _scan as scan

    parts = []
    for k in range(m):
        size = 1 << widths[k]
        keys = ((x >> np.uint64(shifts[k])) & np.uint64(size - 1)).astype(np.int64)
        order = np.argsort(keys, kind="stable")
        ids, vals = order, x[order]
        starts = np.zeros(size + 1, dtype=np.int64)
        starts[1:] = np.cumsum(np.bincount(keys, minlength=size))
        masks = _masks(widths[k], flips)
        counts = np.zeros(size, dtype=np.int64)
        offsets = np.zeros(size, dtype=np.int64)
        empty = np.zeros(0, dtype=np.int64)
        scan(k, starts, vals, ids, masks, radius, flips, counts, offsets,
             empty, empty, empty, False, shifts, width)
        offsets[1:] = np.cumsum(counts)[:-1]
        total = int(counts.sum())
        out = [np.empty(total, dtype=np.int64) for _ in range(3)]
        scan(k, starts, vals, ids, masks, radius, flips, counts, offsets, *out, True,
             shifts, width)
        parts.append(out)
    out_i, out_j, out_d = (np.concatenate([p[c] for p in parts]) for c in range(3))
    order = np.lexsort((out_j, out_i))
    return out_i[order], out_j[order], out_d[order]
