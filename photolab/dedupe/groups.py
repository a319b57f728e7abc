"""Duplicate groups from stored hashes, respecting people's decisions.

Edges: photos with the same content hash or pixel digest (`exact`), and photos whose pHashes
are within the Hamming radius (`near`). Groups are the connected components of those edges,
after removing every pair a person declined and every photo a person said is no duplicate;
where a declined pair is still linked through other photos, the component is rebuilt by
adding edges from the closest up and skipping any edge that would join a declined pair.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import polars as pl
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .search import hamming_pairs

GROUP_SCHEMA = {"group_id": pl.Int64, "photo_id": pl.Int64, "kind": pl.String,
                "distance": pl.Int64, "is_keeper": pl.Boolean, "reclaimable_bytes": pl.Int64}
#: formats cameras and phones write; a copy in another format is taken for a re-encode
ORIGINAL_MIMES = ("image/jpeg", "image/heic", "image/heif", "image/tiff", "image/png",
                  "image/x-adobe-dng", "image/x-canon-cr2", "image/x-canon-cr3",
                  "image/x-nikon-nef", "image/x-sony-arw", "image/x-fujifilm-raf")


def rank_keepers(members: pl.DataFrame) -> pl.DataFrame:
    """The default keeper rule: sort a group's photos best first.

    Largest pixel count, then richest metadata (most tags), then an original format over a
    re-encode (see `ORIGINAL_MIMES`), then the shortest path, then the oldest photo_id.
    Pass your own function of the same shape as `keeper_rule` to `Library.duplicates`.
    """
    return members.with_columns(
        _pixels=(pl.col("width").fill_null(0) * pl.col("height").fill_null(0)),
        _original=pl.col("mime").is_in(ORIGINAL_MIMES),
        _path_len=pl.col("path").str.len_chars(),
    ).sort(["_pixels", "n_tags", "_original", "_path_len", "photo_id"],
           descending=[True, True, True, False, False], nulls_last=True).drop(
        "_pixels", "_original", "_path_len")


def _exact_edges(photos: pl.DataFrame) -> pl.DataFrame:
    edges = []
    for col in ("content_hash", "pixel_hash"):
        firsts = (photos.filter(pl.col(col).is_not_null())
                  .group_by(col).agg(pl.col("idx").min().alias("first")))
        edges.append(photos.join(firsts, on=col).filter(pl.col("idx") != pl.col("first"))
                     .select(i="first", j="idx", d=pl.lit(0, pl.Int64)))
    return pl.concat(edges)


def _near_edges(photos: pl.DataFrame, threshold: int, mirrored: bool) -> pl.DataFrame:
    """pHash pairs within the radius; with `mirrored`, also a photo against the other
    photos' mirror images (a left-right flipped copy)."""
    hashed = photos.filter(pl.col("phash").is_not_null())
    use_mirror = mirrored and "phash_mirror" in hashed.columns
    n = hashed.height
    values = hashed["phash"]
    if use_mirror:
        values = pl.concat([values, hashed["phash_mirror"].fill_null(hashed["phash"])])
    i, j, d = hamming_pairs(values.cast(pl.UInt64, wrap_numerical=True).to_numpy(), threshold)
    if use_mirror:  # keep straight pairs and (photo, other's mirror) pairs, not self-mirrors
        keep = (i < n) & (j - n != i)  # i < j always; j >= n is another photo's mirror
        i, j, d = i[keep], j[keep] % n, d[keep]
    idx = hashed["idx"].to_numpy()
    edges = pl.DataFrame({"i": idx[i], "j": idx[j], "d": d})
    return edges.with_columns(i=pl.min_horizontal("i", "j"), j=pl.max_horizontal("i", "j"))


def _constrained_labels(n: int, edges: pl.DataFrame, cannot: set[tuple[int, int]]) -> np.ndarray:
    """Union-find over edges, closest first, never joining two sets with a declined pair."""
    parent = list(range(n))
    members: dict[int, set[int]] = {i: {i} for i in range(n)}

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, j, _ in edges.sort("d").iter_rows():
        ri, rj = find(i), find(j)
        if ri == rj:
            continue
        if any((min(a, b), max(a, b)) in cannot for a in members[ri] for b in members[rj]):
            continue
        parent[rj] = ri
        members[ri] |= members.pop(rj)
    return np.array([find(i) for i in range(n)])


def group_duplicates(photos: pl.DataFrame, threshold: int = 8,
                     declined_pairs: Iterable[tuple[int, int]] = (),
                     declined_photos: Iterable[int] = (), keepers: Iterable[int] = (),
                     keeper_rule: Callable[[pl.DataFrame], pl.DataFrame] = rank_keepers,
                     mirrored: bool = True,
                     extra_pairs: pl.DataFrame | None = None) -> pl.DataFrame:
    """Group duplicate photos.

    Parameters
    ----------
    photos : `photo_id`, `phash` (signed Int64, may be null), `content_hash`, `pixel_hash`,
        `size_bytes`, `width`, `height`, `mime`, `path`, `n_tags`.
    threshold : Hamming radius for near duplicates (0 = exact only).
    declined_pairs : photo-id pairs a person said are not duplicates of each other.
    declined_photos : photos a person said are no duplicate of anything.
    keepers : photos a person chose to keep; each wins its group.
    keeper_rule : ranks a group's photos best first (default `rank_keepers`).
    mirrored : also match left-right mirrored copies (needs `phash_mirror`).
    extra_pairs : more near-duplicate pairs from another signal (`photo_id_a`, `photo_id_b`;
        CLIP vectors, say), joined after every pHash pair.

    Returns
    -------
    Frame with `group_id`, `photo_id`, `kind` ("exact": same bytes or decoded image as the
    keeper; "near": pHash within the radius; the keeper's is "exact" when all its copies
    are), `distance` (pHash bits to the keeper), `is_keeper`,
    `reclaimable_bytes` (what deleting that copy frees; 0 for the keeper). Groups are
    numbered largest first.
    """
    declined = {int(p) for p in declined_photos}
    photos = photos.filter(~pl.col("photo_id").is_in(list(declined))).with_row_index(
        "idx").with_columns(pl.col("idx").cast(pl.Int64))
    n = photos.height
    if n < 2:
        return pl.DataFrame(schema=GROUP_SCHEMA)
    edges = pl.concat([_exact_edges(photos), _near_edges(photos, threshold, mirrored)])
    by_id = dict(zip(photos["photo_id"], photos["idx"], strict=True))
    if extra_pairs is not None and extra_pairs.height:
        mapped = extra_pairs.select(
            i=pl.col("photo_id_a").replace_strict(by_id, default=None),
            j=pl.col("photo_id_b").replace_strict(by_id, default=None)).drop_nulls()
        edges = pl.concat([edges, mapped.select(
            i=pl.min_horizontal("i", "j").cast(pl.Int64),
            j=pl.max_horizontal("i", "j").cast(pl.Int64), d=pl.lit(threshold + 1, pl.Int64))])
    cannot = {(min(by_id[a], by_id[b]), max(by_id[a], by_id[b]))
              for a, b in declined_pairs if a in by_id and b in by_id}
    if cannot:
        key = pl.min_horizontal("i", "j").cast(pl.Int64) * n + pl.max_horizontal("i", "j")
        edges = edges.filter(~key.is_in([a * n + b for a, b in cannot]))
    graph = coo_matrix((np.ones(edges.height), (edges["i"].to_numpy(), edges["j"].to_numpy())),
                       shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    if cannot:
        bad = {labels[a] for a, b in cannot if labels[a] == labels[b]}
        if bad:
            inside = np.isin(labels, list(bad))
            sub = edges.filter(pl.col("i").is_in(np.flatnonzero(inside)))
            fixed = _constrained_labels(n, sub, cannot)
            labels = np.where(inside, fixed + labels.max() + 1, labels)
    photos = photos.with_columns(label=pl.Series(labels))
    sizes = photos.group_by("label").len().filter(pl.col("len") > 1)
    if sizes.height == 0:
        return pl.DataFrame(schema=GROUP_SCHEMA)
    grouped = photos.join(sizes.rename({"len": "size"}), on="label")
    # rank every group at once: the rule sorts the whole frame, a stable sort then puts
    # people's chosen keepers first, and each group's first row is its keeper
    ranked = keeper_rule(grouped).with_columns(
        _chosen=pl.col("photo_id").is_in([int(k) for k in keepers]))
    best = (ranked.sort("_chosen", descending=True, maintain_order=True)
            .unique("label", keep="first", maintain_order=True)
            .select("label", k_id="photo_id", k_content="content_hash", k_pixel="pixel_hash",
                    k_phash="phash"))
    result = grouped.join(best, on="label").select(
        "label", "size", "photo_id", "size_bytes",
        is_keeper=pl.col("photo_id") == pl.col("k_id"),
        exact=((pl.col("content_hash") == pl.col("k_content"))
               | (pl.col("pixel_hash") == pl.col("k_pixel")).fill_null(False)),
        distance=pl.min_horizontal(
            [(pl.col(c) ^ pl.col("k_phash")).bitwise_count_ones()
             for c in ("phash", "phash_mirror") if c in grouped.columns]).cast(pl.Int64),
    ).with_columns(
        # the keeper takes its group's kind: exact when every other copy is exact
        exact=pl.when("is_keeper").then((pl.col("exact") | pl.col("is_keeper")).all()
                                         .over("label")).otherwise("exact"))
    result = result.with_columns(
        kind=pl.when("exact").then(pl.lit("exact")).otherwise(pl.lit("near")),
        distance=pl.when("exact").then(0).otherwise("distance"),
        reclaimable_bytes=pl.when("is_keeper").then(0).otherwise("size_bytes"),
    )
    order = (result.select("label", "size").unique()
             .sort(["size", "label"], descending=[True, False])
             .with_row_index("group_id", offset=1).select("label", "group_id"))
    return (result.join(order, on="label").sort(["group_id", "is_keeper", "distance"],
                                                descending=[False, True, False])
            .select(list(GROUP_SCHEMA)).cast(GROUP_SCHEMA))  # type: ignore[arg-type]
