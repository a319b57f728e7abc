"""Export to share: copies of photos (originals, or 1080 px JPEGs) named by their date, with
their dates and places written into the copies by exiftool. The originals are only read.

The copies are made in a hidden folder beside the destination, which takes the
destination's name only when every copy is there: a run that fails or is killed leaves no
half-filled folder behind (and the hidden one is removed on failure).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import PhotolabError, ToolNotFoundError

SIZES = ("original", "big")
EXPORT_SCHEMA = {"photo_id": pl.Int64, "source": pl.String, "file": pl.String,
                 "status": pl.String, "error": pl.String}
#: exiftool options for every copy: quiet about minor problems, no `_original` backups
EXIFTOOL_COMMON = ["-q", "-m", "-overwrite_original", "-charset", "filename=utf8"]


def check_destination(dest: Path) -> None:
    """A clear error, before anything is written, when `dest` cannot take the export: it
    exists and is not an empty folder, or its parent cannot be written."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise PhotolabError(f"{dest} exists and is not an empty folder: export to a new one")
    parent = dest.parent
    if not parent.is_dir():
        raise PhotolabError(f"cannot export to {dest}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PhotolabError(f"cannot export to {dest}: {parent} cannot be written")


def file_names(rows: pl.DataFrame, size: str) -> list[str]:
    """A name per photo by its date, `2019-05-12_14-03-22.jpg` (`_2`, `_3`... when two share
    a second), `undated_<name>` without a date; the original's suffix, `.jpg` for `big`
    stills."""
    seen: dict[str, int] = {}
    out = []
    for path, taken, mime in rows.select("path", "taken_at", "mime").iter_rows():
        p = Path(path)
        still = not (mime or "").startswith("video/")
        suffix = ".jpg" if size == "big" and still else p.suffix.lower()
        stem = taken.strftime("%Y-%m-%d_%H-%M-%S") if taken is not None else f"undated_{p.stem}"
        n = seen.get(stem.lower() + suffix, 0) + 1
        seen[stem.lower() + suffix] = n
        out.append(f"{stem}{'' if n == 1 else f'_{n}'}{suffix}")
    return out


def metadata_args(row: dict[str, Any]) -> list[str]:
    """exiftool arguments that write a photo's date and place into its copy."""
    args = []
    video = (row["mime"] or "").startswith("video/")
    if row["taken_at"] is not None:
        stamp = row["taken_at"].strftime("%Y:%m:%d %H:%M:%S")
        if video:  # QuickTime dates are UTC by the standard; the zone goes with them
            args += ["-api", "QuickTimeUTC", f"-QuickTime:CreateDate={stamp}"
                     + (row["tz_offset"] or ""), f"-Keys:CreationDate={stamp}"
                     + (row["tz_offset"] or "")]
        else:
            args += [f"-AllDates={stamp}"]
            if row["tz_offset"]:
                args += [f"-OffsetTimeOriginal={row['tz_offset']}"]
    if row["lat"] is not None and row["lon"] is not None:
        lat, lon = float(row["lat"]), float(row["lon"])
        if video:
            args += [f"-Keys:GPSCoordinates={lat:.6f}, {lon:.6f}"]
        else:
            args += [f"-GPSLatitude={abs(lat):.7f}", f"-GPSLatitudeRef={'N' if lat >= 0 else 'S'}",
                     f"-GPSLongitude={abs(lon):.7f}",
                     f"-GPSLongitudeRef={'E' if lon >= 0 else 'W'}"]
    for tag, col in (("City", "city"), ("State", "region"), ("Country", "country")):
        if row[col]:
            args.append(f"-XMP-photoshop:{tag}={row[col]}")
    return args


def _big_jpeg(src: bytes, dest: Path, px: int) -> None:
    import pyvips

    im = pyvips.Image.thumbnail(os.fsdecode(src), px, height=px, size="down")
    im.jpegsave(str(dest), Q=88, keep="none")


def export_files(rows: pl.DataFrame, raw: dict[int, bytes], dest: Path, size: str,
                 big_px: int, tick: Callable[[int], None] = lambda n: None) -> pl.DataFrame:
    """Copy `rows` (`photo_id`, `path`, `taken_at`, `tz_offset`, `mime`, `lat`, `lon`,
    `city`, `region`, `country`) into the new folder `dest`; `raw` maps photo ids to their
    exact paths. Returns `photo_id`, `source`, `file`, `status` (`exported`, or `no
    metadata` when exiftool could not write the copy's format), `error`.

    A photo that cannot be read or converted is `failed`, with why, and the rest go on; a
    destination that cannot be written stops the export with nothing left behind."""
    import exiftool

    if size not in SIZES:
        raise PhotolabError(f"size {size!r}: one of {SIZES}")
    check_destination(dest)
    if shutil.which("exiftool") is None:
        raise ToolNotFoundError("exiftool is not installed: run scripts/setup.sh")
    try:
        work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    except OSError as e:
        raise PhotolabError(f"cannot export to {dest}: {e}") from e
    out = []
    try:
        with exiftool.ExifTool(common_args=EXIFTOOL_COMMON) as et:
            for row, name in zip(rows.iter_rows(named=True), file_names(rows, size),
                                 strict=True):
                src = raw[row["photo_id"]]
                target = work / name
                video = (row["mime"] or "").startswith("video/")
                try:
                    if size == "big" and not video:
                        _big_jpeg(src, target, big_px)
                    else:
                        shutil.copyfile(src, target)
                except OSError as e:
                    if not os.path.exists(src):
                        out.append((row["photo_id"], row["path"], None, "failed",
                                    f"cannot read the original: {e}"))
                        tick(1)
                        continue
                    raise
                except Exception as e:  # libvips cannot decode it: this photo only
                    target.unlink(missing_ok=True)
                    out.append((row["photo_id"], row["path"], None, "failed",
                                f"cannot convert: {str(e).strip()[:300]}"))
                    tick(1)
                    continue
                status, error = "exported", None
                if args := metadata_args(row):
                    et.execute(*args, str(target))
                    if et.last_status != 0:
                        status = "no metadata"
                        error = (et.last_stderr or et.last_stdout or "").strip()[:300]
                out.append((row["photo_id"], row["path"], str(dest / name), status, error))
                tick(1)
        if dest.exists():
            dest.rmdir()  # empty (checked above)
        work.rename(dest)
    except OSError as e:  # the destination: full, gone, not writable
        shutil.rmtree(work, ignore_errors=True)
        raise PhotolabError(f"export to {dest} stopped: {e}; nothing was left there") from e
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return pl.DataFrame(out, schema=EXPORT_SCHEMA, orient="row")
