"""Camera RAW files: which files are RAW (by content), and their picture for the thumbnails.

LibRaw (through `rawpy`, whose wheels ship it) reads what cameras write: DNG, CR2, CR3, NEF,
ARW, RAF, ORF, RW2, PEF, SRW and more. As Immich does, the embedded preview is used when it is
large enough (its short side at least `raw_preview_min_px`, 1440 by default: a tiny IFD0
thumbnail never is); otherwise the sensor data is decoded: demosaiced at half size when that
still gives the largest thumbnail (a 24 MP RAW gives 3000 px), with the camera's white balance,
rendered to sRGB, turned upright. Which path made the picture is recorded (`SOURCES`).
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pyvips

from ..errors import ToolNotFoundError

#: exiftool's MIME types of camera RAW formats (read from the file's content, not its name)
RAW_MIMES = frozenset({
    "image/x-adobe-dng", "image/x-canon-cr2", "image/x-canon-cr3", "image/x-canon-crw",
    "image/x-nikon-nef", "image/x-nikon-nrw", "image/x-sony-arw", "image/x-sony-sr2",
    "image/x-sony-srf", "image/x-fujifilm-raf", "image/x-olympus-orf",
    "image/x-panasonic-rw2", "image/x-panasonic-raw", "image/x-pentax-pef",
    "image/x-samsung-srw", "image/x-hasselblad-3fr", "image/x-hasselblad-fff",
    "image/x-kodak-dcr", "image/x-kodak-kdc", "image/x-kodak-k25", "image/x-epson-erf",
    "image/x-mamiya-mef", "image/x-minolta-mrw", "image/x-leica-rwl", "image/x-sigma-x3f",
    "image/x-phaseone-iiq", "image/x-raw"})
#: how a thumbnail was made: `raw-preview` (the RAW's embedded JPEG), `raw-half` and
#: `raw-full` (its sensor data demosaiced at half or full size), and for other files
#: `libvips`, `pillow` (HEIC, JPEG XL) and `ffmpeg` (a video's frame)
SOURCES = ("raw-preview", "raw-half", "raw-full", "libvips", "pillow", "ffmpeg")
#: LibRaw's `flip` -> the turn (clockwise degrees) that shows the picture upright
_FLIP_TURN = {0: 0, 3: 180, 5: 270, 6: 90}
_TURN = {90: "d90", 180: "d180", 270: "d270"}
PREVIEW_TAGS = ("JpgFromRaw", "PreviewImage", "OtherImage", "ThumbnailImage")


def is_raw(mime: str | None) -> bool:
    """Whether exiftool's MIME type names a camera RAW format."""
    return mime in RAW_MIMES


def _upright(im: pyvips.Image, flip: int) -> pyvips.Image:
    turn = _FLIP_TURN.get(flip, 0)
    return im.rot(_TURN[turn]) if turn else im


def _preview(raw: object, min_px: int, longest: int) -> pyvips.Image | None:
    """The RAW's largest embedded preview, if its short side is at least `min_px`, shrunk
    to `longest` (a JPEG's shrink-on-load: a 24 MP preview is never decoded whole)."""
    import rawpy

    try:
        thumb = raw.extract_thumb()  # type: ignore[attr-defined]
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    if thumb.format == rawpy.ThumbFormat.JPEG:
        header = pyvips.Image.new_from_buffer(thumb.data, "")  # its size: the header alone
        if min(header.width, header.height) < min_px:
            return None
        # turned by LibRaw's flip (the RAW's orientation), not by tags the preview may carry
        return pyvips.Image.thumbnail_buffer(thumb.data, longest, height=longest, size="down",
                                             no_rotate=True).copy_memory()  # (then turned)
    im = pyvips.Image.new_from_array(np.ascontiguousarray(thumb.data)).copy(
        interpretation="srgb")
    return im if min(im.width, im.height) >= min_px else None


def exiftool_preview(path: str) -> bytes | None:
    """The largest JPEG preview exiftool finds in a file LibRaw does not read (a camera
    newer than this LibRaw), or None: any size, as nothing else of it can be shown."""
    exe = shutil.which("exiftool")
    if exe is None:
        raise ToolNotFoundError("exiftool is not installed: run scripts/setup.sh")
    found = []
    for name in PREVIEW_TAGS:
        run = subprocess.run([exe, "-b", f"-{name}", path], capture_output=True, timeout=120)
        if run.returncode == 0 and run.stdout[:2] == b"\xff\xd8":
            found.append(run.stdout)
    return max(found, key=len) if found else None


def load_raw(path: str, longest: int, min_preview_px: int = 1440,
             max_pixels: int = 400_000_000) -> tuple[pyvips.Image, str]:
    """A RAW file's picture for thumbnails whose long side is `longest`, and how it was
    made (`raw-preview`, `raw-half`, `raw-full`).

    Raises `ValueError` with a clear reason for a RAW that LibRaw cannot read (damaged,
    truncated, no image data, a format it does not know and with no usable preview).
    """
    import rawpy

    try:
        with rawpy.imread(path) as raw:
            s = raw.sizes
            if s.width * s.height > max_pixels:
                raise ValueError(f"image too large: {s.width}x{s.height} pixels "
                                 f"(max_pixels={max_pixels}), refused as a decompression bomb")
            preview = _preview(raw, min_preview_px, longest)
            if preview is not None:
                return _upright(preview, s.flip), "raw-preview"
            if s.width == 0 or s.height == 0:
                raise ValueError("RAW file without image data")
            half = max(s.width, s.height) // 2 >= longest
            rgb = raw.postprocess(use_camera_wb=True, half_size=half, output_bps=8,
                                  output_color=rawpy.ColorSpace.sRGB)
    except rawpy.LibRawFileUnsupportedError:
        data = exiftool_preview(path)
        if data is None:
            version = ".".join(map(str, rawpy.libraw_version))
            raise ValueError(f"no image data LibRaw {version} can decode (a RAW format or "
                             "camera it does not know, or a damaged file), and no embedded "
                             "preview") from None
        return pyvips.Image.new_from_buffer(data, "", access="sequential"), "raw-preview"
    except (rawpy.LibRawIOError, rawpy.LibRawDataError, rawpy.LibRawTooBigError) as e:
        raise ValueError(f"damaged RAW file: {_reason(e)}") from None
    except rawpy.LibRawError as e:
        raise ValueError(f"RAW file LibRaw cannot decode: {_reason(e)}") from None
    im = pyvips.Image.new_from_array(rgb).copy(interpretation="srgb")  # upright already
    return im, "raw-half" if half else "raw-full"


def _reason(e: Exception) -> str:
    text = e.args[0] if e.args else str(e)
    return (text.decode(errors="replace") if isinstance(text, bytes) else str(text)) or \
        type(e).__name__
