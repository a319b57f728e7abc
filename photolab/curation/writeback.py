"""Give decisions back in the standard form: XMP sidecars (`NAME.ext.xmp`) written by exiftool.

Keywords go to dc:subject (with the names of the people in the photo, as digiKam and Lightroom
do), people also to Iptc4xmpExt:PersonInImage and as MWG face regions (normalised on the
stored image, the form digiKam and Lightroom read), places to lr:hierarchicalSubject
`Places|Country|Region|City`, rating to xmp:Rating, title and description (or photolab's
caption when there is no description) to dc:title / dc:description, corrected dates to
exif:DateTimeOriginal. exiftool changes only those tags, so a sidecar's other contents stay.
Originals are written only with `inplace=True`, after a backup copy, and read back to check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ..errors import PhotolabError
from ..faces.geometry import to_stored

if TYPE_CHECKING:
    from .verbs import WriteBackService

FIELDS = ("keywords", "rating", "people", "places", "title", "description", "dates")
PLAN_SCHEMA = {"photo_id": pl.Int64, "path": pl.String, "target": pl.String,
               "args": pl.List(pl.String), "status": pl.String, "error": pl.String}


def _regions(faces: pl.DataFrame, orientation: int | None) -> str | None:
    """An MWG RegionInfo structure (exiftool's struct syntax) for a photo's named faces."""
    named = faces.filter(pl.col("person_name").is_not_null()
                         & (pl.col("assigned_by") == "user"))  # never a cluster's guess
    if named.height == 0:
        return None
    w, h = named["image_width"][0], named["image_height"][0]
    boxes = named.select(t=pl.col("top") / h, r=pl.col("right") / w, b=pl.col("bottom") / h,
                         l=pl.col("left") / w).to_numpy()
    stored = np.clip(to_stored(boxes, orientation), 0.0, 1.0)
    sw, sh = (h, w) if orientation in (5, 6, 7, 8) else (w, h)
    items = []
    for (t, r, b, le), name in zip(stored, named["person_name"], strict=True):
        clean = str(name).replace(",", " ").replace("}", " ").replace("]", " ")
        items.append(f"{{Area={{X={(le + r) / 2:.6f},Y={(t + b) / 2:.6f},W={r - le:.6f},"
                     f"H={b - t:.6f},Unit=normalized}},Name={clean},Type=Face}}")
    return (f"{{AppliedToDimensions={{W={sw},H={sh},Unit=pixel}},"
            f"RegionList=[{','.join(items)}]}}")


def plan(lib: WriteBackService, photo_ids: Sequence[int] | None,
         fields: Iterable[str]) -> pl.DataFrame:
    """What would be written: per photo its sidecar and the exiftool arguments."""
    fields = tuple(fields)
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise PhotolabError(f"unknown fields {sorted(unknown)}; fields: {FIELDS}")
    photos = lib.photos()
    if photo_ids is not None:
        photos = photos.filter(pl.col("photo_id").is_in([int(i) for i in photo_ids]))
    places = lib.places().select("photo_id", "country", "region", "city")
    faces = lib.faces(encodings=False)
    captions = lib.semantic.captions().select("photo_id", "caption")
    dates = lib.photos.user_dates()
    rows = (photos.join(places, on="photo_id", how="left")
            .join(captions, on="photo_id", how="left").join(dates, on="photo_id", how="left"))
    out = []
    for r in rows.iter_rows(named=True):
        args: list[str] = []
        names = sorted(r["people"] or [])
        if "keywords" in fields or "people" in fields:
            subject = set(r["keywords"] or []) | (set(names) if "people" in fields else set())
            args += ["-XMP-dc:Subject="] + [f"-XMP-dc:Subject={k}" for k in sorted(subject)]
        if "people" in fields:
            args += ["-XMP-iptcExt:PersonInImage="]
            args += [f"-XMP-iptcExt:PersonInImage={n}" for n in names]
            info = _regions(faces.filter(pl.col("photo_id") == r["photo_id"]), r["orientation"])
            if info:
                args.append(f"-XMP-mwg-rs:RegionInfo={info}")
        if "places" in fields and r["country"]:
            path = "|".join(x for x in ("Places", r["country"], r["region"], r["city"]) if x)
            args += [f"-XMP-lr:HierarchicalSubject-={path}",
                     f"-XMP-lr:HierarchicalSubject+={path}"]
        if "rating" in fields and r["rating"] is not None:
            args.append(f"-XMP-xmp:Rating={r['rating']}")
        if "title" in fields and r["title"]:
            args.append(f"-XMP-dc:Title={r['title']}")
        text = r["description"] or r["caption"]
        if "description" in fields and text:
            args.append(f"-XMP-dc:Description={text}")
        if "dates" in fields and r["user_date"]:
            args.append(f"-XMP-exif:DateTimeOriginal={r['user_date']}")
        out.append({"photo_id": r["photo_id"], "path": r["path"],
                    "target": f"{r['path']}.xmp", "args": args, "status": "planned",
                    "error": None})
    return pl.DataFrame(out, schema=PLAN_SCHEMA)


def _exiftool(args: list[str]) -> str | None:
    """Run exiftool; the error text, or None."""
    done = subprocess.run(["exiftool", "-q", "-m", *args], capture_output=True, text=True)
    if done.returncode != 0:
        return (done.stderr or done.stdout).strip() or f"exiftool exited {done.returncode}"
    return None


def _read_back(path: str) -> dict[str, Any]:
    done = subprocess.run(["exiftool", "-j", "-G", "-n", "-XMP:all", path],
                          capture_output=True, text=True)
    return json.loads(done.stdout or "[{}]")[0]


def write_back(lib: WriteBackService, photo_ids: Sequence[int] | None = None,
               fields: Iterable[str] = FIELDS, inplace: bool = False,
               dry_run: bool = False) -> pl.DataFrame:
    """Write decisions to XMP sidecars (or, with `inplace`, into the files after a backup to
    `<library>/backups/`). Returns the plan with `status` (written, unchanged, failed,
    planned) and `error` per photo; the run is a row in the jobs table. A photo whose sidecar
    changed since the last ingest is refused (ingest first, so nothing there is lost)."""
    todo = plan(lib, photo_ids, fields).filter(pl.col("args").list.len() > 0)
    if dry_run:
        return todo
    job = lib.catalog.start_job("write-back", {"fields": list(fields), "inplace": inplace,
                                               "photos": todo.height})
    from ..media.sidecars import signatures

    stored = dict(lib.catalog.frame("SELECT photo_id, sidecar_sig FROM photos").iter_rows())
    statuses, errors = [], []
    for r in todo.iter_rows(named=True):
        raw = os.fsencode(r["path"])
        error = None
        if signatures([raw])[0] != stored.get(r["photo_id"]):
            error = "the sidecar changed since the last ingest: ingest first"
        elif inplace:
            error = _write_inplace(lib, r)
        elif os.path.lexists(r["target"]) and not os.path.isfile(r["target"]):
            error = f"{r['target']} exists and is not a file"
        else:
            target = r["target"]
            # an existing sidecar is edited in place; a missing one is created from scratch
            flags = ["-overwrite_original"] if os.path.exists(target) else []
            error = _exiftool([*flags, *r["args"], target])
        statuses.append("failed" if error else "written")
        errors.append(error)
    result = todo.with_columns(status=pl.Series(statuses, dtype=pl.String),
                               error=pl.Series(errors, dtype=pl.String))
    # the sidecars photolab wrote are what the next ingest reads: remember them as read
    written = result.filter(pl.col("status") == "written")
    if written.height:
        sigs = signatures([os.fsencode(p) for p in written["path"]])
        lib.catalog.set_sidecar_sigs(list(zip(written["photo_id"], sigs, strict=True)))
    n_failed = int((result["status"] == "failed").sum())
    lib.catalog.finish_job(job, "done", {"written": written.height, "failed": n_failed,
                                         "files": written["target"].to_list()}, n_failed, {})
    return result


def _write_inplace(lib: WriteBackService, r: dict[str, Any]) -> str | None:
    src = Path(r["path"])
    backup = lib.root / "backups" / str(r["photo_id"]) / src.name
    backup.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, backup)
    error = _exiftool(["-overwrite_original", *r["args"], str(src)])
    if error is None:
        got = _read_back(str(src))
        want = [a.split("=", 1) for a in r["args"] if "=" in a and not a.endswith("=")
                and "+=" not in a and "-=" not in a and "RegionInfo" not in a]
        for key, value in want:
            tag = "XMP:" + key.split(":", 1)[1]
            have = got.get(tag)
            values = [str(v) for v in (have if isinstance(have, list) else [have])]
            if value not in values:
                error = f"read-back check failed for {tag}"
                break
    if error is not None:
        shutil.copy2(backup, src)  # put the original back
    return error
