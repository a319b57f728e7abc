"""Browsing the library: the newest photos a page at a time, the filters every gallery and
search combine with (dates, people, places, cameras, scene tags), and result rows.

Pages are read by key from the catalog's date index (`recent(k, after_photo=...)`), never by
loading every photo into the kernel: a page costs the same on the first and the ten
thousandth page of a million photos (benchmarks/catalog.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from .errors import PhotoNotFoundError

if TYPE_CHECKING:
    from .catalog import Catalog

RESULT_SCHEMA = {"photo_id": pl.Int64, "score": pl.Float32, "rank": pl.Int64,
                 "path": pl.String, "taken_at": pl.Datetime("us"), "caption": pl.String}


class BrowseVerbs:
    """Mixed into `Library`: needs `catalog`, `faces()`, `places()`, `scene_tags()`."""

    catalog: Catalog
    faces: Callable[..., pl.DataFrame]
    places: Callable[..., pl.DataFrame]
    scene_tags: Callable[..., pl.DataFrame]

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
        return self._results(hits.with_columns(score=pl.lit(None, pl.Float32)),
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

    def _results(self, hits: pl.DataFrame, by_score: bool = True) -> pl.DataFrame:
        """Number `photo_id`, `score` hits (best first, or in their order) and add what a
        person looks at, read for these photos only."""
        info = self.catalog.frame_in(
            "SELECT p.photo_id, p.path, d.taken_at, c.caption FROM photos p "
            "LEFT JOIN dates d USING (photo_id) LEFT JOIN captions c USING (photo_id) "
            "WHERE p.status = 'present' AND p.photo_id IN ({ids})", hits["photo_id"],
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
            tags = self.scene_tags()
            for t in wanted:
                narrow(tags.filter(pl.col("tag") == t)["photo_id"])
        return None if keep is None else np.array(sorted(keep), np.int64)


def _date_where(after: date | str | None, before: date | str | None
                ) -> tuple[list[str], list[Any]]:
    """SQL conditions (on `photos p`, `dates d`) for present photos within the bounds; ISO
    text compares as the dates it holds."""
    where, params = ["p.status = 'present'"], []
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
