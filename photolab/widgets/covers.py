"""Pages of covers that open a timeline: `AlbumsPage` (albums people made, Takeout's and
folders', and the events photolab found), `PeoplePage` (the people named so far, each
with a face) and `PlacesPage` (the most photographed places, each with its best photo).
Each cover opens its photos as a `PhotosApp` timeline; "back" returns.

Stable class names: `photolab-album` (an album or event cover), `photolab-person` (a person
cover), `photolab-place` (a place cover), `photolab-back`.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets as w
import polars as pl
import traitlets

from ..errors import PhotolabError
from ..media.thumbnails import thumb_path
from ..places.verbs import UNKNOWN_PLACE
from ._children import close_tree
from ._html import image
from .early import EARLY_MAX, ShownEarly, covers_html
from .front import css, image_esm
from .photo_actions import can_change
from .photos import PhotosApp
from .shared import SharePanel
from .upload import UploadButton

if TYPE_CHECKING:
    from ..library import Library

#: covers sent at once (more as the page scrolls)
COVERS_PAGE = 48

class Covers(anywidget.AnyWidget):
    """A grid of covers, a page at a time as the page scrolls: `load()` lists them (key,
    title, subtitle, kind, and `ref`: what `images(refs)` turns into each cover's bytes and
    type, read only for the covers sent, a page at once); `on_open(key)` when one is
    clicked."""

    _esm = image_esm("covers.mjs")
    _css = css("covers.css")
    kind = traitlets.Unicode("album").tag(sync=True)

    def __init__(self, load: Callable[[], list[dict[str, Any]]],
                 images: Callable[[list[Any]], list[tuple[bytes | None, str]]],
                 on_open: Callable[[str], None], empty: str = "nothing yet",
                 page_size: int = COVERS_PAGE):
        super().__init__()
        self.load, self.images, self.on_open, self.empty = load, images, on_open, empty
        self.page_size = page_size
        self.items: list[dict[str, Any]] = []
        self.sent = 0
        self.on_msg(self._message)

    def _message(self, _: Any, content: dict[str, Any], buffers: list[bytes]) -> None:
        if content.get("type") == "ready":
            self.refresh()
        elif content.get("type") == "more":
            self.send_page()
        elif content.get("type") == "open":
            self.on_open(str(content["key"]))

    def refresh(self) -> None:
        """List the covers again and send the first page."""
        self.items, self.sent = self.load(), 0
        self.send_page()

    def send_page(self) -> None:
        page = [dict(it) for it in self.items[self.sent:self.sent + self.page_size]]
        first = self.sent == 0
        self.sent += len(page)
        buffers = []
        for it, (data, kind) in zip(page, self.images([it.pop("ref", None) for it in page]),
                                    strict=True):
            data, it["type"] = image(data, kind)
            buffers.append(data)
        self.send({"type": "covers", "items": page, "empty": self.empty, "first": first,
                   "done": self.sent >= len(self.items)}, buffers)


class _CoverPage(ShownEarly, w.VBox):
    """Covers, and the timeline of the one opened, with a way back."""

    def __init__(self, library: Library, empty: str):
        self.lib = library
        self.covers = Covers(self._items, self._images, self._open, empty)
        self.back = w.Button(description="◀ back", layout=w.Layout(width="100px"))
        self.back.add_class("photolab-back")
        self.back.on_click(lambda _: self.close())
        self.title = w.HTML()
        self.header = w.HBox([self.back, self.title])
        self.opened: PhotosApp | None = None
        super().__init__([self.covers])

    def early_html(self) -> str:
        """The first covers as plain HTML (`photolab.widgets.early`)."""
        items = self._items()[:EARLY_MAX]
        images = [image(data, kind)  # tiny: ~7 kB
                  for data, kind in self._images([it.get("ref") for it in items], "tiny")]
        return covers_html(items, images)

    def _images(self, refs: list[Any], size: str = "small") -> list[tuple[bytes | None, str]]:
        """Covers' bytes (None: none to show) and type, from their `ref`s: here photo ids
        whose `size` thumbnails are the covers (their content hashes read in one query)."""
        hashes = dict(self.lib.tiles([int(r) for r in refs if r is not None])
                      .select("photo_id", "content_hash").iter_rows())
        out: list[tuple[bytes | None, str]] = []
        for ref in refs:
            path = thumb_path(self.lib.thumbs_dir, hashes.get(ref) or "", size)
            out.append((path.read_bytes() if hashes.get(ref) and path.exists() else None,
                        "image/webp"))
        return out

    def _items(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _filters(self, key: str) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def _open(self, key: str) -> None:
        try:
            title, filters = self._filters(key)
        except PhotolabError as e:
            self.title.value = str(e)
            return
        self._drop()
        self.opened = PhotosApp(self.lib, **filters)
        self.title.value = f"<h2 style='margin:4px 0'>{html.escape(title)}</h2>"
        self.children = (self.header, self.opened)

    def close(self) -> None:
        """Back to the covers (the timeline that was open is closed: its memory goes)."""
        self.children = (self.covers,)
        self._drop()

    def _drop(self) -> None:
        if self.opened is not None:
            close_tree(self.opened)
            self.opened = None


class AlbumsPage(_CoverPage):
    """Albums (made here, from Takeout, from folders) and events, newest first; one opens
    as its own timeline."""

    def __init__(self, library: Library):
        super().__init__(library, "no albums or events yet")

    def _items(self) -> list[dict[str, Any]]:
        albums = self.lib.albums()
        events = self.lib.events()
        items = [{"key": f"album:{a['album_id']}", "kind": "album", "title": a["name"],
                  "subtitle": f"{_photos(a['n_photos'])} · {a['source']}",
                  "ref": a["cover_photo_id"]}
                 for a in albums.iter_rows(named=True)]
        items += [{"key": f"event:{e['event_id']}", "kind": "album", "title": e["title"],
                   "subtitle": f"{_photos(e['n_photos'])} · {'trip' if e['trip'] else 'event'}",
                   "ref": e["cover_photo_id"]}
                  for e in events.iter_rows(named=True)]
        return items

    def _open(self, key: str) -> None:
        """An album's timeline, with "Share" for editors (not for events: keep an event as an
        album to share it) and, in an album people made, "Add photos" (uploaded into it)."""
        super()._open(key)
        kind, _, value = key.partition(":")
        if kind != "album" or self.opened is None or not can_change(self.lib):
            return
        album_id, extra = int(value), []
        if self.lib.album(album_id)["source"] == "photolab":
            opened = self.opened
            extra.append(UploadButton(self.lib, lambda ids: self._uploaded(album_id, ids),
                                      lambda pid: (self._uploaded(album_id, [pid]),
                                                   opened.show_photo(pid))))
        self.children = (self.header, SharePanel(self.lib, album_id), *extra, self.opened)

    def _uploaded(self, album_id: int, photo_ids: list[int]) -> None:
        """Photos uploaded in an album (or already in the library) put into it, the
        album's timeline read again."""
        have = set(self.lib.album_photos(album_id)["photo_id"].to_list())
        new = [i for i in photo_ids if i not in have]
        if new:
            self.lib.add_to_album(album_id, new)
        if self.opened is not None:  # (a set of ids: the timeline orders them by date)
            self.opened.timeline.set_source({"photo_ids": [*have, *new]})

    def _filters(self, key: str) -> tuple[str, dict[str, Any]]:
        kind, _, value = key.partition(":")
        if kind == "album":
            a = self.lib.album(int(value))
            return a["name"], {"photo_ids": self.lib.album_photos(a["album_id"])["photo_id"]
                               .to_list()}
        e = self.lib.event(int(value))
        return e["title"], {"photo_ids": self.lib.event_photos(e["event_id"])["photo_id"]
                            .to_list()}


class PeoplePage(_CoverPage):
    """The people named so far, most photographed first, each with a face; one opens as
    the timeline of their photos."""

    def __init__(self, library: Library):
        super().__init__(library, "nobody is named yet: name faces below")

    def _items(self) -> list[dict[str, Any]]:
        people = self.lib.people().filter(pl.col("n_faces") > 0)
        labels = self.lib.labels()
        face_of: dict[int, int] = {}
        for face, person in labels.person_of.items():
            face_of.setdefault(labels.root(person), face)
        return [{"key": str(p["person_id"]), "kind": "person", "title": p["name"],
                 "subtitle": _photos(p["n_photos"]), "ref": face_of.get(p["person_id"])}
                for p in people.iter_rows(named=True)]

    def _images(self, refs: list[Any], size: str = "small") -> list[tuple[bytes | None, str]]:
        """Each person's face (`ref`: one of their faces), cut from its thumbnail (220 px
        whatever the `size`)."""
        return [self._face(ref) for ref in refs]

    def _face(self, ref: Any) -> tuple[bytes | None, str]:
        try:
            return (self.lib.face_crop(int(ref), 220) if ref is not None else None), "image/jpeg"
        except PhotolabError:
            return None, ""

    def _filters(self, key: str) -> tuple[str, dict[str, Any]]:
        name = self.lib.labels().names.get(int(key))
        if not name:
            raise PhotolabError("that person is no longer named")
        return name, {"person": name}


#: places a `PlacesPage` shows as covers (every place is in `PlaceSunburst`'s list)
TOP_PLACES = 24


class PlacesPage(_CoverPage):
    """The most photographed places (cities, or a region where the city is not known),
    each with its best photo; one opens as the timeline of its photos.

    Parameters
    ----------
    library : the Library to show.
    top : how many places (most photos first); `PlaceSunburst` offers every place.
    """

    def __init__(self, library: Library, top: int = TOP_PLACES):
        self.top = top
        super().__init__(library, "no photo has a place yet (no GPS, or not ingested)")

    def _items(self) -> list[dict[str, Any]]:
        return [{"key": p["place_id"], "kind": "place", "title": _place_title(p),
                 "subtitle": f"{_photos(p['n_photos'])} · "
                             + ", ".join(v for v in (p["region"], p["country"])
                                         if v != UNKNOWN_PLACE),
                 "ref": p["cover_photo_id"]}
                for p in self.lib.place_covers().head(self.top).iter_rows(named=True)]

    def _filters(self, key: str) -> tuple[str, dict[str, Any]]:
        row = self.lib.place_covers().filter(pl.col("place_id") == key)
        title = _place_title(row.row(0, named=True)) if row.height else key
        return title, {"photo_ids": self.lib.place_photos(key)}


def _place_title(place: dict[str, Any]) -> str:
    return str(place["region"] if place["city"] == UNKNOWN_PLACE else place["city"])


def _photos(n: int) -> str:
    return f"{n} photo{'' if n == 1 else 's'}"
