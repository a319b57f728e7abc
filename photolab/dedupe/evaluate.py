"""Score duplicate grouping against ground truth: precision, recall and F1 over pairs."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations

import polars as pl

from .groups import group_duplicates

Pair = tuple[int, int]


def pairs_from_groups(groups: pl.DataFrame) -> set[Pair]:
    """Every unordered pair of photos that share a `group_id`."""
    out: set[Pair] = set()
    for _, g in groups.group_by("group_id"):
        ids = sorted(int(i) for i in g["photo_id"])
        out.update(combinations(ids, 2))
    return out


def score_pairs(predicted: Iterable[Pair], truth: Iterable[Pair]) -> dict[str, float]:
    """Pairwise precision, recall and F1 (pairs are unordered).

    Example
    -------
    >>> score_pairs({(1, 2), (2, 3)}, {(2, 1)})["precision"]
    0.5
    """
    p = {tuple(sorted(x)) for x in predicted}
    t = {tuple(sorted(x)) for x in truth}
    tp = len(p & t)
    precision = tp / len(p) if p else 1.0
    recall = tp / len(t) if t else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp,
            "fp": len(p - t), "fn": len(t - p)}


def sweep(photos: pl.DataFrame, truth: Iterable[Pair],
          thresholds: Iterable[int] = range(0, 17, 2)) -> pl.DataFrame:
    """Group at each threshold and score against `truth`: a frame to plot.

    `photos` is what `group_duplicates` takes (`Library.duplicate_candidates()` gives it).
    """
    truth = set(truth)
    rows = []
    for t in thresholds:
        s = score_pairs(pairs_from_groups(group_duplicates(photos, t)), truth)
        rows.append({"threshold": t, **s})
    return pl.DataFrame(rows)


def sweep_extra(photos: pl.DataFrame, truth: Iterable[Pair], pairs: pl.DataFrame,
                distances: Iterable[float], threshold: int = 8) -> pl.DataFrame:
    """Score pHash grouping at `threshold` joined with a second signal's `pairs`
    (`photo_id_a`, `photo_id_b`, `distance`: CLIP cosine distances, say) kept up to each of
    `distances`; the first row (distance null) is pHash alone. A frame to plot."""
    truth = set(truth)
    rows = []
    for d in [None, *distances]:
        extra = pairs.head(0) if d is None else pairs.filter(pl.col("distance") <= d)
        groups = group_duplicates(photos, threshold, extra_pairs=extra)
        rows.append({"distance": d, "pairs": extra.height,
                     **score_pairs(pairs_from_groups(groups), truth)})
    return pl.DataFrame(rows)
