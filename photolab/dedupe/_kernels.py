"""The compiled loops of `search` (numba is imported only when a search runs)."""

from __future__ import annotations

import os

import numpy as np
from numba import njit, prange

# numba caches compiled code beside this file when it may write there (not, say, for a
# read-only install run by another user); otherwise it compiles once per process
_HERE = os.path.dirname(os.path.abspath(__file__))
_PYCACHE = os.path.join(_HERE, "__pycache__")
_CACHE = os.access(_PYCACHE if os.path.isdir(_PYCACHE) else _HERE, os.W_OK) or (
    "NUMBA_CACHE_DIR" in os.environ)


def jit(**kw):  # type: ignore[no-untyped-def]
    return njit(cache=_CACHE, **kw)


@jit(inline="always")
def _popcount(x: np.uint64) -> np.int64:
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    m2 = np.uint64(0x3333333333333333)
    x = (x & m2) + ((x >> np.uint64(2)) & m2)
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@jit(inline="always")
def _chunk(x: np.uint64, shift: int, width: int) -> np.int64:
    return np.int64((x >> np.uint64(shift)) & np.uint64((1 << width) - 1))


@jit(parallel=True)
def _scan(k, starts, vals, ids, masks, radius, flips, counts, offsets, out_i, out_j, out_d,
          fill, shifts, widths):
    """Compare every bucket b of chunk k (`widths[k]` bits from bit `shifts[k]`) with the
    buckets b ^ mask (b <= b ^ mask), so each pair of buckets is visited once and memory is
    read in order."""
    nb = starts.shape[0] - 1
    for b in prange(nb):
        s0, e0 = starts[b], starts[b + 1]
        found = 0
        if s0 < e0:
            for m in masks:
                b2 = b ^ m
                if b2 < b:
                    continue
                s1, e1 = starts[b2], starts[b2 + 1]
                if s1 == e1:
                    continue
                for p in range(s0, e0):
                    xp = vals[p]
                    for q in range(p + 1 if b2 == b else s1, e1):
                        diff = xp ^ vals[q]
                        d = _popcount(diff)
                        if d > radius:
                            continue
                        first = True  # report a pair only from the first chunk that finds it
                        for k2 in range(k):
                            if _popcount(np.uint64(_chunk(diff, shifts[k2], widths[k2]))) \
                                    <= flips:
                                first = False
                                break
                        if not first:
                            continue
                        if fill:
                            at = offsets[b] + found
                            a_, c_ = ids[p], ids[q]
                            out_i[at] = min(a_, c_)
                            out_j[at] = max(a_, c_)
                            out_d[at] = d
                        found += 1
        counts[b] = found
