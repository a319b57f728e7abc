"""What the viewer's and the timeline's buttons do to the library: favourite, rate, tag, add
to an album (a new one, or one a person made before), set the date or the place; draw, name
or take out a face; take a RAW+JPEG pair apart. Each is a
`Library` writing verb, so a read-only library refuses it before anything is written; the
words said back are what the page shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from ..access import may_write
from ..errors import PhotolabError

if TYPE_CHECKING:
    from ..library import Library

#: the viewer's and the timeline's actions that change the library
ACTIONS = ("favorite", "rate", "tag", "album", "date", "place", "add_face", "name_face",
           "remove_face", "unpair")


def can_change(lib: Library) -> bool:
    """Whether this page's member may change the library (an editor or the owner,
    read/write): what decides which controls a page offers. The library refuses on its own
    anyway (`photolab.access`)."""
    return not lib.read_only and may_write(lib.catalog, lib.member) is None


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
    if kind == "unpair":
        lib.unpair(pid)
        return "the RAW file is a photo of its own now"
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
    if kind in ("add_face", "name_face", "remove_face"):
        return _face_action(lib, kind, pid, content)
    raise PhotolabError(f"unknown action {kind!r}")


def _face_action(lib: Library, kind: str, pid: int, content: dict[str, Any]) -> str:
    """A face drawn (`box`: top, right, bottom, left as fractions of the photo), named, or
    taken out ("not a face": a drawn one is undone, a detected one rejected)."""
    name = str(content.get("name", "")).strip() or None
    if kind == "add_face":
        p = lib.photos(photo_ids=[pid]).row(0, named=True)
        t, r, b, left = (float(v) for v in content.get("box", []))
        w, h = p["width"] or 0, p["height"] or 0
        lib.add_face(pid, (round(t * h), round(r * w), round(b * h), round(left * w)), name)
        return f"face added{f' as {name}' if name else ''}"
    face_id = int(content.get("face_id", -1))
    if kind == "name_face":
        if name is None:
            raise PhotolabError("write a name first")
        lib.name_faces([face_id], name)
        return f"named {name}"
    drawn = lib.decisions("face_add").filter(
        pl.col("value").str.json_path_match("$.face_id").cast(pl.Int64) == face_id)
    if drawn.height:
        lib.undo(int(drawn["decision_id"][-1]))
    else:
        lib.reject_faces([face_id])
    return "not a face: taken out"
