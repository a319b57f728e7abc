"""What the viewer's and the timeline's buttons do to the library: favourite, rate, tag, add
to an album (a new one, or one a person made before), set the date or the place. Each is a
`Library` writing verb, so a read-only library refuses it before anything is written; the
words said back are what the page shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import PhotolabError

if TYPE_CHECKING:
    from ..library import Library

#: the viewer's and the timeline's actions that change the library
ACTIONS = ("favorite", "rate", "tag", "album", "date", "place")


def own_albums(lib: Library) -> list[str]:
    """The names of the albums people made (the ones photos can be added to), sorted."""
    a = lib.albums()
    return sorted(a.filter(pl.col("source") == "photolab")["name"].to_list())


def add_to_named_album(lib: Library, name: str, photo_ids: Sequence[int]) -> str:
    """Add photos to the people's album called `name`, made first when there is none."""
    name = name.strip()
    if not name:
        raise PhotolabError("give the album a name")
    ids = [int(i) for i in photo_ids]
    if not ids:
        raise PhotolabError("no photos chosen")
    n = f"{len(ids)} photo{'s' if len(ids) != 1 else ''}"
    if name in own_albums(lib):
        lib.add_to_album(name, ids)
        return f"{n} added to the album “{name}”"
    lib.create_album(name, ids)
    return f"album “{name}” made with {n}"


def place_parts(text: str) -> dict[str, str]:
    """ "City", "City, Country" or "City, Region, Country" as `set_place` keywords."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or len(parts) > 3:
        raise PhotolabError("write the place as: city, region, country (region optional)")
    keys = {1: ("city",), 2: ("city", "country"), 3: ("city", "region", "country")}
    return dict(zip(keys[len(parts)], parts, strict=True))


def decide(lib: Library, kind: str, photo_id: int, content: dict[str, Any]) -> str:
    """Do one of `ACTIONS` for one photo; returns what was done, in words."""
    pid = int(photo_id)
    if kind == "favorite":
        on = not lib.photos(photo_ids=[pid])["favorite"][0]
        lib.favorite([pid], on=on)
        return "added to favourites" if on else "taken out of favourites"
    if kind == "rate":
        stars = int(content.get("stars", 0))
        lib.rate([pid], stars)
        return f"rated {stars} star{'s' if stars != 1 else ''}"
    if kind == "tag":
        words = [w.strip() for w in str(content.get("text", "")).split(",") if w.strip()]
        if not words:
            raise PhotolabError("write a tag first")
        lib.tag([pid], *words)
        return f"tagged {', '.join(words)}"
    if kind == "album":
        return add_to_named_album(lib, str(content.get("name", "")), [pid])
    if kind == "date":
        value = str(content.get("value", "")).strip()
        if not value:
            raise PhotolabError("choose a date and time first")
        lib.set_date(pid, value)
        return f"date set to {value.replace('T', ' ')}"
    if kind == "place":
        parts = place_parts(str(content.get("text", "")))
        lib.set_place([pid], **parts)
        return "place set to " + ", ".join(parts.values())
    raise PhotolabError(f"unknown action {kind!r}")
