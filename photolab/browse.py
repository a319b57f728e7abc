"""Browsing the library: the newest photos a page at a time, the filters every gallery and
search combine with (dates, people, places, cameras, scene tags), and result rows.

Pages are read by key from the catalog's date index (`recent(k, after_photo=...)`), never by
loading every photo into the kernel: a page costs the same on the first and the ten
thousandth page of a million photos (benchmarks/catalog.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from .context import Service
from .errors import PhotoNotFoundError
from .materialised import kept
from .media.raw import is_raw
from .shown import SHOWN

if TYPE_CHECKING:
    from .context import Context
    from .faces.verbs import FacesService
    from .photos import PhotosService
    from .places.verbs import PlacesService
    from .semantic.verbs import SemanticService

RESULT_SCHEMA = {"photo_id": pl.Int64, "score": pl.Float32, "rank": pl.Int64,
                 "path": pl.String, "taken_at": pl.Datetime("us"), "caption": pl.String}


class BrowseService(Service):
    """Pages, filters and result rows (`lib.browse`). Uses the photos, faces, places and
    semantic (captions, scene tags) services."""

    def __init__(self, ctx: Context, photos: PhotosService, faces: FacesService,
                 places: PlacesService, semantic: SemanticService):
        super().__init__(ctx)
        self.photos, self.faces, self.places, self.semantic = photos, faces, places, semantic

    def timeline_months(self, **filters: Any) -> pl.DataFrame:
        """`month` ("2019-05"), `n_photos`: the months with dated photos, newest first (a
        timeline's jump list), counted on the date index (kept for the generation: a
        million photos' months take 2 s to count); of the photos `filters` admit (as
        `recent`'s: an album's, a person's) when given."""
        if not any(v is not None for v in filters.values()):
            return self._timeline_months()
        where, params = self._where(filters)
        return self.catalog.frame(
            "SELECT substr(d.taken_at, 1, 7) AS month, count(*) AS n_photos FROM photos p "
            f"LEFT JOIN dates d USING (photo_id) WHERE d.taken_at IS NOT NULL AND "
            f"{' AND '.join(where)} GROUP BY 1 ORDER BY 1 DESC", params,
            schema={"month": pl.String, "n_photos": pl.Int64})

    @kept("timeline_months", tables=("dates", "photos"))
    def _timeline_months(self) -> pl.DataFrame:
        return self.catalog.frame(
            "SELECT substr(d.taken_at, 1, 7) AS month, count(*) AS n_photos FROM dates d "
            "CROSS JOIN photos p ON p.photo_id = d.photo_id WHERE d.taken_at IS NOT NULL "
            "AND " + SHOWN + " GROUP BY 1 ORDER BY 1 DESC",
            schema={"month": pl.String, "n_photos": pl.Int64})

    def tiles(self, photo_ids: Sequence[int]) -> pl.DataFrame:
        """What a timeline tile needs, for these photos only: `photo_id`, `taken_at`,
        `mime`, `has_motion_video`, `content_hash`."""
        return self.catalog.frame_in(
            "SELECT p.photo_id, d.taken_at, m.mime, mo.has_motion_video, p.content_hash "
            "FROM photos p LEFT JOIN dates d USING (photo_id) LEFT JOIN media m "
            "USING (photo_id) LEFT JOIN motion mo USING (photo_id) "
            "WHERE p.photo_id IN ({ids})", photo_ids,
            schema={"photo_id": pl.Int64, "taken_at": pl.String, "mime": pl.String,
                    "has_motion_video": pl.Int64, "content_hash": pl.String}
        ).with_columns(pl.col("taken_at").str.to_datetime(time_unit="us", strict=False),
                       has_motion_video=pl.col("has_motion_video").cast(pl.Boolean)
                       .fill_null(False))

    def photo_details(self, photo_id: int) -> dict[str, Any]:
        """Everything a viewer shows of one photo, read for it alone: its `photos()` row,
        its place (`country`, `region`, `city`), `lens`, `exposure` (f-number, time, ISO,
        focal length), `caption`, `faces` (boxes, with the names people gave) and its camera
        RAW original, if any (`raw_id`, `raw_path`, `raw_size_bytes`: the photo itself, or the
        RAW of a RAW+JPEG pair)."""
        from .media.metadata import first_tag

        row = self.photos(photo_ids=[int(photo_id)])
        if row.height == 0:
            raise PhotoNotFoundError(f"no photo {photo_id}")
        out = row.row(0, named=True)
        place = self.places([int(photo_id)]).row(0, named=True)
        out.update({k: place[k] for k in ("country", "region", "city")})
        t = self.photos.tags([int(photo_id)]).select(
            lens=first_tag("EXIF:LensModel", "Composite:LensID", "XMP:Lens"),
            f=first_tag("EXIF:FNumber", "Composite:Aperture"),
            time=first_tag("EXIF:ExposureTime", "Composite:ShutterSpeed"),
            iso=first_tag("EXIF:ISO"), focal=first_tag("EXIF:FocalLength"))
        exp = t.row(0, named=True) if t.height else {}
        out["lens"] = exp.get("lens")
        out["exposure"] = " · ".join(
            v for v in (f"f/{exp['f']}" if exp.get("f") else None,
                        _seconds(exp.get("time")),
                        f"ISO {exp['iso']}" if exp.get("iso") else None,
                        _mm(exp.get("focal"))) if v) or None
        # its RAW original: the photo itself, or the RAW it was taken with (photolab.media.pairs)
        raw_id = out["photo_id"] if is_raw(out["mime"]) else out["paired_with"]
        raw = (out if raw_id == out["photo_id"] else
               self.photos(photo_ids=[raw_id]).row(0, named=True) if raw_id is not None else None)
        out["raw_id"], out["raw_path"] = (raw_id, raw["path"]) if raw else (None, None)
        out["raw_size_bytes"] = raw["size_bytes"] if raw else None
        caption = self.semantic.captions([int(photo_id)])
        out["caption"] = caption["caption"][0] if caption.height else None
        faces = self.catalog.frame(
            "SELECT face_id, top, right, bottom, left, image_width, image_height FROM faces "
            "WHERE photo_id = ? ORDER BY face_id", [int(photo_id)],
            schema={"face_id": pl.Int64, "top": pl.Int64, "right": pl.Int64,
                    "bottom": pl.Int64, "left": pl.Int64, "image_width": pl.Int64,
                    "image_height": pl.Int64})
        labels = self.faces.labels()
        names = {f: labels.names.get(labels.root(p)) for f, p in labels.person_of.items()}
        out["faces"] = faces.with_columns(person_name=pl.col("face_id").replace_strict(
            names, default=None, return_dtype=pl.String)).to_dicts()
        return out

    def recent(self, k: int | None = None, after_photo: int | None = None,
               **filters: Any) -> pl.DataFrame:
        """Photos newest first (by capture date, undated ones last), filters as `search`;
        `score` is null. What a gallery shows before anyone types.

        Paged by key, not by offset: `after_photo` is the last photo of the page before, and
        the next page is read from the catalog's date index where that photo sits, at the
        same cost on any page of a million photos.
        """
        where, params = self._where(filters)
        undated_too = filters.get("after") is None and filters.get("before") is None
        key: tuple[str | None, int] | None = None
        if after_photo is not None:
            got = self.catalog.frame(  # the stored key, exactly as the index holds it
                "SELECT p.photo_id, d.taken_at FROM photos p LEFT JOIN dates d "
                "USING (photo_id) WHERE p.photo_id = ?", [int(after_photo)],
                schema={"photo_id": pl.Int64, "taken_at": pl.String})
            if got.height == 0:
                raise PhotoNotFoundError(f"no photo {after_photo}")
            key = (got["taken_at"][0], int(after_photo))
        limit = f" LIMIT {int(k)}" if k else ""
        hits = pl.DataFrame(schema={"photo_id": pl.Int64})
        if key is None or key[0] is not None:
            # dated photos: down the (taken_at, photo_id) index from the key (CROSS JOIN keeps
            # SQLite on the index instead of sorting every photo)
            cond = [*where, "d.taken_at IS NOT NULL"]
            args = list(params)
            if key is not None:
                cond.append("(d.taken_at, d.photo_id) < (?, ?)")
                args += list(key)
            hits = self.catalog.frame(
                "SELECT d.photo_id FROM dates d CROSS JOIN photos p ON p.photo_id = d.photo_id "
                f"WHERE {' AND '.join(cond)} ORDER BY d.taken_at DESC, d.photo_id DESC{limit}",
                args, schema={"photo_id": pl.Int64})
        if (not k or hits.height < k) and undated_too:  # then the undated, newest id first
            cond, args = [*where, "d.taken_at IS NULL"], list(params)
            if key is not None and key[0] is None:
                cond.append("p.photo_id < ?")
                args.append(key[1])
            rest = f" LIMIT {int(k) - hits.height}" if k else ""
            hits = pl.concat([hits, self.catalog.frame(
                "SELECT p.photo_id FROM photos p LEFT JOIN dates d USING (photo_id) "
                f"WHERE {' AND '.join(cond)} ORDER BY p.photo_id DESC{rest}",
                args, schema={"photo_id": pl.Int64})])
        return self.results(hits.with_columns(score=pl.lit(None, pl.Float32)),
                             by_score=False)

    def count_recent(self, **filters: Any) -> int:
        """How many photos `recent` lists with these filters (all its pages)."""
        where, params = self._where(filters)
        return int(self.catalog.frame(
            f"SELECT count(*) AS n FROM photos p LEFT JOIN dates d USING (photo_id) "
            f"WHERE {' AND '.join(where)}", params).item())

    def _where(self, filters: dict[str, Any]) -> tuple[list[str], list[Any]]:
        """SQL conditions on `photos p` and `dates d` for `search`'s filters: the dates as
        bounds on the date index, the rest through `filter_photos`."""
        rest = {k: v for k, v in filters.items() if k not in ("after", "before")}
        where, params = _date_where(filters.get("after"), filters.get("before"))
        if (allowed := self.filter_photos(**rest)) is not None:
            where.append("p.photo_id IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(allowed.tolist()))
        return where, params

    def results(self, hits: pl.DataFrame, by_score: bool = True) -> pl.DataFrame:
        """Number `photo_id`, `score` hits (best first, or in their order) and add what a
        person looks at, read for these photos only."""
        info = self.catalog.frame_in(
            "SELECT p.photo_id, p.path, d.taken_at, c.caption FROM photos p "
            "LEFT JOIN dates d USING (photo_id) LEFT JOIN captions c USING (photo_id) "
            "WHERE " + SHOWN + " AND p.photo_id IN ({ids})", hits["photo_id"],
            schema={"photo_id": pl.Int64, "path": pl.String, "taken_at": pl.String,
                    "caption": pl.String},
        ).with_columns(pl.col("taken_at").str.to_datetime(time_unit="us", strict=False))
        found = hits.join(info, on="photo_id", how="inner", maintain_order="left")
        if by_score:
            found = found.sort(["score", "photo_id"], descending=[True, False])
        return (found.with_row_index("rank", offset=1)
                .select(list(RESULT_SCHEMA)).cast(RESULT_SCHEMA))  # type: ignore[arg-type]

    def filter_photos(self, after: date | str | None = None, before: date | str | None = None,
                      person: str | Sequence[str] | None = None, place: str | None = None,
                      camera: str | None = None, tag: str | Sequence[str] | None = None,
                      photo_ids: Sequence[int] | None = None) -> np.ndarray | None:
        """The photo ids every given filter admits (None: no filter given)."""
        keep: set[int] | None = None

        def narrow(ids: Any) -> None:
            nonlocal keep
            got = {int(i) for i in ids}
            keep = got if keep is None else keep & got

        if photo_ids is not None:
            narrow(photo_ids)
        if after is not None or before is not None or camera:
            where, params = _date_where(after, before)
            if camera:  # part of "make model", any case
                where.append("instr(lower(trim(coalesce(m.camera_make, '') || ' ' || "
                             "coalesce(m.camera_model, ''))), ?) > 0")
                params.append(camera.lower())
            narrow(self.catalog.frame(
                "SELECT p.photo_id FROM photos p LEFT JOIN dates d USING (photo_id) "
                f"LEFT JOIN media m USING (photo_id) WHERE {' AND '.join(where)}", params,
                schema={"photo_id": pl.Int64})["photo_id"])
        names = [person] if isinstance(person, str) else list(person or [])
        if names:
            faces = self.faces(encodings=False).select(
                "photo_id", name=pl.col("person_name").str.to_lowercase())
            for name in names:
                narrow(faces.filter(pl.col("name") == name.lower())["photo_id"])
        if place:
            pl_ = self.places()
            low = place.lower()
            narrow(pl_.filter(pl.any_horizontal(
                pl.col(c).str.to_lowercase() == low
                for c in ("country", "country_code", "region", "subregion", "city",
                          "locality")))["photo_id"])
        wanted = [tag] if isinstance(tag, str) else list(tag or [])
        if wanted:
            tags = self.semantic.scene_tags()
            for t in wanted:
                narrow(tags.filter(pl.col("tag") == t)["photo_id"])
        return None if keep is None else np.array(sorted(keep), np.int64)


def _seconds(value: str | None) -> str | None:
    """An exposure time as photographers write it: "1/75 s", "2 s"."""
    try:
        t = float(value) if value else None
    except ValueError:
        return f"{value} s"
    if t is None or t <= 0:
        return None
    return f"1/{round(1 / t)} s" if t < 1 else f"{t:g} s"


def _mm(value: str | None) -> str | None:
    try:
        return f"{float(value):g} mm" if value else None
    except ValueError:
        return str(value)


def _date_where(after: date | str | None, before: date | str | None
                ) -> tuple[list[str], list[Any]]:
    """SQL conditions (on `photos p`, `dates d`) for present photos within the bounds; ISO
    text compares as the dates it holds."""
    where, params = [SHOWN], []
    if after is not None:
        where.append("d.taken_at >= ?")
        params.append(_when(after).isoformat())
    if before is not None:
        where.append("d.taken_at < ?")
        params.append(_when(before, end=True).isoformat())
    return where, params


def _when(value: date | datetime | str, end: bool = False) -> datetime:
    """A filter bound; a date alone covers its whole day (both bounds include it)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value or ":" in value else \
            date.fromisoformat(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    d = datetime(value.year, value.month, value.day)
    return d + timedelta(days=1) if end else d
