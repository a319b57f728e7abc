"""Metadata stage: every tag exiftool reads, through one long-lived `-stay_open` process.

The full tag set is kept as a JSON object per photo (`tags`, keys like "EXIF:Make"); the
columns a library needs everywhere (mime, size, orientation, GPS, camera) are derived from it
with Polars expressions.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import exiftool
import polars as pl

from ..errors import ToolNotFoundError
from .paths import utf8_paths

EXIFTOOL_ARGS = ["-G", "-n", "-api", "LargeFileSupport=1"]

MEDIA_SCHEMA = {"photo_id": pl.Int64, "mime": pl.String, "width": pl.Int64, "height": pl.Int64,
                "orientation": pl.Int64, "duration_s": pl.Float64, "lat": pl.Float64,
                "lon": pl.Float64, "camera_make": pl.String, "camera_model": pl.String,
                "keywords": pl.String, "rating": pl.Int64, "title": pl.String,
                "description": pl.String, "file_people": pl.String, "favorite": pl.Boolean,
                "albums": pl.String, "tags": pl.String, "error": pl.String}
#: hierarchical keyword roots that are not keywords (photolab writes places and people there)
NOT_KEYWORDS = ("Places", "People")


class ExifReader:
    """A long-lived exiftool process that reads tags of many files per call.

    Example
    -------
    >>> with ExifReader() as et:
    ...     tags, error = et.read([b"/nonexistent.jpg"])[0]
    >>> error
    'exiftool: File not found'
    """

    def __init__(self, executable: str = "exiftool"):
        path = shutil.which(executable)
        if path is None:
            raise ToolNotFoundError(
                f"{executable} is not installed: run scripts/setup.sh, or "
                "`apt-get install libimage-exiftool-perl`")
        self._et = exiftool.ExifTool(executable=path, common_args=EXIFTOOL_ARGS)
        # pyexiftool ties the process to the thread that starts it (PR_SET_PDEATHSIG), so
        # each reader owns one thread that starts, uses and stops its process
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="exiftool")
        self._closed = False

    def __enter__(self) -> ExifReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the exiftool process (idempotent)."""
        if self._closed:
            return
        self._closed = True

        def stop() -> None:
            if self._et.running:
                self._et.terminate()

        self._thread.submit(stop).result()
        self._thread.shutdown()

    def _run(self, paths: Sequence[bytes]) -> list[dict[str, Any]]:
        if not self._et.running:
            self._et.run()
        out = self._et.execute(b"-j", *paths, raw_bytes=True)
        text = out.decode("utf-8", "replace").strip() if out else ""
        return json.loads(text) if text else []

    def submit(self, paths: Sequence[bytes]) -> Future[list[tuple[dict[str, Any] | None,
                                                                 str | None]]]:
        """Start reading on this reader's own thread; `.result()` gives what `read` gives."""
        return self._thread.submit(self._read, paths)

    def read(self, paths: Sequence[bytes]) -> list[tuple[dict[str, Any] | None, str | None]]:
        """Tags of each file, in order: `(tags, None)` or `(None, error message)`."""
        return self.submit(paths).result()

    def _read(self, paths: Sequence[bytes]) -> list[tuple[dict[str, Any] | None, str | None]]:
        if not paths:
            return []
        with utf8_paths(paths) as names:
            try:
                found = self._run([os.fsencode(n) for n in names])
            except Exception:  # a crashed batch: fall back to one file at a time
                found = []
        shown = names
        if [d.get("SourceFile") for d in found] != shown:
            if len(paths) == 1:
                return [(None, "exiftool: File not found" if not found
                         else "exiftool: unexpected output")]
            return [r for p in paths for r in self._read([p])]
        results: list[tuple[dict[str, Any] | None, str | None]] = []
        for d in found:
            d.pop("SourceFile", None)
            error = d.get("ExifTool:Error")
            results.append((d, f"exiftool: {error}" if error else None))
        return results


def read_metadata(files: pl.DataFrame, readers: Sequence[ExifReader] | None = None,
                  batch_size: int = 64,
                  on_done: Callable[[int], None] | None = None) -> pl.DataFrame:
    """Read metadata of a frame of files (`photo_id`, `path_raw`).

    Parameters
    ----------
    files : frame with `photo_id` and `path_raw`.
    readers : open `ExifReader`s to reuse; batches are shared out among them, each in its
        own exiftool process (one is started, and stopped, when omitted).
    batch_size : files per exiftool call.

    Returns
    -------
    Frame keyed by `photo_id` with `mime`, `width`, `height` (as displayed, after the
    orientation), `orientation`, `duration_s`, `lat`, `lon`, `camera_make`, `camera_model`,
    `tags` (JSON of every tag) and `error`.
    """
    own = not readers
    pool_readers = list(readers) if readers else [ExifReader()]
    paths = files["path_raw"].to_list()
    chunks = [paths[i:i + batch_size] for i in range(0, len(paths), batch_size)]
    n = len(pool_readers)
    try:
        futures = [pool_readers[k % n].submit(chunk) for k, chunk in enumerate(chunks)]
        parts = []
        for chunk, fut in zip(chunks, futures, strict=True):
            parts.append(fut.result())
            if on_done:
                on_done(len(chunk))
        found = [r for part in parts for r in part]
        found, sides = _merge_sidecars(paths, found, pool_readers, batch_size)
    finally:
        if own:
            pool_readers[0].close()
    found = _merge_takeout(paths, found)
    raw = pl.DataFrame(
        {"photo_id": files["photo_id"],
         "tags": [json.dumps(d, ensure_ascii=False) if d is not None else None
                  for d, _ in found],
         "error": [e for _, e in found]},
        schema={"photo_id": pl.Int64, "tags": pl.String, "error": pl.String})
    curation = pl.DataFrame([curation_fields(side or d)
                             for (d, _), side in zip(found, sides, strict=True)],
                            schema={"keywords": pl.String, "rating": pl.Int64,
                                    "title": pl.String, "description": pl.String,
                                    "file_people": pl.String, "favorite": pl.Boolean,
                                    "albums": pl.String})
    return derive_columns(pl.concat([raw, curation], how="horizontal"))


Found = list[tuple[dict[str, Any] | None, str | None]]


def _merge_sidecars(paths: Sequence[bytes], found: Found,
                    readers: Sequence[ExifReader], batch_size: int,
                    ) -> tuple[Found, list[dict[str, Any] | None]]:
    """Read each photo's XMP sidecar and let its XMP tags win over the file's own (the sidecar
    is what digiKam, darktable and Lightroom edit). Returns the merged tags and each photo's
    sidecar tags (what curation is read from when there is one). An unreadable sidecar is an
    error for its photo. Uses the caller's exiftool processes."""
    from .sidecars import find_sidecar

    cars = [find_sidecar(p) for p in paths]
    todo = [c for c in cars if c is not None]
    sides: list[dict[str, Any] | None] = [None] * len(found)
    if not todo:
        return found, sides
    chunks = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)]
    futures = [readers[k % len(readers)].submit(ch) for k, ch in enumerate(chunks)]
    read = dict(zip(todo, [r for f in futures for r in f.result()], strict=True))
    out = []
    for i, ((d, err), car) in enumerate(zip(found, cars, strict=True)):
        if car is not None and d is not None:
            side, side_err = read[car]
            if side_err or side is None or not any(k.startswith("XMP:") for k in side):
                err = err or f"sidecar {os.path.basename(car).decode(errors='replace')}: " \
                             f"{side_err or 'no XMP in it'}"
            else:
                sides[i] = {k: v for k, v in side.items() if k.startswith("XMP:")}
                d = {**d, **sides[i], "Photolab:Sidecar": os.fsdecode(car)}
        out.append((d, err))
    return out, sides


def _merge_takeout(paths: Sequence[bytes], found: Found) -> Found:
    """Add what a Google Takeout JSON sidecar says ("Takeout:*" tags). A sidecar that is not
    valid JSON is an error for its photo; the file's own tags are kept."""
    from . import takeout

    out = []
    for path, (d, err) in zip(paths, found, strict=True):
        cars = takeout.find_sidecars(path)
        if cars and d is not None:
            name = os.path.basename(cars[0]).decode(errors="replace")
            try:
                d = {**d, **takeout.read_sidecar(cars[0])}
            except (OSError, ValueError, TypeError, AttributeError) as e:
                err = err or f"takeout sidecar {name}: {e}"
            if len(cars) > 1:
                others = ", ".join(os.path.basename(c).decode(errors="replace")
                                   for c in cars[1:])
                err = err or f"takeout: several sidecars name this photo: used {name}, " \
                             f"not {others}"
        out.append((d, err))
    return out


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in items if str(v).strip()]


def curation_fields(d: dict[str, Any] | None) -> dict[str, Any]:
    """Keywords, rating, title, description and people a file (and its sidecar) names.

    Keywords: dc:subject, IPTC Keywords, and the leaves of Lightroom's hierarchicalSubject
    ("A|B|C") and digiKam's TagsList ("A/B/C") outside the Places and People roots. People:
    Iptc4xmpExt PersonInImage, face region names (MWG, Microsoft) and People|Name entries;
    names of people are not also keywords.
    """
    if d is None:
        return {"keywords": None, "rating": None, "title": None, "description": None,
                "file_people": None, "favorite": None, "albums": None}
    people = set(_as_list(d.get("XMP:PersonInImage"))) | set(_as_list(d.get("XMP:RegionName")))
    people |= set(_as_list(d.get("Takeout:People")))
    people |= set(_as_list(d.get("XMP:RegionPersonDisplayName")))
    keywords = set(_as_list(d.get("XMP:Subject"))) | set(_as_list(d.get("IPTC:Keywords")))
    for key, sep in (("XMP:HierarchicalSubject", "|"), ("XMP:TagsList", "/")):
        for path in _as_list(d.get(key)):
            parts = [p for p in path.split(sep) if p]
            if not parts:
                continue
            if parts[0] == "People" and len(parts) > 1:
                people.add(parts[-1])
            elif parts[0] not in NOT_KEYWORDS:
                keywords.add(parts[-1])
    rating = d.get("XMP:Rating", d.get("EXIF:Rating"))
    try:
        rating = int(float(rating)) if rating is not None else None
    except (TypeError, ValueError):
        rating = None

    def text(*keys: str) -> str | None:
        for k in keys:
            v = _as_list(d.get(k))
            if v:
                return v[0]
        return None

    return {"keywords": json.dumps(sorted(keywords - people), ensure_ascii=False),
            "rating": rating if rating is None or -1 <= rating <= 5 else None,
            "title": text("XMP:Title", "IPTC:ObjectName"),
            "description": text("XMP:Description", "IPTC:Caption-Abstract",
                                "EXIF:ImageDescription", "Takeout:Description"),
            "favorite": bool(d.get("Takeout:Favorited")),
            "albums": json.dumps(_as_list(d.get("Takeout:Album")), ensure_ascii=False),
            "file_people": json.dumps(sorted(people), ensure_ascii=False)}


def tag(name: str) -> pl.Expr:
    """A Polars expression reading one exiftool tag (string) out of the `tags` JSON column."""
    return pl.col("tags").str.json_path_match(f"$['{name}']")


def first_tag(*names: str) -> pl.Expr:
    return pl.coalesce([tag(n).str.strip_chars().replace("", None) for n in names])


def derive_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Derive the typed media columns from the `tags` JSON column."""
    size = first_tag("Composite:ImageSize").str.split_exact(" ", 1)
    num = pl.Float64
    mime = tag("File:MIMEType")
    is_video = mime.str.starts_with("video/")
    rotated = (tag("EXIF:Orientation").cast(pl.Int64, strict=False).is_between(5, 8)
               | tag("Composite:Rotation").cast(num, strict=False).is_in([90.0, 270.0]))
    # an XMP sidecar's position wins over the file's (someone placed the photo)
    in_sidecar = tag("Photolab:Sidecar").is_not_null()
    lat = pl.coalesce(pl.when(in_sidecar).then(tag("XMP:GPSLatitude").cast(num, strict=False)),
                      tag("Composite:GPSLatitude").cast(num, strict=False))
    lon = pl.coalesce(pl.when(in_sidecar).then(tag("XMP:GPSLongitude").cast(num, strict=False)),
                      tag("Composite:GPSLongitude").cast(num, strict=False))
    valid_gps = (lat.abs() <= 90) & (lon.abs() <= 180) & ~((lat == 0) & (lon == 0))
    out = frame.with_columns(
        mime=mime,
        w=size.struct.field("field_0").cast(pl.Int64, strict=False),
        h=size.struct.field("field_1").cast(pl.Int64, strict=False),
        rotated=rotated.fill_null(False),
        orientation=tag("EXIF:Orientation").cast(pl.Int64, strict=False),
        duration_s=pl.when(is_video).then(
            first_tag("QuickTime:Duration", "Composite:Duration", "Matroska:Duration")
            .cast(num, strict=False)),
        # a Takeout sidecar's position where the file has none (Google strips it)
        lat=pl.when(valid_gps).then(lat).otherwise(
            tag("Takeout:GPSLatitude").cast(num, strict=False)),
        lon=pl.when(valid_gps).then(lon).otherwise(
            tag("Takeout:GPSLongitude").cast(num, strict=False)),
        camera_make=first_tag("EXIF:Make", "QuickTime:Make", "MakerNotes:Make"),
        camera_model=first_tag("EXIF:Model", "QuickTime:Model", "MakerNotes:Model"),
    ).with_columns(
        width=pl.when(pl.col("rotated")).then(pl.col("h")).otherwise(pl.col("w")),
        height=pl.when(pl.col("rotated")).then(pl.col("w")).otherwise(pl.col("h")),
        error=pl.coalesce(
            pl.col("error"),
            pl.when(pl.col("mime").is_not_null()
                    & ~pl.col("mime").str.contains(r"^(image|video)/"))
            .then(pl.format("not a photo or video: content is {}", pl.col("mime"))),
            pl.when(pl.col("mime").is_null() & pl.col("tags").is_not_null())
            .then(pl.lit("exiftool: unknown file type")),
        ),
    )
    return out.select(list(MEDIA_SCHEMA)).cast(MEDIA_SCHEMA)  # type: ignore[arg-type]
