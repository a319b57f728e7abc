"""Score a face clustering against known identities, sweep clustering parameters, and
compare the field's clustering rules (`photolab.faces.methods`) on a library's own labels.

BCubed precision/recall (Bagga & Baldwin 1998; Amigo et al. 2009) and pairwise
precision/recall, both from one contingency table. Noise (label -1 or null) counts as a
cluster of one per face, so calling everything noise scores recall ~0, not 1.
"""

from __future__ import annotations

import inspect
import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ..errors import PhotolabError
from .cluster import ATTACH_RADIUS, FaceClusterer

if TYPE_CHECKING:
    from ..library import Library


def _cells(truth: Sequence[Any], predicted: Sequence[Any]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The contingency table, sparse: each non-empty cell's predicted cluster, true class and
    count, and every cluster's and class's size (noise: a cluster of one per face). A dense
    table of 10,000 singletons by 2,000 people would be 160 MB."""
    pred = np.asarray([-1 if p is None else p for p in predicted])
    noise = pred < 0
    pred = pred.astype(np.int64)
    pred[noise] = pred.max(initial=0) + 1 + np.arange(noise.sum())  # singletons
    _, t = np.unique(np.asarray(truth, dtype=str), return_inverse=True)
    _, p = np.unique(pred, return_inverse=True)
    width = int(t.max(initial=-1)) + 1
    cells, count = np.unique(p.astype(np.int64) * width + t, return_counts=True)
    return cells // width, cells % width, count, np.bincount(p), np.bincount(t)


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
    cp, ct, count, size_p, size_t = _cells(truth, predicted)
    sq = count.astype(np.float64) ** 2
    bp = float((sq / size_p[cp]).sum() / n)
    br = float((sq / size_t[ct]).sum() / n)
    pairs = lambda x: float((x * (x - 1) / 2).sum())  # noqa: E731
    tp, pred_pairs, true_pairs = pairs(count), pairs(size_p), pairs(size_t)
    pp = tp / pred_pairs if pred_pairs else 1.0
    pr = tp / true_pairs if true_pairs else 1.0
    return {"bcubed_precision": bp, "bcubed_recall": br, "bcubed_f1": _f1(bp, br),
            "pairwise_precision": pp, "pairwise_recall": pr, "pairwise_f1": _f1(pp, pr),
            "n_clusters": int((size_p > 1).sum()),
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


# -- comparing the field's rules on a library's own labels -----------------------------------

Method = str | Callable[..., Any]
COMPARE_SCHEMA = {"method": pl.String, "params": pl.String, "bcubed_precision": pl.Float64,
                  "bcubed_recall": pl.Float64, "bcubed_f1": pl.Float64,
                  "foreign_faces": pl.Int64, "unknown_faces": pl.Int64,
                  "n_clusters": pl.Int64, "seconds": pl.Float64}


def read_truth(lib: Library, truth: pl.DataFrame | str | os.PathLike[str],
               faces: pl.DataFrame | None = None) -> pl.DataFrame:
    """Labels as `face_id`, `person`, from a frame or CSV with `face_id,person`, or
    `path,person` (the one face of that photo), or `path,left,top,right,bottom,person` (the
    face whose box overlaps it most, IoU at least 0.5). `label` is read as `person` and `rel`
    as `path`; a relative path is matched against the end of the library's paths.

    Says on stderr how many rows matched a face, and raises `PhotolabError` when none did.
    """
    t = pl.read_csv(truth) if isinstance(truth, str | os.PathLike) else truth
    t = t.rename({k: v for k, v in (("label", "person"), ("rel", "path")) if k in t.columns})
    if "person" not in t.columns or not {"face_id", "path"} & set(t.columns):
        raise PhotolabError("a truth file needs `person` and `face_id` or `path` columns "
                            f"(it has {t.columns})")
    t = t.with_columns(pl.col("person").cast(pl.String)).with_row_index("row")
    faces = faces if faces is not None else lib.faces(encodings=False)
    if "face_id" in t.columns:
        found = t.join(faces.select("face_id"), on="face_id")
        in_library = found.height
    else:
        photos = lib.photos().select("photo_id", "path")
        t = resolve_paths(t, photos["path"])
        t = t.join(photos, on="path", how="left")
        in_library = t["photo_id"].drop_nulls().len()
        found = _match_faces(t.drop_nulls("photo_id"), faces)
    message = (f"truth: {found.height} of {t.height} rows matched a face "
               f"({t.height - in_library} name nothing in this library, "
               f"{in_library - found.height} a photo without that face)")
    print(message, file=sys.stderr)
    if found.height == 0:
        raise PhotolabError(message)
    return found.select("face_id", "person").unique("face_id", keep="first").sort("face_id")


def resolve_paths(t: pl.DataFrame, paths: pl.Series) -> pl.DataFrame:
    """Relative paths made absolute by the folder that makes the first of them a library
    path."""
    rel = t.filter(~pl.col("path").str.starts_with("/"))
    if rel.height == 0:
        return t
    first = rel["path"][0]
    hit = paths.filter(paths.str.ends_with("/" + first))
    if hit.len() == 0:
        return t
    root = hit[0][: -len(first)]
    return t.with_columns(pl.when(pl.col("path").str.starts_with("/")).then("path")
                          .otherwise(root + pl.col("path")).alias("path"))


def _match_faces(t: pl.DataFrame, faces: pl.DataFrame) -> pl.DataFrame:
    """Each labelled row's face: by box where the row has one, else the photo's only face."""
    boxes = {"left", "top", "right", "bottom"} <= set(t.columns)
    if not boxes:
        alone = faces.filter(pl.len().over("photo_id") == 1)
        return t.join(alone.select("photo_id", "face_id"), on="photo_id")
    from .geometry import iou

    rows = []
    by_photo = faces.partition_by("photo_id", as_dict=True)
    for r in t.iter_rows(named=True):
        here = by_photo.get((r["photo_id"],))
        if here is None:
            continue
        o = iou(np.array([[r["top"], r["right"], r["bottom"], r["left"]]]),
                here.select("top", "right", "bottom", "left").to_numpy())[0]
        if o.size and o.max() >= 0.5:
            rows.append((r["row"], int(here["face_id"][int(o.argmax())]), r["person"]))
    return pl.DataFrame(rows, schema={"row": pl.UInt32, "face_id": pl.Int64,
                                      "person": pl.String}, orient="row")


def _foreign(truth: np.ndarray, labels: np.ndarray) -> int:
    """Faces in a cluster whose majority is someone else."""
    f = pl.DataFrame({"truth": truth, "label": labels}).filter(pl.col("label") >= 0)
    major = (f.group_by("label", "truth").len().sort("len", descending=True)
             .unique("label", keep="first").select("label", major="truth"))
    return f.join(major, on="label").filter(pl.col("truth") != pl.col("major")).height


def compare(lib: Library, truth: pl.DataFrame | str | os.PathLike[str],
            methods: Sequence[Method] | Mapping[str, Method | dict[str, Any]] | None = None,
            seed_per_person: int = 1) -> pl.DataFrame:
    """Each clustering rule of the field on the library's face encodings, scored on `truth`.

    Parameters
    ----------
    truth : labelled faces (`read_truth`'s forms).
    methods : names of `photolab.faces.methods.RULES` (default: all), callables
        `encodings -> labels` (a researcher's rule, named by its `__name__`), or a mapping
        name -> parameters (a dict, for a rule of `RULES`) or -> callable.
    seed_per_person : `dbscan-librephotos` trains its classifier on this many labelled faces
        of each person (as someone naming one face of each would), which are then left out
        of every method's score; 0: on the names people gave in the library.

    Returns
    -------
    One row per method: `method`, `params` (JSON), `bcubed_precision`, `bcubed_recall`,
    `bcubed_f1`, `foreign_faces` (faces in a cluster whose majority is someone else),
    `unknown_faces` (labelled faces in no cluster), `n_clusters`, `seconds`. Every face of
    the library is clustered; the labelled ones are scored.
    """
    faces = lib.faces().filter(pl.col("encoding").is_not_null())
    t = read_truth(lib, truth, faces)
    index = faces.select("face_id").with_row_index("i").join(t, on="face_id")
    named = named_faces(faces, index, seed_per_person)
    return compare_encodings(faces["encoding"].to_numpy(), faces["photo_id"].to_numpy(),
                             index, choose(methods, lib), named)


def compare_encodings(x: np.ndarray, photos: np.ndarray, index: pl.DataFrame,
                      chosen: list[tuple[str, Callable[..., Any], dict[str, Any]]],
                      named: pl.DataFrame) -> pl.DataFrame:
    """`compare` on arrays: encodings `x`, each face's photo, the labelled faces (`i`: row
    of `x`, `person`), the rules (`choose`'s), the faces a classifier learns from (`named_faces`'
    frame: `i`, `person_id`, `seeded`)."""
    from . import methods as rules

    x = np.asarray(x, dtype=np.float64)
    scored = index.filter(~pl.col("i").is_in(named.filter("seeded")["i"].implode()))
    reach = max([0.8] + [float(v) for _, _, p in chosen for k, v in p.items()
                         if k in rules.DISTANCES])
    near = rules.Neighbours.of(x, reach, k=None if len(x) <= 20_000 else 64)
    person_ids = np.full(len(x), -1)
    person_ids[named["i"].to_numpy()] = named["person_id"].to_numpy()
    idx, truth_here = scored["i"].to_numpy(), scored["person"].to_numpy()
    rows = []
    for name, fn, params in chosen:
        kw = dict(params)
        accepts = inspect.signature(fn).parameters
        if "near" in accepts:
            kw["near"] = near
        if "named" in accepts:
            kw["named"] = person_ids
        t0 = time.perf_counter()
        labels = np.asarray(fn(x, photos, **kw) if name in rules.RULES or "photos" in accepts
                            else fn(x))
        seconds = time.perf_counter() - t0
        s = score(truth_here.tolist(), labels[idx].tolist())
        rows.append({"method": name, "params": json.dumps(params), **{
            k: s[k] for k in ("bcubed_precision", "bcubed_recall", "bcubed_f1")},
            "foreign_faces": _foreign(truth_here, labels[idx]),
            "unknown_faces": int((labels[idx] < 0).sum()),
            "n_clusters": len(np.unique(labels[labels >= 0])), "seconds": seconds})
    return pl.DataFrame(rows, schema=COMPARE_SCHEMA)


def named_faces(faces: pl.DataFrame, index: pl.DataFrame, seed_per_person: int) -> pl.DataFrame:
    """The faces a classifier learns from: `i`, `face_id`, `person_id`, `seeded` (taken from
    the truth, so left out of the scores): `seed_per_person` labelled faces of each person
    with more faces than that; with 0, the names people gave in the library."""
    if seed_per_person <= 0:
        people = faces.with_row_index("i").filter(
            pl.col("person_name").is_not_null() & (pl.col("assigned_by") == "user"))
        return people.select("i", "face_id", person_id=pl.col("person_name").rank("dense")
                             .cast(pl.Int64) - 1, seeded=pl.lit(False))
    seeds = (index.filter(pl.len().over("person") > seed_per_person).sort("face_id")
             .group_by("person", maintain_order=True).head(seed_per_person))
    return seeds.select(pl.col("i").cast(pl.UInt32), "face_id",
                        person_id=pl.col("person").rank("dense").cast(pl.Int64) - 1,
                        seeded=pl.lit(True))


def choose(methods: Sequence[Method] | Mapping[str, Method | dict[str, Any]] | None,
           lib: Library | None = None) -> list[tuple[str, Callable[..., Any], dict[str, Any]]]:
    """(name, function, parameters) of each method asked for (photolab's with the
    library's own parameters)."""
    from . import methods as rules

    own = lib.clusterer() if lib is not None else FaceClusterer()
    defaults = {"photolab": {"radius": own.radius or ATTACH_RADIUS,
                             "min_cluster_size": own.min_cluster_size}}
    if methods is None:
        methods = list(rules.RULES)
    items = methods.items() if isinstance(methods, Mapping) else [
        (m if isinstance(m, str) else getattr(m, "__name__", "custom"), m) for m in methods]
    out = []
    for name, m in items:
        if callable(m):
            out.append((name, m, {}))
            continue
        if name not in rules.RULES:
            raise PhotolabError(f"unknown method {name!r}: one of {list(rules.RULES)}, or a "
                                "callable encodings -> labels")
        fn = rules.RULES[name]
        params = {**rules.parameters(fn), **defaults.get(name, {}),
                  **(m if isinstance(m, dict) else {})}
        out.append((name, fn, params))
    return out
