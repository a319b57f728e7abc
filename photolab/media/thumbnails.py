"""Thumbnails stage: WebP thumbnails in three sizes, content-addressed on disk.

libvips `thumbnail` decodes with shrink-on-load, applies the EXIF orientation and converts
to sRGB. Formats this libvips build cannot decode (HEVC-coded HEIC, JPEG XL) go through
Pillow with pillow-heif / pillow-jxl-plugin; videos get a poster frame from ffmpeg.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import polars as pl
import pyvips

from ..errors import ToolNotFoundError
from .paths import utf8_paths
from .raw import is_raw, load_raw

THUMBS_SCHEMA = {"photo_id": pl.Int64, "source": pl.String, "error": pl.String}
DEFAULT_SIZES = {"big": 1080, "small": 500, "tiny": 250}
PILLOW_MIMES = ("image/heic", "image/heif", "image/heif-sequence", "image/heic-sequence",
                "image/jxl")
_VIPS_CANNOT = ("not a known file format", "heif: ", "compression format")


def thumb_path(root: Path, content_hash: str, size: str) -> Path:
    """Where the thumbnail of some content lives: `root/ab/abcdef…-size.webp`."""
    return root / content_hash[:2] / f"{content_hash}-{size}.webp"


def _srgb8(im: pyvips.Image) -> pyvips.Image:
    if im.interpretation not in ("srgb", "b-w") or im.format != "uchar":
        im = im.colourspace("srgb")
    if im.format != "uchar":
        im = im.cast("uchar")
    return im


def _from_pillow(path: str, longest: int, max_pixels: int) -> pyvips.Image:
    import pillow_heif
    import pillow_jxl  # noqa: F401  (registers the JPEG XL opener)
    from PIL import Image, ImageOps

    pillow_heif.register_heif_opener()
    Image.MAX_IMAGE_PIXELS = max_pixels
    with Image.open(path) as im:
        im.draft("RGB", (longest, longest))
        im = ImageOps.exif_transpose(im)
        icc = im.info.get("icc_profile")
        if im.mode not in ("RGB", "RGBA", "L"):
            im = im.convert("RGBA" if "A" in im.mode else "RGB")
        im.thumbnail((longest, longest))
        out = pyvips.Image.new_from_array(np.asarray(im))
    out = out.copy(interpretation="b-w" if out.bands == 1 else "srgb")
    if icc:
        out.set_type(pyvips.GValue.blob_type, "icc-profile-data", icc)
        out = out.icc_transform("srgb", embedded=True)
    return out


def _poster(path: str, longest: int, ffmpeg: str) -> pyvips.Image:
    """A frame one second in (or the first frame of a shorter clip), rotation applied."""
    for seek in ("1", "0"):
        run = subprocess.run(
            [ffmpeg, "-v", "error", "-ss", seek, "-i", path, "-frames:v", "1",
             "-f", "image2pipe", "-c:v", "png", "-"], capture_output=True, timeout=120)
        if run.returncode == 0 and run.stdout:
            return pyvips.Image.thumbnail_buffer(run.stdout, longest, height=longest,
                                                 size="down")
    raise ValueError(f"ffmpeg: {run.stderr.decode(errors='replace').strip()[-300:]}")


class DamagedImage(ValueError):
    """The file decoded only in part; `.image` holds what decoded."""

    def __init__(self, message: str, image: pyvips.Image):
        super().__init__(f"damaged image data, thumbnail shows what decodes: {message}")
        self.image = image


_TRUNCATED_LOCK = threading.Lock()


class _DecodeLock:
    """Decodes share it; a decode that failed runs again holding it alone.

    libvips keeps one error buffer per process: messages of threads failing at once run
    together ("vipspng: ... VipsJpeg: ..."), or one thread takes another's. A failed file is
    therefore decoded once more with no other decode running, so its error (or its damaged-
    image warning) describes that file only, and reads the same on one thread, on many, or
    on a Ray worker. Failures are rare; this costs them one more decode.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._alone = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._alone)
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                self._cond.notify_all()

    @contextmanager
    def alone(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._alone)
            self._alone = True  # no new shared decode starts
            self._cond.wait_for(lambda: self._shared == 0)
        try:
            pyvips.vips_lib.vips_error_clear()  # what other threads left behind
            # and what libvips cached of earlier loads (a cached header changes the message)
            keep = pyvips.cache_get_max()
            pyvips.cache_set_max(0)
            pyvips.cache_set_max(keep)
            yield
        finally:
            with self._cond:
                self._alone = False
                self._cond.notify_all()


_DECODE = _DecodeLock()


def _partial(path: str, longest: int, max_pixels: int) -> pyvips.Image:
    """What decodes of a damaged file: libvips leniently, else Pillow's truncated mode."""
    try:
        return _vips_thumbnail(path, longest, "none")
    except pyvips.Error:
        from PIL import ImageFile

        with _TRUNCATED_LOCK:  # a process-wide Pillow switch: only on for this decode
            ImageFile.LOAD_TRUNCATED_IMAGES = True
            try:
                return _srgb8(_from_pillow(path, longest, max_pixels)).copy_memory()
            finally:
                ImageFile.LOAD_TRUNCATED_IMAGES = False


def _vips_thumbnail(path: str, longest: int, fail_on: str, icc: bool = True) -> pyvips.Image:
    extra = {"export_profile": "srgb"} if icc else {}
    im = pyvips.Image.thumbnail(path, longest, height=longest, size="down", fail_on=fail_on,
                                **extra)
    return _srgb8(im).copy_memory()


def load_for_thumbnail(path: str, mime: str | None, longest: int,
                       max_pixels: int = 400_000_000,
                       raw_preview_min_px: int = 1440) -> tuple[pyvips.Image, str]:
    """The largest thumbnail of one file as an 8-bit sRGB image, upright, and how it was
    made (`photolab.media.raw.SOURCES`)."""
    if mime and mime.startswith("video/"):
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg is None:
            raise ToolNotFoundError("ffmpeg is not installed: run scripts/setup.sh")
        return _srgb8(_poster(path, longest, ffmpeg)), "ffmpeg"
    if is_raw(mime):
        im, source = load_raw(path, longest, raw_preview_min_px, max_pixels)
        if max(im.width, im.height) > longest:
            im = im.thumbnail_image(longest, height=longest, size="down")
        return _srgb8(im).copy_memory(), source
    if mime not in PILLOW_MIMES:
        try:
            header = pyvips.Image.new_from_file(path, access="sequential")
            if header.width * header.height > max_pixels:
                raise ValueError(f"image too large: {header.width}x{header.height} pixels "
                                 f"(max_pixels={max_pixels}), refused as a decompression bomb")
            # colour-manage only what carries a profile: the rest is sRGB already
            icc = header.get_typeof("icc-profile-data") != 0
            return _vips_thumbnail(path, longest, "error", icc), "libvips"
        except pyvips.Error as e:
            if not any(s in str(e) for s in _VIPS_CANNOT):  # damaged: keep what decodes
                try:
                    partial = _partial(path, longest, max_pixels)
                except (pyvips.Error, OSError) as e2:
                    raise ValueError(f"damaged image data, nothing decodes: {_clean(e)}") from e2
                raise DamagedImage(_clean(e), partial) from e
    return _srgb8(_from_pillow(path, longest, max_pixels)), "pillow"


#: libvips' generic trailers: whether one is in the buffer depends on its threads' timing
_VIPS_TRAILER = re.compile(r"^(unable to |\w+: load error$)")


def _clean(e: Exception) -> str:
    """The decoder's message: each line once, without libvips' generic trailers."""
    lines = dict.fromkeys(ln.strip() for ln in str(e).splitlines())
    text = " ".join(ln for ln in lines if ln and not _VIPS_TRAILER.match(ln))
    return text[:500] or "undecodable image (the decoder gave no reason)"


def make_thumbnails(files: pl.DataFrame, out_dir: Path, sizes: Mapping[str, int] | None = None,
                    quality: int = 80, effort: int = 2, workers: int = 2,
                    max_pixels: int = 400_000_000, raw_preview_min_px: int = 1440,
                    on_done: Callable[[int], None] | None = None) -> pl.DataFrame:
    """Write big/small/tiny WebP thumbnails for a frame of photos.

    Parameters
    ----------
    files : `photo_id`, `path_raw`, `content_hash`, `mime`.
    out_dir : the library's `thumbs/` folder; files go to `thumb_path(out_dir, hash, size)`.
    sizes : name -> long side in pixels, largest first ({"big": 1080, "small": 500,
        "tiny": 250}); an image smaller than a size is not enlarged.
    quality : WebP quality.
    effort : WebP encoder effort, 0-6 (2 is 2.5x faster than libvips' default 4 for files
        about 3% larger, measured on 12 MP photos).
    workers : threads (libvips releases the GIL while it decodes).
    max_pixels : larger images are refused as decompression bombs.
    raw_preview_min_px : a camera RAW's embedded preview is used when its short side is at
        least this; otherwise its sensor data is decoded (`photolab.media.raw`).

    Returns
    -------
    Frame with `photo_id`, `source` (how the picture was made: `photolab.media.raw.SOURCES`;
    null when nothing was written) and `error` (null when all sizes were written).
    """
    sizes = dict(sorted((sizes or DEFAULT_SIZES).items(), key=lambda kv: -kv[1]))

    def load(path: str, mime: str | None) -> tuple[pyvips.Image, str, str | None]:
        try:
            im, source = load_for_thumbnail(path, mime, next(iter(sizes.values())),
                                            max_pixels, raw_preview_min_px)
            return im.copy_memory(), source, None  # decoded once, reused
        except DamagedImage as e:
            return e.image, "libvips", str(e)

    def write(im: pyvips.Image, content_hash: str) -> None:
        for name, px in sizes.items():
            if max(im.width, im.height) > px:
                im = im.thumbnail_image(px, height=px, size="down").copy_memory()
            dest = thumb_path(out_dir, content_hash, name)
            dest.parent.mkdir(parents=True, exist_ok=True)
            # unique per writer: byte-identical files share their thumbnails, and two
            # threads or processes may write the same one at once
            tmp = dest.with_suffix(f".{uuid.uuid4().hex}.tmp.webp")
            im.webpsave(str(tmp), Q=quality, effort=effort, keep=0)
            tmp.replace(dest)

    def one(row: dict) -> tuple[str | None, str | None]:
        """(how the picture was made, the error)."""
        try:
            with utf8_paths([row["path_raw"]]) as (path,):
                # every libvips call of a file runs under the shared lock, so a failed file
                # decoded again alone has the process (and its error buffer) to itself
                with _DECODE.shared():
                    try:
                        im, source, warning = load(path, row["mime"])
                    except (pyvips.Error, OSError, ValueError, UnicodeDecodeError):
                        # any failure (Pillow's OSError too: another thread's message in
                        # libvips' buffer can send a file to Pillow) is decoded again alone
                        im, source, warning = None, "", ""
                    if warning is None:
                        write(im, row["content_hash"])
                        return source, None
                with _DECODE.alone():  # its own message (see _DecodeLock)
                    im, source, warning = load(path, row["mime"])
                    write(im, row["content_hash"])
            return source, warning
        except UnicodeDecodeError:  # libvips passed on a message of raw file bytes
            return None, "undecodable image (the decoder's message was not text)"
        except (pyvips.Error, OSError, ValueError, subprocess.SubprocessError) as e:
            return None, _clean(e)
        except Exception as e:  # a decoder bug must not stop the run
            return None, f"{type(e).__name__}: {_clean(e)}"
        finally:
            if on_done:
                on_done(1)

    with ThreadPoolExecutor(max(1, workers)) as pool:
        made = list(pool.map(one, files.select("path_raw", "content_hash", "mime")
                             .iter_rows(named=True)))
    return pl.DataFrame({"photo_id": files["photo_id"], "source": [m[0] for m in made],
                         "error": [m[1] for m in made]}, schema=THUMBS_SCHEMA)
