"""Google Takeout: the JSON sidecar of each photo, found the way real exports name them.

Google strips dates and places from the files it exports and keeps them in JSON beside them:
`NAME.ext.json` (older) or `NAME.ext.supplemental-metadata.json` (2024 on), the whole sidecar
file name cut to 51 characters (the `.supplemental-metadata` part anywhere), `NAME(1).ext`'s
sidecar named `NAME.ext(1).json`, `-edited` copies (in the export's language) sharing the
original's sidecar, and album folders holding a `metadata.json` with the album's title.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from .listing import sidecar_names

MAX_NAME = 51  # characters, ".json" included
SUPPLEMENTAL = ".supplemental-metadata"
#: the "-edited" suffix Google Photos adds, in the export's language
EDITED = ("-edited", "-bearbeitet", "-modifié", "-modificato", "-editado", "-editada",
          "-bewerkt", "-redigert", "-redigerad", "-muokattu", "-编辑", "-編集済み", "-편집됨")
_COPY = re.compile(rb"^(?P<stem>.*)\((?P<n>\d+)\)(?P<ext>\.[^.]*)?$")


def _cut(name: bytes, tail: bytes = b".json") -> bytes:
    """A sidecar name as Google writes it: at most 51 characters with `tail` kept."""
    text = name.decode("utf-8", "surrogateescape")
    room = MAX_NAME - len(tail.decode())
    return text[:room].encode("utf-8", "surrogateescape") + tail


def candidates(name: bytes) -> list[bytes]:
    """Sidecar file names that may belong to media file `name`, best first."""
    base = name
    copy = b""
    m = _COPY.match(name)
    if m:  # NAME(1).jpg -> NAME.jpg(1).json
        base, copy = m["stem"] + (m["ext"] or b""), b"(" + m["n"] + b")"
    stem, ext = os.path.splitext(base)
    text = stem.decode("utf-8", "surrogateescape")
    for suffix in EDITED:  # an edited copy shares its original's sidecar
        if text.endswith(suffix):
            stem = text[: -len(suffix)].encode("utf-8", "surrogateescape")
            break
    out = []
    for full in (stem + ext, stem):
        for middle in (SUPPLEMENTAL.encode(), b""):
            out.append(_cut(full + middle, copy + b".json"))
            out.append(_cut(full + middle + copy, b".json"))
    return list(dict.fromkeys(out))


def find_sidecars(path: bytes) -> list[bytes]:
    """The Takeout JSON sidecars that name a media file, best first (normally one)."""
    folder, name = os.path.split(path)
    names = sidecar_names(folder)
    return [os.path.join(folder, c) for c in candidates(name) if c in names]


def find_sidecar(path: bytes) -> bytes | None:
    """The Takeout JSON sidecar of a media file, or None."""
    found = find_sidecars(path)
    return found[0] if found else None


def album_title(folder: bytes) -> str | None:
    """The album title from a Takeout album folder's `metadata.json`."""
    meta = os.path.join(folder, b"metadata.json")
    try:
        with open(meta, encoding="utf-8") as f:
            title = json.load(f).get("title")
    except (OSError, ValueError, AttributeError):
        return None
    return str(title) if title else None


def read_sidecar(path: bytes) -> dict[str, Any]:
    """Tags from a Takeout sidecar, named like exiftool's ("Takeout:..."). Raises ValueError
    for a file that is not a Takeout JSON object."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    tags: dict[str, Any] = {"Photolab:TakeoutSidecar": os.fsdecode(path)}
    taken = (data.get("photoTakenTime") or {}).get("timestamp")
    if taken not in (None, "", "0"):
        tags["Takeout:PhotoTakenTime"] = int(taken)
    for key in ("geoDataExif", "geoData"):
        geo = data.get(key) or {}
        lat, lon = geo.get("latitude"), geo.get("longitude")
        if lat is not None and lon is not None and (lat, lon) != (0, 0) \
                and (float(lat), float(lon)) != (0.0, 0.0):
            tags["Takeout:GPSLatitude"], tags["Takeout:GPSLongitude"] = float(lat), float(lon)
            break
    people = [p.get("name") for p in data.get("people") or [] if isinstance(p, dict)]
    if people := [p for p in people if p]:
        tags["Takeout:People"] = people
    if data.get("description"):
        tags["Takeout:Description"] = str(data["description"])
    if data.get("favorited"):
        tags["Takeout:Favorited"] = True
    album = album_title(os.path.dirname(path))
    if album:
        tags["Takeout:Album"] = album
    return tags
