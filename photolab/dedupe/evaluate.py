"""Score duplicate grouping against ground truth (precision, recall and F1 over pairs), and
compare the field's duplicate rules on a library's own labels."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ..errors import PhotolabError
from .groups import group_duplicates

if TYPE_CHECKING:
    from ..library import Library

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


COMPARE_SCHEMA = {"method": pl.String, "params": pl.String, "precision": pl.Float64,
                  "recall": pl.Float64, "f1": pl.Float64, "tp": pl.Int64, "fp": pl.Int64,
                  "fn": pl.Int64, "seconds": pl.Float64}


def read_truth(lib: Library, truth: pl.DataFrame | str | os.PathLike[str]) -> pl.DataFrame:
    """Duplicate labels as `photo_id`, `group` from a frame or CSV with `path,group` (the
    photos of a group are copies of each other; a relative path is matched against the end
    of the library's paths). Says on stderr how many rows matched a photo; raises
    `PhotolabError` when none did."""
    from ..faces.evaluate import resolve_paths

    t = pl.read_csv(truth) if isinstance(truth, str | os.PathLike) else truth
    t = t.rename({"rel": "path"} if "rel" in t.columns else {})
    if not {"path", "group"} <= set(t.columns):
        raise PhotolabError(f"a duplicates truth file needs `path,group` (it has {t.columns})")
    photos = lib.photos().select("photo_id", "path")
    found = resolve_paths(t.with_columns(pl.col("group").cast(pl.String)), photos["path"]
                          ).join(photos, on="path")
    message = f"truth: {found.height} of {t.height} rows matched a photo of this library"
    print(message, file=sys.stderr)
    if found.height == 0:
        raise PhotolabError(message)
    return found.select("photo_id", "group").unique("photo_id").sort("photo_id")


def _dhash_pairs(lib: Library, ids: list[int], radius: int) -> set[Pair]:
    """Pairs whose 64-bit dHash (of the small thumbnail) differ in at most `radius` bits."""
    import imagehash
    from PIL import Image

    bits = {}
    for pid in ids:
        try:
            with Image.open(lib.thumbnail(pid, "small")) as im:
                bits[pid] = imagehash.dhash(im).hash.ravel()
        except (PhotolabError, OSError):
            continue
    keys = sorted(bits)
    if len(keys) < 2:
        return set()
    m = np.stack([bits[k] for k in keys]).astype(np.int8)
    d = (m[:, None, :] != m[None, :, :]).sum(2)
    a, b = np.nonzero(np.triu(d <= radius, 1))
    return {(keys[i], keys[j]) for i, j in zip(a, b, strict=True)}


def compare(lib: Library, truth: pl.DataFrame | str | os.PathLike[str],
            radii: Iterable[int] = (4, 8, 12), dhash_radius: int = 10,
            clip_distance: float = 0.01) -> pl.DataFrame:
    """The field's duplicate rules on the library's labelled photos, scored over pairs.

    Methods: `exact` (the same bytes: content hash), `phash` at each radius of `radii`
    (photolab's grouping: pHash and its mirror image within the radius, linked), `dhash`
    (a 64-bit difference hash of the small thumbnail within `dhash_radius` bits: imagededup's
    default `max_distance_threshold` 10) and `clip` (Immich's duplicate detection: CLIP
    vectors within cosine distance `clip_distance`, its default `maxDistance` 0.01) where the
    library has CLIP vectors. Pairs are counted among the labelled photos only.

    Returns one row per method: `method`, `params` (JSON), `precision`, `recall`, `f1`,
    `tp`, `fp`, `fn`, `seconds`.
    """
    t = read_truth(lib, truth)
    ids = t["photo_id"].to_list()
    wanted = set(ids)
    truth_pairs = pairs_from_groups(t.rename({"group": "group_id"}))
    cand = lib.duplicate_candidates().filter(pl.col("photo_id").is_in(ids))
    runs: list[tuple[str, dict[str, Any], Callable[[], set[Pair]]]] = [
        ("exact", {}, lambda: pairs_from_groups(
            cand.select("photo_id", group_id=pl.col("content_hash").rank("dense")))),
        *[("phash", {"radius": r}, lambda r=r: pairs_from_groups(group_duplicates(cand, r)))
          for r in radii],
        ("dhash", {"radius": dhash_radius}, lambda: _dhash_pairs(lib, ids, dhash_radius))]
    if lib.embeddings().height:
        runs.append(("clip", {"distance": clip_distance}, lambda: {
            (a, b) for a, b in lib.embedding_pairs(clip_distance, k=20).select(
                "photo_id_a", "photo_id_b").iter_rows() if a in wanted and b in wanted}))
    rows = []
    for name, params, run in runs:
        t0 = time.perf_counter()
        predicted = run()
        seconds = time.perf_counter() - t0
        rows.append({"method": name, "params": json.dumps(params),
                     **score_pairs(predicted, truth_pairs), "seconds": seconds})
    return pl.DataFrame(rows, schema=COMPARE_SCHEMA)
