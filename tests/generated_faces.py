"""Face encodings generated on dlib's scale, for benchmarks and the tuner's timing test."""

from __future__ import annotations

import numpy as np


def generated(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` 128-d encodings and their identities (strangers: an identity of one face)."""
    rng = np.random.default_rng(seed)
    known = int(n * 0.8)
    sizes = np.minimum(rng.zipf(1.6, size=known), 400)
    sizes = sizes[np.cumsum(sizes) <= known]
    sizes = np.append(sizes, known - sizes.sum())
    people = len(sizes)
    centres = rng.normal(0, 0.055, (people + n - known, 128))
    who = np.concatenate([np.repeat(np.arange(people), sizes),
                          people + np.arange(n - known)])
    x = centres[who] + rng.normal(0, 0.028, (n, 128))
    order = rng.permutation(n)
    return x[order].astype(np.float32), who[order]
