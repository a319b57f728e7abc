"""Hashes stage: a 64-bit pHash of the upright small thumbnail, a digest of the decoded
image data, so copies that differ only in metadata are exact duplicates, and the
thumbnail's sharpness (what picks an event's cover or a memory)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import imagehash
import numpy as np
import polars as pl
import pyvips
from PIL import Image, ImageOps

from ..media.paths import utf8_paths
from ..media.sharpness import laplacian_variance
from ..media.thumbnails import thumb_path

HASH_SCHEMA = {"photo_id": pl.Int64, "phash": pl.Int64, "phash_mirror": pl.Int64,
               "pixel_hash": pl.String, "sharpness": pl.Float64, "error": pl.String}
PIXEL_HASH_MAX_PIXELS = 50_000_000
_NO_HEADER_SEGMENTS = {*range(0xE0, 0xF0), 0xFE}  # APPn (EXIF, XMP, ICC...) and comments


def to_signed(value: int) -> int:
    """An unsigned 64-bit hash as the signed integer SQLite and Polars Int64 store."""
    return value - (1 << 64) if value >= 1 << 63 else value


def phash_of(path: str | Path, min_contrast: float = 1.0
             ) -> tuple[int | None, int | None, float]:
    """imagehash's 64-bit pHash of an image file and of its mirror image, as signed integers,
    and its sharpness (`laplacian_variance` on a 256 x 256 grid of its grey levels).

    (None, None, sharpness) for a flat image (grey levels at 32x32 vary by less than
    `min_contrast`): every single-colour picture hashes alike, so such images are only exact
    duplicates.
    """
    with Image.open(path) as im:
        grey = im.convert("L")
        sharp = laplacian_variance(np.asarray(grey), grid=256)
        small = np.asarray(grey.resize((32, 32), Image.Resampling.BOX), dtype=float)
        if small.std() < min_contrast:
            return None, None, sharp
        return (to_signed(int(str(imagehash.phash(im)), 16)),
                to_signed(int(str(imagehash.phash(ImageOps.mirror(im))), 16)), sharp)


def jpeg_pixel_digest(data: bytes) -> str | None:
    """Digest of a JPEG's image data (tables, frame header, scans), skipping APPn and
    comment segments: equal for copies whose metadata was edited or stripped."""
    if data[:2] != b"\xff\xd8":
        return None
    h = hashlib.blake2b(digest_size=16)
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        end = pos + 2 + length
        if marker == 0xDA:  # start of scan: the rest up to the end-of-image marker
            eoi = data.find(b"\xff\xd9", end)
            h.update(data[pos:eoi + 2 if eoi >= 0 else len(data)])
            return h.hexdigest()
        if marker not in _NO_HEADER_SEGMENTS:
            h.update(data[pos:end])
        pos = end
    return None


def pixel_digest(path: str, mime: str | None) -> str | None:
    """Digest of the decoded image: JPEG image data, or the pixels libvips decodes."""
    if mime == "image/jpeg":
        with open(path, "rb") as f:
            return jpeg_pixel_digest(f.read())
    if mime is None or not mime.startswith("image/") or "hei" in mime:
        return None
    try:
        im = pyvips.Image.new_from_file(path, access="sequential")
        if im.width * im.height > PIXEL_HASH_MAX_PIXELS:
            return None
        header = f"{im.width}x{im.height}x{im.bands}:{im.format}".encode()
        return hashlib.blake2b(header + im.write_to_memory(), digest_size=16).hexdigest()
    except pyvips.Error:
        return None


def compute_hashes(files: pl.DataFrame, thumbs_dir: Path, workers: int = 2,
                   on_done: Callable[[int], None] | None = None) -> pl.DataFrame:
    """pHash (from the small thumbnail) and pixel digest of a frame of photos.

    Parameters
    ----------
    files : `photo_id`, `path_raw`, `content_hash`, `mime`.
    thumbs_dir : where the thumbnails stage wrote the thumbnails.
    workers : threads.

    Returns
    -------
    Frame with `photo_id`, `phash` (signed Int64, null without a thumbnail or for a flat
    image), `phash_mirror` (of the left-right mirror image), `pixel_hash`, `sharpness` (of the
    small thumbnail, null without one) and `error`.
    """
    def one(row: tuple[int, bytes, str, str | None]) -> tuple:
        pid, raw, digest, mime = row
        phash = mirror = pixel = sharp = error = None
        small = thumb_path(thumbs_dir, digest, "small")
        try:
            if small.exists():
                phash, mirror, sharp = phash_of(small)
            with utf8_paths([raw]) as (path,):
                pixel = pixel_digest(path, mime)
        except (OSError, ValueError) as e:
            error = f"cannot hash: {e}"
        if on_done:
            on_done(1)
        return pid, phash, mirror, pixel, sharp, error

    # threads: Pillow decodes, hashlib and numpy release the GIL
    with ThreadPoolExecutor(max(1, workers)) as pool:
        rows = list(pool.map(one, files.select(
            "photo_id", "path_raw", "content_hash", "mime").iter_rows()))
    return pl.DataFrame(rows, schema=HASH_SCHEMA, orient="row")
