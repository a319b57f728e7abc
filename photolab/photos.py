"""The photos service (`lib.photos`; `lib.photos()` is `photos()`): one row per photo with
its media facts, dates, motion and curation; what ranks photos (`best_photos`); a photo's
thumbnails, motion clip and previews; the jobs and decisions logs.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from .context import Service
from .errors import PhotolabError, PhotoNotFoundError
from .materialised import EVERY, kept
from .media import motion, thumbnails
from .shown import SHOWN

if TYPE_CHECKING:
    from .context import Context
    from .curation.verbs import CurationService


#: the tables `photos()` reads before people's decisions
PHOTO_TABLES = ("photos", "media", "dates", "motion", "stage_runs", "thumbnails")


class PhotosService(Service):
    """Photos as the catalog knows them (`lib.photos`). Uses the curation service (people's
    decisions applied to each photo)."""

    def __init__(self, ctx: Context, curation: CurationService):
        super().__init__(ctx)
        self.curation = curation

    def __call__(self, include_missing: bool = False,
                 photo_ids: Sequence[int] | None = None) -> pl.DataFrame:
        return self.photos(include_missing, photo_ids)

    # -- reading ----------------------------------------------------------------------------

    def photos(self, include_missing: bool = False,
               photo_ids: Sequence[int] | None = None) -> pl.DataFrame:
        """One row per photo (or per one of `photo_ids`: what a viewer reads for the photo
        on screen), with media facts, dates, motion, curation (`keywords`, `rating`,
        `title`, `description`, `favorite`, `albums`, `people`: what the file and its sidecar
        say, with people's decisions applied), `thumb_source` (how its thumbnails were made:
        `photolab.media.raw.SOURCES`), `paired_with` (a JPEG's RAW original, or a RAW's JPEG:
        the pair is one photo, the JPEG's; the RAW's row comes only by its id) and `error`
        (null when fine)."""
        if photo_ids is not None:
            return self.curation(self._photo_rows(include_missing, photo_ids))
        return self._every_photo(include_missing)

    @kept("photo-rows", tables=PHOTO_TABLES)
    def _every_photo_row(self, include_missing: bool) -> pl.DataFrame:
        """Every photo's row before people's decisions (kept while nothing but decisions
        is written)."""
        return self._photo_rows(include_missing, None)

    @kept("photos", decisions=EVERY, uses=("photo-rows", "curation"),
          refresh="_photos_since")
    def _every_photo(self, include_missing: bool) -> pl.DataFrame:
        """`photos()` of every photo: the decisions applied again only when one was
        recorded, to the photos it is about (`_photos_since`) when it can."""
        return self.curation(self._every_photo_row(include_missing))

    def _photos_since(self, old: pl.DataFrame, since: int,
                      include_missing: bool) -> pl.DataFrame | None:
        """`photos()` as `old` was, with the decisions after `since` applied to the photos
        they are about: ratings, favourites, keywords, titles, descriptions (and undoing
        them). None when one is of another kind (an album, a name: computed again)."""
        ids: set[int] = set()
        for kind, pid, value in self.catalog.decisions_since(since).select(
                "kind", "photo_id", "value").iter_rows():
            if kind == "undo":
                undone = self.catalog.decision(int(json.loads(value)["undoes"]))
                kind, pid = (undone["kind"], undone["photo_id"]) if undone else ("", None)
            if kind not in PHOTO_DECISIONS or pid is None:
                return None
            ids.add(int(pid))
        if not ids:
            return old
        changed = self.curation(self._photo_rows(include_missing, sorted(ids)))
        return old.update(changed, on="photo_id", include_nulls=True)

    def _photo_rows(self, include_missing: bool,
                    photo_ids: Sequence[int] | None) -> pl.DataFrame:
        """`photos()` before people's decisions: the catalog's tables joined."""
        # by id: a RAW shown as its JPEG too (its own row says which: `paired_with`)
        shown = SHOWN if photo_ids is None else "p.status = 'present'"
        conds = ([] if include_missing else [shown]) + (
            [] if photo_ids is None else ["p.photo_id IN (SELECT value FROM json_each(?))"])
        where = f"WHERE {' AND '.join(conds)}" if conds else ""
        params = [] if photo_ids is None else [json.dumps([int(i) for i in photo_ids])]
        f = self.catalog.frame(f"""
            SELECT p.photo_id, p.path, p.size_bytes, m.mime, m.width, m.height,
                   d.taken_at, d.taken_at_utc, d.tz_offset, d.taken_at_source,
                   m.lat, m.lon, m.camera_make, m.camera_model, m.orientation, m.duration_s,
                   mo.has_motion_video, p.content_hash, p.status, p.scan_error,
                   p.paired_to, t.source AS thumb_source,
                   m.keywords, m.rating, m.title, m.description, m.file_people,
                   m.favorite AS file_favorite, m.albums
            FROM photos p LEFT JOIN media m USING (photo_id) LEFT JOIN dates d USING (photo_id)
            LEFT JOIN motion mo USING (photo_id) LEFT JOIN thumbnails t USING (photo_id)
            {where} ORDER BY p.photo_id""", params,
            schema=PHOTO_SQL_SCHEMA)
        # the few failed stage runs, by their own partial index (not a subquery per photo;
        # an ORDER BY would lead SQLite to walk every run in key order instead)
        failed = (self.catalog.frame(
            "SELECT photo_id, stage, error FROM stage_runs WHERE error IS NOT NULL",
            schema={"photo_id": pl.Int64, "stage": pl.String, "error": pl.String})
            .sort("photo_id", "stage").group_by("photo_id", maintain_order=True)
            .agg(stage_errors=pl.format("{}: {}", "stage", "error").str.join("; ")))
        # the JPEG's side of each RAW+JPEG pair, by the pairs' own partial index
        raws = self.catalog.frame(
            "SELECT paired_to AS photo_id, photo_id AS raw_id FROM photos "
            "WHERE paired_to IS NOT NULL", schema={"photo_id": pl.Int64, "raw_id": pl.Int64})
        f = f.join(raws, on="photo_id", how="left", maintain_order="left").with_columns(
            paired_with=pl.coalesce("paired_to", "raw_id")).drop("paired_to", "raw_id")
        return f.join(failed, on="photo_id", how="left", maintain_order="left").with_columns(
            taken_at=pl.col("taken_at").str.to_datetime(time_unit="us", strict=False),
            taken_at_utc=pl.col("taken_at_utc").str.to_datetime(time_unit="us", strict=False)
            .dt.replace_time_zone("UTC"),
            has_motion_video=pl.col("has_motion_video").cast(pl.Boolean),
            error=pl.concat_str([pl.format("scan: {}", "scan_error"), "stage_errors"],
                                separator="; ", ignore_nulls=True).replace("", None),
        ).drop("scan_error", "stage_errors")

    def tags(self, photo_ids: Sequence[int] | None = None) -> pl.DataFrame:
        """Every exiftool tag per photo: `photo_id`, `tags` (JSON). Query one with
        `photolab.media.metadata.tag("EXIF:FNumber")`."""
        schema = {"photo_id": pl.Int64, "tags": pl.String}
        if photo_ids is None:
            return self.catalog.frame("SELECT photo_id, tags FROM media ORDER BY photo_id",
                                      schema=schema)
        return self.catalog.frame_in("SELECT photo_id, tags FROM media WHERE photo_id IN "
                                     "({ids}) ORDER BY photo_id", photo_ids, schema=schema)

    def jobs(self) -> pl.DataFrame:
        """The `jobs` table: one row per ingest, with counts, errors and seconds per stage."""
        self.catalog.reap_jobs()
        return self.catalog.jobs()

    def _photo(self, photo_id: int) -> dict[str, Any]:
        row = self.catalog.frame(
            "SELECT p.photo_id, p.path_raw, p.content_hash, m.mime, mo.has_motion_video, "
            "mo.motion_offset, mo.motion_length FROM photos p LEFT JOIN media m USING (photo_id) "
            "LEFT JOIN motion mo USING (photo_id) WHERE p.photo_id = ?", [int(photo_id)])
        if row.height == 0:
            raise PhotoNotFoundError(f"no photo {photo_id} in {self.root}")
        return row.row(0, named=True)

    def thumbnail(self, photo_id: int, size: str = "small") -> Path:
        """Path of a photo's WebP thumbnail ("big", "small" or "tiny")."""
        if size not in self.settings.thumb_sizes:
            raise PhotolabError(f"unknown size {size!r}; sizes: {list(self.settings.thumb_sizes)}")
        p = self._photo(photo_id)
        path = thumbnails.thumb_path(self.thumbs_dir, p["content_hash"], size)
        if not path.exists():
            raise PhotolabError(f"photo {photo_id} has no {size} thumbnail (see its error)")
        return path

    def motion_video(self, photo_id: int) -> Path:
        """Extract the video embedded in a motion photo; returns the cached MP4's path (in
        the library, or in a temporary folder when the library is read-only)."""
        p = self._photo(photo_id)
        if not p["has_motion_video"]:
            raise PhotolabError(f"photo {photo_id} is not a motion photo")
        # a read-only library's folder stays untouched: a guest's copy goes to a temp cache
        cache = (Path(tempfile.gettempdir()) / f"photolab-motion-{os.getuid()}"
                 if self.read_only else self.root / "motion")
        dest = cache / f"{p['content_hash']}.mp4"
        if dest.exists():
            return dest
        return motion.extract_motion_video(p["path_raw"], p["motion_offset"],
                                           p["motion_length"], dest)

    def previews(self, photo_ids: Sequence[int]) -> pl.DataFrame:
        """What a browser plays for these photos (the previews stage): `photo_id`, `playable`
        (`as stored`, `preview`, null for a still), `mp4` (the H.264 preview's path, null
        when the file plays as stored) and `webp` (the animated tile preview's path)."""
        f = self.catalog.frame_in(
            "SELECT v.photo_id, v.playable, v.mp4, v.webp, p.content_hash FROM previews v "
            "JOIN photos p USING (photo_id) WHERE v.photo_id IN ({ids})", photo_ids,
            schema={"photo_id": pl.Int64, "playable": pl.String, "mp4": pl.String,
                    "webp": pl.String, "content_hash": pl.String})
        where = str(self.root / "previews") + os.sep
        folder = pl.col("content_hash").str.slice(0, 2)
        return f.select("photo_id", "playable", *[
            pl.when(pl.col(c).is_not_null()).then(pl.concat_str([pl.lit(where), folder,
                                                                  pl.lit(os.sep), c]))
            .alias(c) for c in ("mp4", "webp")])

    # -- what ranks photos ------------------------------------------------------------------

    def best_photos(self, photo_ids: Sequence[int] | None = None) -> pl.DataFrame:
        """What picks covers and memories, per present photo (or per one of `photo_ids`):
        `photo_id`, `path`, `taken_at`, `taken_at_source`, `mime`, `width`, `height`,
        `size_bytes`, `favorite`, `rating`, `people`, `n_faces`, `n_named`, `phash`,
        `pixel_hash`, `sharpness`, `kept` (a person chose it among its duplicates)."""
        if photo_ids is None:
            return self._every_best_photo()
        return self._best_photos(photo_ids)

    @kept("best_photos", tables=("hashes", "faces", "photos"), decisions=("keep",),
          uses=("photos",))
    def _every_best_photo(self) -> pl.DataFrame:
        return self._best_photos(None)

    def _best_photos(self, photo_ids: Sequence[int] | None) -> pl.DataFrame:
        f = self.photos(photo_ids=photo_ids)
        sql = ("SELECT h.photo_id, h.phash, h.pixel_hash, h.sharpness, "
               "(SELECT count(*) FROM faces x WHERE x.photo_id = h.photo_id) AS n_faces "
               "FROM hashes h JOIN photos p USING (photo_id) WHERE " + SHOWN)
        schema = {"photo_id": pl.Int64, "phash": pl.Int64, "pixel_hash": pl.String,
                  "sharpness": pl.Float64, "n_faces": pl.Int64}
        hashes = (self.catalog.frame(sql, schema=schema) if photo_ids is None else
                  self.catalog.frame_in(sql + " AND h.photo_id IN ({ids})", photo_ids,
                                        schema=schema))
        kept = self.catalog.active_decisions("keep")["photo_id"]
        return (f.select("photo_id", "path", "taken_at", "taken_at_source", "mime", "width",
                         "height", "size_bytes", "favorite", "rating", "people",
                         "content_hash", n_named=pl.col("people").list.len())
                .join(hashes, on="photo_id", how="left", maintain_order="left")
                .with_columns(kept=pl.col("photo_id").is_in(kept.implode()),
                              n_faces=pl.col("n_faces").fill_null(0)))

    def user_dates(self) -> pl.DataFrame:
        """People's capture dates (`set_date`): `photo_id`, `user_date` (ISO text), the
        newest decision per photo. The dates stage and write-back both read them here."""
        return self.catalog.latest_decisions("date").select(
            "photo_id", user_date=pl.col("value").str.json_path_match("$.taken_at"))

    def decisions(self, kind: str | None = None, who: str | None = None) -> pl.DataFrame:
        """Every decision people made (of one kind, by one person or member), oldest first,
        with who and when."""
        return self.catalog.decisions(kind, who)


#: decisions about one photo's own curation, which `photos()` applies to that photo alone
PHOTO_DECISIONS = frozenset({"rating", "favorite", "keywords", "title", "description"})

PHOTO_SQL_SCHEMA = {
    "photo_id": pl.Int64, "path": pl.String, "size_bytes": pl.Int64, "mime": pl.String,
    "width": pl.Int64, "height": pl.Int64, "taken_at": pl.String, "taken_at_utc": pl.String,
    "tz_offset": pl.String, "taken_at_source": pl.String, "lat": pl.Float64, "lon": pl.Float64,
    "camera_make": pl.String, "camera_model": pl.String, "orientation": pl.Int64,
    "duration_s": pl.Float64, "has_motion_video": pl.Int64, "content_hash": pl.String,
    "status": pl.String, "scan_error": pl.String, "paired_to": pl.Int64,
    "thumb_source": pl.String,
    "keywords": pl.String, "rating": pl.Int64, "title": pl.String, "description": pl.String,
    "file_people": pl.String, "file_favorite": pl.Int64, "albums": pl.String,
}
