"""Camera RAW files made here: Bayer-mosaic DNGs built from known photos of the corpus.

A DNG is what a camera (or Adobe's converter) writes: IFD0 a small RGB thumbnail with the DNG
tags, a SubIFD with the sensor's mosaic (one colour per pixel through a 2x2 colour filter,
linear, at 12 or 14 bits over a black level) and, if asked, a SubIFD with a large JPEG
preview. The mosaic is the photo taken back to linear light, multiplied by the camera's
response to white (`AsShotNeutral`) and sampled through the colour filter, so a decoder that
demosaics it, balances white and renders sRGB gets the photo back (`grey_correlation`).
tifffile writes it; LibRaw (rawpy) reads it as it reads a camera's DNG.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pyvips
import tifffile

#: XYZ (D65) from linear sRGB: the test camera's sensor sees sRGB's primaries
SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                        [0.0193, 0.1192, 0.9505]])
CHANNEL = {"R": 0, "G": 1, "B": 2}
#: the orientation tag's value -> the turn (degrees clockwise) that shows the stored image
TURNS = {1: 0, 3: 180, 6: 90, 8: 270}


def photo_rgb(path: str | Path, longest: int | None = None) -> np.ndarray:
    """A photo as 8-bit sRGB, upright (H x W x 3), shrunk so its long side is `longest`."""
    im = (pyvips.Image.thumbnail(str(path), longest, height=longest, size="down")
          if longest else pyvips.Image.new_from_file(str(path)).autorot())
    return im.colourspace("srgb").extract_band(0, n=3).numpy()


def _rationals(values: np.ndarray | list[float]) -> list[int]:
    """TIFF (signed) rationals: numerator, denominator pairs."""
    out: list[int] = []
    for v in np.ravel(values):
        out += [round(float(v) * 10000), 10000]
    return out


def _jpeg_codec() -> None:
    """The preview is JPEG bytes already: tifffile needs only a name for the tag (its own
    JPEG encoder would need imagecodecs)."""
    tifffile.TIFF.COMPRESSORS._codecs[7] = lambda data, **kwargs: data


def write_dng(dest: str | Path, rgb: np.ndarray, pattern: str = "RGGB", bits: int = 14,
              preview: int | None = None, tiny: int = 256, orientation: int = 1,
              neutral: tuple[float, float, float] = (0.5, 1.0, 0.7), black: int = 256,
              make: str = "photolab", model: str = "Bayer DNG") -> Path:
    """Write `rgb` (8-bit sRGB, upright) as a Bayer DNG at `dest`.

    Parameters
    ----------
    pattern : the colour filter's 2x2 tile, row by row ("RGGB", "BGGR", "GRBG", "GBRG").
    bits : the sensor's bit depth (12 or 14): its white level is 2**bits - 1.
    preview : the long side of a JPEG preview in a SubIFD (None: no large preview).
    tiny : the long side of IFD0's RGB thumbnail (what every DNG carries).
    orientation : the EXIF orientation of the stored image (1, 3, 6, 8): the mosaic and its
        previews are stored turned back, as a camera held on its side stores them.
    neutral : the camera's response to white (`AsShotNeutral`): its white balance.
    """
    dest = Path(dest)
    stored = np.rot90(rgb, k=TURNS[orientation] // 90)  # turned back (counter-clockwise)
    h, w = (stored.shape[0] // 2) * 2, (stored.shape[1] // 2) * 2
    stored = np.ascontiguousarray(stored[:h, :w])
    lin = stored / 255.0
    lin = np.where(lin <= 0.04045, lin / 12.92, ((lin + 0.055) / 1.055) ** 2.4)
    white = 2**bits - 1
    mosaic = np.empty((h, w))
    for dy in range(2):
        for dx in range(2):
            c = CHANNEL[pattern[dy * 2 + dx]]
            mosaic[dy::2, dx::2] = lin[dy::2, dx::2, c] * neutral[c]
    raw = (black + mosaic * (white - black)).round().astype(np.uint16)
    im = pyvips.Image.new_from_array(stored).copy(interpretation="srgb")
    thumb = im.thumbnail_image(tiny, height=tiny).numpy()
    dng_tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, "B", 4, (1, 1, 0, 0), True),  # DNGBackwardVersion
        (50708, "s", 0, f"{make} {model}", True),  # UniqueCameraModel
        (50721, "2i", 9, _rationals(np.linalg.inv(SRGB_TO_XYZ)), True),  # ColorMatrix1
        (50778, "H", 1, 21, True),  # CalibrationIlluminant1: D65
        (50728, "2I", 3, _rationals(list(neutral)), True),  # AsShotNeutral
        (271, "s", 0, make, True), (272, "s", 0, model, True),
        (274, "H", 1, orientation, True),
    ]
    n_sub = 2 if preview else 1
    with tifffile.TiffWriter(dest) as tif:
        tif.write(thumb, photometric="rgb", subfiletype=1, subifds=n_sub, extratags=dng_tags,
                  metadata=None)
        tif.write(raw, photometric=32803, subfiletype=0, metadata=None, extratags=[
            (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
            (33422, "B", 4, tuple(CHANNEL[c] for c in pattern), True),  # CFAPattern
            (50710, "B", 3, (0, 1, 2), True),  # CFAPlaneColor
            (50714, "H", 1, black, True), (50717, "H", 1, white, True)])
        if preview:
            _jpeg_codec()
            big = im.thumbnail_image(preview, height=preview, size="force" if
                                     preview > max(h, w) else "down")
            tif.write(iter([big.jpegsave_buffer(Q=90)]), shape=(big.height, big.width, 3),
                      dtype="uint8", photometric="ycbcr", compression=7,
                      rowsperstrip=big.height, subfiletype=1, metadata=None)
    _unchain_subifds(dest)
    return dest


def _unchain_subifds(path: Path) -> None:
    """End each SubIFD's chain, as cameras do (tifffile links a page's SubIFDs to each
    other as well, which exiftool reads as one directory seen twice)."""
    with tifffile.TiffFile(path) as tif:
        offsets = list(tif.pages[0].subifds or ())
    with open(path, "r+b") as f:
        for off in offsets:
            f.seek(off)
            count = int.from_bytes(f.read(2), "little")
            f.seek(off + 2 + 12 * count)
            f.write(bytes(4))


def set_tags(path: str | Path, **tags: str) -> None:
    """Write EXIF tags into a file with exiftool, as a camera would have
    (`DateTimeOriginal="2024:05:01 10:00:00"`, `GPSLatitude=...`)."""
    args = [f"-{k}={v}" for k, v in tags.items()]
    subprocess.run(["exiftool", "-q", "-overwrite_original", *args, str(path)], check=True)


def grey_correlation(a: str | Path | np.ndarray, b: str | Path | np.ndarray,
                     side: int = 256) -> float:
    """Pearson correlation of two pictures' grey levels, each resized to `side` x `side`."""
    def grey(x: str | Path | np.ndarray) -> np.ndarray:
        im = (pyvips.Image.new_from_array(x).copy(interpretation="srgb")
              if isinstance(x, np.ndarray) else pyvips.Image.new_from_file(str(x)))
        im = im.colourspace("b-w").extract_band(0)
        return im.resize(side / im.width, vscale=side / im.height).numpy().astype(float).ravel()

    return float(np.corrcoef(grey(a), grey(b))[0, 1])
