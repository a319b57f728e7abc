"""The best photos of a group (an event's cover, a year of memories): favourites, ratings,
people and sharpness first, and never a second copy of a photo already chosen."""

from __future__ import annotations

import polars as pl

#: how many of a group's best photos are compared for copies before the cover is chosen
CANDIDATES = 8
BEST_INPUT = {"photo_id": pl.Int64, "favorite": pl.Boolean, "rating": pl.Int64,
              "n_faces": pl.Int64, "n_named": pl.Int64, "sharpness": pl.Float64,
              "width": pl.Int64, "height": pl.Int64, "size_bytes": pl.Int64,
              "mime": pl.String, "phash": pl.Int64, "pixel_hash": pl.String,
              "kept": pl.Boolean}


def scored(frame: pl.DataFrame, group: str) -> pl.DataFrame:
    """`frame` (the columns of `BEST_INPUT`, missing ones null, and `group`) with `score`:
    a favourite +4, each star +0.6, a named person +2, any face +1, a still +0.5, and the
    photo's sharpness as its rank within the group (0 to 1)."""
    f = frame.with_columns([pl.lit(None, t).alias(c) for c, t in BEST_INPUT.items()
                            if c not in frame.columns])
    sharp_rank = (pl.col("sharpness").rank("average").over(group)
                  / pl.col("sharpness").count().over(group)).fill_null(0.5)
    return f.with_columns(score=(
        4.0 * pl.col("favorite").fill_null(False).cast(pl.Float64)
        + 0.6 * pl.col("rating").fill_null(0).cast(pl.Float64)
        + 2.0 * (pl.col("n_named").fill_null(0) > 0).cast(pl.Float64)
        + 1.0 * (pl.col("n_faces").fill_null(0) > 0).cast(pl.Float64)
        + 0.5 * ~pl.col("mime").fill_null("").str.starts_with("video/")
        + sharp_rank))


def copies(frame: pl.DataFrame, group: str, threshold: int) -> pl.Series:
    """Photo ids of `frame` that are copies of a better one in the same group: the same
    decoded pixels, or pHashes within `threshold` bits. The better copy is the one a person
    kept, else the larger (pixels, then bytes), as the duplicates review ranks them."""
    f = (frame.sort([pl.col("kept").fill_null(False),
                     (pl.col("width") * pl.col("height")).fill_null(0),
                     pl.col("size_bytes").fill_null(0), -pl.col("photo_id")],
                    descending=True)
         .select(group, "photo_id", "phash", "pixel_hash", order=pl.int_range(pl.len())))
    pairs = f.join(f, on=group, suffix="_b").filter(
        (pl.col("order_b") < pl.col("order"))
        & ((pl.col("pixel_hash") == pl.col("pixel_hash_b")).fill_null(False)
           | (pl.col("phash").xor(pl.col("phash_b")).bitwise_count_ones() <= threshold)
           .fill_null(False)))
    return pairs["photo_id"].unique()


def best_first(frame: pl.DataFrame, group: str, threshold: int,
               candidates: int | None = None) -> pl.DataFrame:
    """`frame` scored (see `scored`), copies of better photos left out, best first within
    each group (`rank` 1, 2, ...). With `candidates`, only each group's best few are
    compared and kept (enough to choose a cover from, at the cost of a join on them)."""
    f = scored(frame, group).sort([group, "score", "photo_id"], descending=[False, True, False])
    if candidates is not None:
        f = f.filter(pl.int_range(pl.len()).over(group) < candidates)
    f = f.filter(~pl.col("photo_id").is_in(copies(f, group, threshold).implode()))
    return f.with_columns(rank=pl.int_range(1, pl.len() + 1).over(group))
