"""Score a face clustering against known identities, and sweep clustering parameters.

BCubed precision/recall (Bagga & Baldwin 1998; Amigo et al. 2009) and pairwise
precision/recall, both from one contingency table. Noise (label -1 or null) counts as a
cluster of one per face, so calling everything noise scores recall ~0, not 1.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from .cluster import FaceClusterer


def _contingency(truth: Sequence[Any], predicted: Sequence[Any]) -> np.ndarray:
    pred = np.asarray([-1 if p is None else p for p in predicted])
    noise = pred < 0
    pred = pred.astype(np.int64)
    pred[noise] = pred.max(initial=0) + 1 + np.arange(noise.sum())  # singletons
    _, t = np.unique(np.asarray(truth, dtype=str), return_inverse=True)
    _, p = np.unique(pred, return_inverse=True)
    table = np.zeros((p.max(initial=-1) + 1, t.max(initial=-1) + 1), dtype=np.int64)
    np.add.at(table, (p, t), 1)
    return table


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def score(truth: Sequence[Any], predicted: Sequence[Any]) -> dict[str, float]:
    """BCubed and pairwise precision, recall and F1 of `predicted` cluster labels.

    >>> s = score(["a", "a", "b", "b"], [0, 0, 0, 1])
    >>> round(s["bcubed_precision"], 3), round(s["bcubed_recall"], 3)
    (0.667, 0.75)
    >>> score(["a", "a"], [-1, -1])["pairwise_recall"]
    0.0
    """
    n = len(truth)
    if n == 0:
        raise ValueError("nothing to score")
    table = _contingency(truth, predicted)
    sq = table.astype(np.float64) ** 2
    bp = float((sq / table.sum(1, keepdims=True)).sum() / n)
    br = float((sq / table.sum(0, keepdims=True)).sum() / n)
    pairs = lambda x: float((x * (x - 1) / 2).sum())  # noqa: E731
    tp, pred_pairs, true_pairs = pairs(table), pairs(table.sum(1)), pairs(table.sum(0))
    pp = tp / pred_pairs if pred_pairs else 1.0
    pr = tp / true_pairs if true_pairs else 1.0
    return {"bcubed_precision": bp, "bcubed_recall": br, "bcubed_f1": _f1(bp, br),
            "pairwise_precision": pp, "pairwise_recall": pr, "pairwise_f1": _f1(pp, pr),
            "n_clusters": int((table.sum(1) > 1).sum()),
            "noise": float(np.mean([p is None or p < 0 for p in predicted]))}


def sweep(encodings: np.ndarray, truth: Sequence[Any],
          grid: Mapping[str, Iterable[Any]] | None = None,
          base: FaceClusterer | None = None) -> pl.DataFrame:
    """Cluster with every combination of `grid` and score each; best BCubed F1 first.

    >>> rng = np.random.default_rng(0)
    >>> x = np.vstack([rng.normal(0, .02, (5, 128)), rng.normal(1, .02, (5, 128))])
    >>> sweep(x, ["a"] * 5 + ["b"] * 5, {"min_cluster_size": [2, 3]})["bcubed_f1"].max()
    1.0
    """
    base = base or FaceClusterer()
    grid = dict(grid or {"min_cluster_size": [2, 3], "min_samples": [1, 2],
                         "cluster_selection_epsilon": [0.0, 0.3, 0.4, 0.45, 0.5]})
    rows = []
    for values in itertools.product(*grid.values()):
        params = {**base.params(), **dict(zip(grid, values, strict=True))}
        t = time.perf_counter()
        labels, _ = FaceClusterer(**params).fit(encodings)
        rows.append({**params, **score(truth, labels.tolist()),
                     "seconds": time.perf_counter() - t})
    return pl.DataFrame(rows).sort("bcubed_f1", descending=True, maintain_order=True)
