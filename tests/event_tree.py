"""A photo tree with known events: generated JPEGs whose dates and GPS positions exiftool
writes, as a camera would (trips abroad over several days, days at home, a party that goes
past midnight, a day without GPS, photos with no date at all)."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

SEATTLE = (47.6062, -122.3321)
ROME = (41.9028, 12.4964)
FLORENCE = (43.7696, 11.2558)
PARIS = (48.8566, 2.3522)


def _day(d: datetime, hours: list[float], where: tuple[float, float] | None
         ) -> list[tuple[datetime, tuple[float, float] | None]]:
    return [(d + timedelta(hours=h), where) for h in hours]


#: event label -> the photos' (local time, position or None)
EVENTS: dict[str, list[tuple[datetime, tuple[float, float] | None]]] = {
    "home morning": _day(datetime(2019, 3, 2), [10, 10.5, 11.25], SEATTLE),
    "home evening": _day(datetime(2019, 3, 2), [18.5, 19], SEATTLE),
    "italy": (_day(datetime(2019, 5, 12), [7], SEATTLE)  # the airport, then away
              + [p for d in range(12, 16) for p in _day(datetime(2019, 5, d), [9, 13, 20], ROME)
                 if d != 14]
              + _day(datetime(2019, 5, 14), [10, 16], None)  # a day without GPS, still away
              + [p for d in range(16, 19)
                 for p in _day(datetime(2019, 5, d), [9.5, 14, 19], FLORENCE)]),
    "new year": _day(datetime(2019, 12, 31), [21, 22.5, 23.83, 24.67, 25.5], SEATTLE),
    "new year's day": _day(datetime(2020, 1, 1), [14, 15], SEATTLE),
    "no gps": _day(datetime(2020, 2, 10), [12, 12.5, 13], None),
    "paris": [p for d in (1, 2, 3) for p in _day(datetime(2020, 6, d), [10, 18], PARIS)],
    "fourth of july": _day(datetime(2020, 7, 4), [12, 12.5, 13, 14], SEATTLE),
    "fifth of july": _day(datetime(2020, 7, 5), [11, 11.5], SEATTLE),
    "memories 2021": _day(datetime(2021, 5, 14), [12, 13], SEATTLE),
}
UNDATED = 2  # photos with no date in them, and names that say none


def _image(seed: int, blur: bool = False) -> Image.Image:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)
    im = Image.fromarray(small).resize((320, 240), Image.Resampling.BICUBIC)
    return im.filter(ImageFilter.GaussianBlur(6)) if blur else im


def exif_args(when: datetime | None, where: tuple[float, float] | None) -> list[str]:
    args = []
    if when is not None:
        args.append(f"-DateTimeOriginal={when:%Y:%m:%d %H:%M:%S}")
    if where is not None:
        lat, lon = where
        args += [f"-GPSLatitude={abs(lat)}", f"-GPSLatitudeRef={'N' if lat >= 0 else 'S'}",
                 f"-GPSLongitude={abs(lon)}", f"-GPSLongitudeRef={'E' if lon >= 0 else 'W'}"]
    return args


def write_exif(files: list[tuple[Path, list[str]]]) -> None:
    """One exiftool run for every file (an argument file with -execute between them)."""
    lines: list[str] = []
    for path, args in files:
        if args:
            lines += ["-overwrite_original", "-q", *args, str(path), "-execute"]
    argfile = files[0][0].parent / ".exif-args"
    argfile.write_text("\n".join(lines) + "\n")
    subprocess.run(["exiftool", "-@", str(argfile)], check=True, capture_output=True)
    argfile.unlink()


def build_tree(root: Path) -> dict[str, str]:
    """Write the tree under `root` (one folder per event, the way people copy cards);
    returns file name -> event label ("" for the undated)."""
    truth: dict[str, str] = {}
    todo: list[tuple[Path, list[str]]] = []
    seed = 0
    for label, shots in EVENTS.items():
        folder = root / label.replace(" ", "_").replace("'", "")
        folder.mkdir(parents=True, exist_ok=True)
        for when, where in shots:
            seed += 1
            path = folder / f"IMG_{seed:04d}.jpg"
            _image(seed).save(path, quality=90)
            todo.append((path, exif_args(when, where)))
            truth[path.name] = label
    for i in range(UNDATED):
        seed += 1
        path = root / f"scan_{chr(97 + i)}.jpg"
        _image(seed).save(path, quality=90)
        truth[path.name] = ""
    write_exif(todo)
    return truth
