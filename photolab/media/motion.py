"""Motion photos: find the video embedded in a still (Google MotionPhoto / MicroVideo,
Samsung), without decoding anything.

Order: the XMP container directory (`Item:Semantic="MotionPhoto"` + `Item:Length`), the
older `GCamera:MicroVideoOffset`, a HEIF `mpvd` box (Samsung HEIC), then a marker search
(`MotionPhoto_Data`, or an MP4 `ftyp` box after the primary image). Every candidate must
start with an `ftyp` box and parse as a chain of MP4 boxes that holds a `moov`.
"""

from __future__ import annotations

import mmap
import re
import struct
from collections.abc import Callable
from pathlib import Path

import polars as pl

MOTION_SCHEMA = {"photo_id": pl.Int64, "has_motion_video": pl.Boolean,
                 "motion_offset": pl.Int64, "motion_length": pl.Int64,
                 "motion_method": pl.String, "error": pl.String}
XMP_SCAN_BYTES = 256 * 1024
_ITEM_RE = re.compile(
    rb"<rdf:li[^>]*>\s*<Container:Item\b([^>]*)>|<Container:Item\b([^>]*)/?>", re.S)
_MP4_BRANDS = (b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"qt  ", b"3gp4", b"3gp5",
               b"MSNV", b"M4V ", b"mp4v")


def mp4_extent(buf: mmap.mmap | bytes, start: int) -> int | None:
    """Length of the chain of top-level MP4 boxes starting at `start` (None if not MP4)."""
    end, pos, boxes = len(buf), start, set()
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", buf[pos:pos + 8])
        if size == 1 and pos + 16 <= end:
            size = struct.unpack(">Q", buf[pos + 8:pos + 16])[0]
        if size < 8 or pos + size > end or (not kind.isalnum() and kind != b"qt  "):
            break
        boxes.add(kind)
        pos += size
    if not boxes or b"ftyp" not in boxes or b"moov" not in boxes:
        return None
    return pos - start


def _check(buf: mmap.mmap, offset: int, method: str) -> tuple[int, int, str] | None:
    if 0 < offset < len(buf) and buf[offset + 4:offset + 8] == b"ftyp":
        length = mp4_extent(buf, offset)
        if length:
            return offset, length, method
    return None


def _xmp_candidates(head: bytes, size: int) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for m in _ITEM_RE.finditer(head):
        attrs = m.group(1) or m.group(2) or b""
        if re.search(rb'Item:Semantic="MotionPhoto"', attrs):
            length = re.search(rb'Item:Length="(\d+)"', attrs)
            padding = re.search(rb'Item:Padding="(\d+)"', attrs)
            if length:
                pad = int(padding.group(1)) if padding else 0
                out.append((size - int(length.group(1)) - pad, "xmp_container"))
    micro = re.search(rb'MicroVideoOffset="(\d+)"', head) or re.search(
        rb"<GCamera:MicroVideoOffset>(\d+)<", head)
    if micro:
        out.append((size - int(micro.group(1)), "micro_video_offset"))
    return out


def _heif_mpvd(buf: mmap.mmap) -> int | None:
    pos = 0
    while pos + 8 <= len(buf):
        size, kind = struct.unpack(">I4s", buf[pos:pos + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", buf[pos + 8:pos + 16])[0], 16
        elif size == 0:
            size = len(buf) - pos
        if size < header:
            return None
        if kind == b"mpvd":
            return pos + header
        pos += size
    return None


def locate_motion_video(path: str | bytes | Path) -> tuple[int, int, str] | None:
    """(offset, length, method) of the MP4 inside a motion photo, or None."""
    with open(path, "rb") as f:
        try:
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # empty file
            return None
    with buf:
        size = len(buf)
        for offset, method in _xmp_candidates(buf[:XMP_SCAN_BYTES], size):
            if found := _check(buf, offset, method):
                return found
        inner = _heif_mpvd(buf) if buf[4:8] == b"ftyp" else None
        if inner is not None and (found := _check(buf, inner, "heif_mpvd")):
            return found
        marker = buf.find(b"MotionPhoto_Data")
        if marker > 0 and (found := _check(buf, marker + 16, "samsung_marker")):
            return found
        pos = buf.find(b"ftyp", 16)
        while pos > 0:
            brand_ok = buf[pos + 4:pos + 8] in _MP4_BRANDS
            if brand_ok and (found := _check(buf, pos - 4, "ftyp_marker")):
                return found
            pos = buf.find(b"ftyp", pos + 4)
    return None


def find_motion_videos(files: pl.DataFrame,
                       on_done: Callable[[int], None] | None = None) -> pl.DataFrame:
    """Locate embedded videos for a frame of photos (`photo_id`, `path_raw`, `mime`).

    Only stills are searched (JPEG, HEIC/HEIF); other rows get `has_motion_video` False.
    """
    rows = []
    for pid, raw, mime in files.select("photo_id", "path_raw", "mime").iter_rows():
        found, error = None, None
        if mime in ("image/jpeg", "image/heic", "image/heif"):
            try:
                found = locate_motion_video(raw)
            except OSError as e:
                error = f"cannot read: {e.strerror or e}"
        rows.append((pid, found is not None, *(found or (None, None, None)), error))
        if on_done:
            on_done(1)
    return pl.DataFrame(rows, schema=MOTION_SCHEMA, orient="row")


def extract_motion_video(path: str | bytes | Path, offset: int, length: int, dest: Path) -> Path:
    """Copy the embedded video's bytes to `dest` (atomically) and return it."""
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(length)
    if len(data) != length or data[4:8] != b"ftyp":
        raise ValueError(f"{path!r} changed: no MP4 at byte {offset}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(dest)
    return dest
