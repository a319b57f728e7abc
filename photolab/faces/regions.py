"""Named face regions that other tools wrote into a file's XMP.

digiKam, Lightroom, Picasa and Immich write MWG regions (`mwg-rs:RegionInfo`: a centre,
width and height normalised to the stored image, `AppliedToDimensions` the stored size);
Windows Photo Gallery writes Microsoft regions (`MP:RegionInfo`: `x, y, w, h` from the top
left corner). exiftool flattens both into the tags the metadata stage keeps.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .geometry import to_upright


def _listed(tags: dict[str, Any], key: str) -> list[Any]:
    v = tags.get(key)
    return [] if v is None else v if isinstance(v, list) else [v]


def _mwg(tags: dict[str, Any]) -> list[tuple[str | None, list[float]]]:
    xs, ys = _listed(tags, "XMP:RegionAreaX"), _listed(tags, "XMP:RegionAreaY")
    ws, hs = _listed(tags, "XMP:RegionAreaW"), _listed(tags, "XMP:RegionAreaH")
    names, types = _listed(tags, "XMP:RegionName"), _listed(tags, "XMP:RegionType")
    units = _listed(tags, "XMP:RegionAreaUnit")
    out = []
    for i, (x, y, w, h) in enumerate(zip(xs, ys, ws, hs, strict=False)):
        kind = types[i] if i < len(types) and len(types) == len(xs) else "Face"
        unit = units[i] if i < len(units) and len(units) == len(xs) else "normalized"
        if kind != "Face" or unit != "normalized":
            continue
        name = names[i] if len(names) == len(xs) else None
        out.append((name, [y - h / 2, x + w / 2, y + h / 2, x - w / 2]))
    return out


def _microsoft(tags: dict[str, Any]) -> list[tuple[str | None, list[float]]]:
    rects = _listed(tags, "XMP:RegionRectangle")
    names = _listed(tags, "XMP:RegionPersonDisplayName")
    out = []
    for i, rect in enumerate(rects):
        try:
            x, y, w, h = (float(p) for p in str(rect).split(","))
        except ValueError:
            continue
        out.append((names[i] if len(names) == len(rects) else None, [y, x + w, y + h, x]))
    return out


def face_regions(tags_json: str | None, orientation: int | None) -> list[dict[str, Any]]:
    """Face regions of one file, as `{"name", "box"}` with `box` normalised on the upright
    image. MWG regions win over Microsoft ones when a file has both.

    >>> tags = {"XMP:RegionAreaX": 0.5, "XMP:RegionAreaY": 0.25, "XMP:RegionAreaW": 0.2,
    ...         "XMP:RegionAreaH": 0.1, "XMP:RegionName": "Ada", "XMP:RegionType": "Face"}
    >>> face_regions(json.dumps(tags), 1)
    [{'name': 'Ada', 'box': [0.2, 0.6, 0.3, 0.4]}]
    """
    if not tags_json or "XMP:Region" not in tags_json:
        return []
    tags = json.loads(tags_json)
    found = _mwg(tags) or _microsoft(tags)
    if not found:
        return []
    boxes = np.clip(to_upright(np.array([b for _, b in found]), orientation), 0.0, 1.0)
    return [{"name": (str(n).strip() or None) if n is not None else None,
             "box": [round(float(v), 6) for v in box]}
            for (n, _), box in zip(found, boxes, strict=True)
            if box[2] > box[0] and box[1] > box[3]]
