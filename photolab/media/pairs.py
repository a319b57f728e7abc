"""RAW+JPEG pairs: a camera set to RAW+JPEG writes both files of one shot (IMG_0001.CR2 and
IMG_0001.JPG). They are one photo: the JPEG is shown, counted and grouped; the RAW is kept
as its original (the viewer's "RAW" badge and download), is never a duplicate of it, and runs
only the stages that pairing and its own thumbnails need (`StageSpec.paired`).

A pair is a RAW and a JPEG (or HEIC) in the same folder with the same name but for the suffix
(letter case aside), taken within `PAIR_SECONDS`. A person can take a pair apart (the
`unpair` decision); the pairs step of every ingest, an unpair and its undo, and a trash that
moves one of them set `photos.paired_to` (the RAW's row points at its JPEG) from this rule.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

import polars as pl

from ..ledger import NOT_UNDONE
from .raw import RAW_MIMES

if TYPE_CHECKING:
    from ..catalog import Catalog

PAIR_SECONDS = 2.0
#: what a RAW pairs with (the picture the camera rendered)
SHOWN_MIMES = ("image/jpeg", "image/heic", "image/heif")
PAIRS_SCHEMA = {"raw_id": pl.Int64, "jpeg_id": pl.Int64}
FILES_SCHEMA = {"photo_id": pl.Int64, "path": pl.String, "mime": pl.String,
                "taken_at": pl.String}


def _folder(path: pl.Expr) -> pl.Expr:
    """A path's folder, with its last slash."""
    return path.str.replace(r"[^/]*$", "")


def find_pairs(files: pl.DataFrame, unpaired: pl.DataFrame | None = None) -> pl.DataFrame:
    """RAW+JPEG pairs among `files` (`photo_id`, `path`, `mime`, `taken_at` ISO text).

    `unpaired` (`raw_id`, `jpeg_id`) are pairs a person took apart. Each RAW pairs with at
    most one JPEG and each JPEG with at most one RAW: the closest in time, then a JPEG over a
    HEIC, then the lower id. Returns `raw_id`, `jpeg_id`.
    """
    f = files.with_columns(
        folder=_folder(pl.col("path")),
        stem=pl.col("path").str.extract(r"([^/]*?)(\.[^./]*)?$").str.to_lowercase(),
        t=pl.col("taken_at").str.to_datetime(time_unit="us", strict=False))
    raws = f.filter(pl.col("mime").is_in(list(RAW_MIMES))).select(
        "folder", "stem", raw_id="photo_id", t_raw="t")
    shown = f.filter(pl.col("mime").is_in(SHOWN_MIMES)).select(
        "folder", "stem", jpeg_id="photo_id", t_jpeg="t",
        heic=pl.col("mime") != "image/jpeg")
    pairs = raws.join(shown, on=["folder", "stem"]).with_columns(
        gap=(pl.col("t_raw") - pl.col("t_jpeg")).abs().dt.total_milliseconds()
    ).filter(pl.col("gap") <= PAIR_SECONDS * 1000)
    if unpaired is not None and unpaired.height:
        pairs = pairs.join(unpaired, on=["raw_id", "jpeg_id"], how="anti")
    return (pairs.sort("gap", "heic", "jpeg_id", "raw_id")
            .unique("raw_id", keep="first", maintain_order=True)
            .unique("jpeg_id", keep="first", maintain_order=True)
            .select("raw_id", "jpeg_id").sort("raw_id").cast(PAIRS_SCHEMA))  # type: ignore[arg-type]


def _frame(c: sqlite3.Connection, sql: str, params: list, schema: dict) -> pl.DataFrame:
    return pl.DataFrame(c.execute(sql, params).fetchall(), schema=schema, orient="row")


def update(catalog: Catalog) -> int:
    """Set `photos.paired_to` from the rule, in one transaction; the number of photos whose
    pairing changed."""
    raw = list(RAW_MIMES)
    marks = ",".join("?" * len(raw))
    with catalog.transaction() as c:
        raws = _frame(c, f"""
            SELECT p.photo_id, p.path, m.mime, d.taken_at FROM photos p
            JOIN media m USING (photo_id) LEFT JOIN dates d USING (photo_id)
            WHERE p.status = 'present' AND m.mime IN ({marks})""", raw, FILES_SCHEMA)
        now = _frame(c, "SELECT photo_id AS raw_id, paired_to AS jpeg_id FROM photos "
                     "WHERE paired_to IS NOT NULL", [], PAIRS_SCHEMA)
        if raws.height == 0 and now.height == 0:
            return 0
        folders = raws.select(_folder(pl.col("path")).unique())["path"].to_list()
        # the JPEGs beside them (rtrim(path, name) is the path's folder, with its slash)
        shown = _frame(c, f"""
            SELECT p.photo_id, p.path, m.mime, d.taken_at FROM photos p
            JOIN media m USING (photo_id) LEFT JOIN dates d USING (photo_id)
            WHERE p.status = 'present' AND m.mime IN ({','.join('?' * len(SHOWN_MIMES))})
              AND rtrim(p.path, replace(p.path, '/', '')) IN (SELECT value FROM json_each(?))
            """, [*SHOWN_MIMES, json.dumps(folders)], FILES_SCHEMA)
        apart = _frame(c, f"""
            SELECT photo_id, json_extract(value, '$.jpeg') FROM decisions
            WHERE kind = 'unpair' AND {NOT_UNDONE}""", [], PAIRS_SCHEMA)
        want = find_pairs(pl.concat([raws, shown]), apart)
        changed = (want.join(now, on="raw_id", how="full", coalesce=True, suffix="_now")
                   .filter(pl.col("jpeg_id").ne_missing(pl.col("jpeg_id_now"))))
        c.executemany("UPDATE photos SET paired_to = ? WHERE photo_id = ?",
                      changed.select("jpeg_id", "raw_id").rows())
        return changed.height
