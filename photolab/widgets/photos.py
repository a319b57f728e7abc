"""`PhotosApp`: the photos as a family member expects them: a timeline of days, newest first,
that loads more as it scrolls (with a month jump list), and a viewer that opens a photo large,
steps with the arrow keys, plays videos and motion photos, outlines the named faces and tells
when, where, who and with what it was taken; favourite and rate from the viewer.

Both halves are anywidget modules (`static/timeline.mjs`, `static/viewer.mjs`, with
`tiles.css`, `timeline.css` and `viewer.css`: `photolab.widgets.front`): one message per page of
tiles (thumbnails as binary buffers), clicks and keys sent back to the kernel, which calls the
`Library` verbs. Pages are read by key (`Library.recent`), never the whole library.

Stable class names for tests and styling: `photolab-tile` (a thumbnail; its alt text says
"photo ID"), `photolab-day` (a day heading), `photolab-month`, `photolab-viewer` (the open
photo), `photolab-video` (the playing element), `photolab-badge` (a video or motion photo),
`photolab-select` (the timeline's Select button), `photolab-picked` (a chosen tile).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets as w
import polars as pl
import traitlets

from ..access import shown_path
from ..errors import PhotolabError, ReadOnlyError
from ..media.thumbnails import thumb_path
from ._html import NO_PREVIEW, image
from .details import details_html
from .early import EARLY_MAX, ShownEarly, tiles_html
from .front import css, esm, image_esm
from .photo_actions import ACTIONS, add_to_named_album, can_change, decide, own_albums
from .scope import EVERYTHING, Scope

if TYPE_CHECKING:
    from ..library import Library

#: what a browser shows as it is (anything else is seen through its thumbnails)
BROWSER_IMAGES = {"image/jpeg", "image/png", "image/webp", "image/gif", "image/avif"}
BROWSER_VIDEOS = {"video/mp4", "video/webm"}
#: the largest original sent to a page at once
MAX_ORIGINAL_BYTES = 200 * 1024 * 1024
MONTHS = tuple(calendar.month_name)


def _day_label(d: date) -> str:
    return f"{calendar.day_name[d.weekday()]} {d.day} {MONTHS[d.month]} {d.year}"


class Timeline(anywidget.AnyWidget):
    """Photos under day headings, newest first, a page at a time as the page scrolls.

    Parameters
    ----------
    library : the Library to show.
    page_size : photos per page.
    thumb_size : the thumbnails the tiles show.
    on_open : called with a photo id when a tile is clicked.
    on_album : called with the chosen photo ids and an album name when a person adds a
        selection to an album; returns what to tell them.
    scope : what it may show (`Scope`; default everything): a tile's id from the page is
        checked against it before anything is read for it.
    filters : `Library.recent` filters (dates, person, place, camera, tag).
    """

    _esm = image_esm("timeline.mjs")
    _css = css("tiles.css", "timeline.css")
    months = traitlets.List().tag(sync=True)
    #: whether the page offers "Select" (to put photos in an album)
    selectable = traitlets.Bool(True).tag(sync=True)

    def __init__(self, library: Library, page_size: int = 60, thumb_size: str = "tiny",
                 on_open: Callable[[int], None] | None = None,
                 on_album: Callable[[list[int], str], str] | None = None,
                 scope: Scope = EVERYTHING, **filters: Any):
        super().__init__()
        self.lib, self.page_size, self.thumb_size = library, page_size, thumb_size
        self.scope = scope
        self.selectable = scope.changes
        self.on_open, self.on_album = on_open, on_album
        #: called when a page in the browser shows the timeline
        self.on_ready: Callable[[], None] | None = None
        #: the photos loaded so far, in the order shown
        self.ids: list[int] = []
        self.done = False
        self._before: date | None = None
        self._ready = False
        self.set_source(filters)
        self.on_msg(self._message)

    def set_source(self, filters: dict[str, Any] | None = None,
                   photo_ids: list[int] | None = None, heading: str = "",
                   total: int | None = None) -> None:
        """Show the photos `recent` lists with `filters` (day by day; `total`: how many,
        when the caller has just counted them), or these photos in their order under one
        `heading` (a search's results); start again at the top."""
        self.filters, self.results, self.heading = dict(filters or {}), photo_ids, heading
        if photo_ids is None:
            self.total = self.lib.count_recent(**self.filters) if total is None else total
            self.months = [{"month": m, "n": n, "label": f"{MONTHS[int(m[5:7])]} {m[:4]}"}
                           for m, n in self.lib.timeline_months(**self.filters).iter_rows()
                           if m]
        else:
            self.total, self.months = len(photo_ids), []
        if self._ready:
            self.reset()

    def _message(self, _: Any, content: dict[str, Any], buffers: list[bytes]) -> None:
        kind = content.get("type")
        if not self.scope.alive():  # a shared album's link ended while its page was open
            self.ids, self.done = [], True
            self.send({"type": "reset"})
            self.send({"type": "notice", "text": self.scope.ended})
            return
        if kind == "ready":  # a page opened: counted again (its kernel may have run ahead)
            self._ready = True
            if self.on_ready is not None:
                self.on_ready()
            self.set_source(self.filters, self.results, self.heading)
        elif kind == "album" and self.on_album is not None and self.scope.changes:
            text = self.on_album([int(i) for i in content.get("ids", [])],
                                 str(content.get("name", "")))
            self.send({"type": "notice", "text": text})
        elif kind == "more":
            self.send_page()
        elif kind == "jump":
            y, m = (int(x) for x in str(content["month"]).split("-"))
            self.reset(date(y, m, calendar.monthrange(y, m)[1]))
        elif kind == "open" and self.on_open is not None and self.scope.admits(content["id"]):
            self.on_open(int(content["id"]))
        elif kind == "animate" and self.scope.admits(content["id"]):
            pid = int(content["id"])
            made = self.lib.previews([pid])
            webp = made["webp"][0] if made.height else None
            if webp and Path(webp).exists():
                self.send({"type": "animation", "id": pid}, [Path(webp).read_bytes()])

    def reset(self, before: date | None = None) -> None:
        """Start again from the newest photo (or from the last day of a month)."""
        self.ids, self.done, self._before = [], False, before
        self.send({"type": "reset"})
        self.send_page()

    def load_page(self) -> list[dict[str, Any]]:
        """The next page's tiles (and remember their ids); [] when every photo is loaded."""
        if self.done:
            return []
        if self.results is not None:  # a search's results, in their order
            ids = self.results[len(self.ids):len(self.ids) + self.page_size]
            self.done = len(self.ids) + len(ids) >= len(self.results)
        else:
            filters = dict(self.filters)
            if self._before is not None:
                filters["before"] = self._before
            ids = self.lib.recent(self.page_size,
                                  after_photo=self.ids[-1] if self.ids else None,
                                  **filters)["photo_id"].to_list()
            self.done = len(ids) < self.page_size
        if not ids:
            return []
        rows = pl.DataFrame({"photo_id": ids}, schema={"photo_id": pl.Int64}).join(
            self.lib.tiles(ids), on="photo_id", how="left", maintain_order="left")
        self.ids += ids
        return [self._tile(r) for r in rows.iter_rows(named=True)]

    def _tile(self, r: dict[str, Any]) -> dict[str, Any]:
        """One tile: under its day's and month's headings, or under none (results)."""
        t: datetime | None = r["taken_at"]
        if self.results is not None:
            where = {"day": "results", "day_label": "", "month": "results",
                     "month_label": self.heading}
        else:
            day = t.date() if t is not None else None
            where = {"day": day.isoformat() if day else "undated",
                     "day_label": _day_label(day) if day else "No date",
                     "month": day.isoformat()[:7] if day else "undated",
                     "month_label": f"{MONTHS[day.month]} {day.year}" if day else "Undated"}
        video = (r["mime"] or "").startswith("video/")
        return {"id": int(r["photo_id"]), **where,
                "label": t.strftime("%Y-%m-%d %H:%M") if t else "no date",
                "badge": "▶" if video else ("◉" if r["has_motion_video"] else ""),
                "hash": r["content_hash"]}

    def _thumbnails(self, tiles: list[dict[str, Any]]) -> list[bytes]:
        """The tiles' thumbnails (their `hash` taken out, their `type` put in)."""
        buffers = []
        for t in tiles:
            path = thumb_path(self.lib.thumbs_dir, t.pop("hash") or "", self.thumb_size)
            data, t["type"] = image(path.read_bytes() if path.exists() else b"")
            buffers.append(data)
        return buffers

    def early_html(self) -> str:
        """The first tiles as plain HTML (`photolab.widgets.early`); the timeline itself
        starts again at the top when its page opens."""
        tiles = self.load_page()[:EARLY_MAX]
        self.ids, self.done = [], False
        buffers = self._thumbnails(tiles)
        return tiles_html(tiles, [(b, t["type"]) for b, t in zip(buffers, tiles, strict=True)])

    def send_page(self) -> None:
        """Send the next page to the page in the browser."""
        tiles = self.load_page()
        buffers = self._thumbnails(tiles)
        count = (f"{self.total} photo{'s' if self.total != 1 else ''}"
                 if self.results is None else "")
        self.send({"type": "page", "tiles": tiles, "done": self.done, "count": count},
                  buffers)


class Viewer(anywidget.AnyWidget):
    """One photo large, full screen, with its details; the kernel side of its buttons and
    keys is `PhotosApp`."""

    _esm = esm("viewer.mjs")
    _css = css("viewer.css")

    def __init__(self, on_action: Callable[[str, dict[str, Any]], None]):
        super().__init__()
        self.on_msg(lambda _, content, buffers: on_action(str(content.get("type")), content))


class PhotosApp(ShownEarly, w.VBox):
    """The timeline and the viewer together (`dashboards/photos.ipynb`).

    Parameters
    ----------
    library : the Library to show.
    page_size : photos per timeline page.
    on_similar : called with the open photo's id by the viewer's "More like this" (shown
        only when it is given: `HomePage` gives it where the library has CLIP vectors).
    scope : what it may show and do (`Scope`; default everything).
    **filters : `Library.recent` filters.

    Example (the cell's output in a notebook)::

        PhotosApp(Library("~/Pictures/photolab"))
    """

    def __init__(self, library: Library, page_size: int = 60,
                 on_similar: Callable[[int], None] | None = None,
                 scope: Scope = EVERYTHING, **filters: Any):
        self.lib = library
        self.current: int | None = None
        self.scope = scope
        self.on_similar = on_similar if scope.changes else None
        self.timeline = Timeline(library, page_size, on_open=self.show_photo,
                                 on_album=self._album, scope=scope, **filters)
        self.viewer = Viewer(self._action)
        super().__init__([self.timeline, self.viewer])

    def early_html(self) -> str:
        return self.timeline.early_html()

    # -- showing ----------------------------------------------------------------------------

    def show_photo(self, photo_id: int, notice: str = "", original: bool = False) -> None:
        """Open a photo in the viewer (one the scope admits)."""
        if not self.scope.admits(photo_id):
            self.current = None
            self.viewer.send({"type": "close"})
            return
        self.current = int(photo_id)
        d = self.lib.photo_details(photo_id)
        media, data = self._media(d, original)
        faces = [{"left": f["left"] / f["image_width"], "top": f["top"] / f["image_height"],
                  "width": (f["right"] - f["left"]) / f["image_width"],
                  "height": (f["bottom"] - f["top"]) / f["image_height"],
                  "name": f["person_name"], "id": int(f["face_id"])}
                 for f in d["faces"] if f["image_width"] and f["image_height"]]
        still = (d["mime"] or "") in BROWSER_IMAGES and not d["has_motion_video"]
        paired = d["raw_id"] not in (None, d["photo_id"])  # a RAW kept with this JPEG
        changes = self.scope.changes
        self.viewer.send({"type": "show", "id": int(photo_id), "media": media,
                          "details": details_html(d, self.scope),
                          "faces": faces if self.scope.names else [],
                          "favorite": bool(d["favorite"]), "notice": notice,
                          "original": still and not original and self.scope.download,
                          "albums": own_albums(self.lib) if changes else [],
                          "taken_at": d["taken_at"].isoformat(timespec="seconds")
                          if d["taken_at"] is not None else "",
                          "similar": self.on_similar is not None,
                          "editable": changes and can_change(self.lib), "changes": changes,
                          "download": self.scope.download, "raw": d["raw_id"] is not None,
                          "raw_download": self.scope.download and paired,
                          "paired": paired}, [data])

    def _media(self, d: dict[str, Any], original: bool) -> tuple[str, bytes]:
        """What the viewer plays or shows: a video as stored (when browsers play it), a
        motion photo's clip, the original on request, else the big thumbnail."""
        mime, size = d["mime"] or "", d["size_bytes"] or 0
        path = Path(d["path"])
        made = self.lib.previews([d["photo_id"]])
        try:
            if made.height and made["mp4"][0]:  # the previews stage's H.264 copy or clip
                return "video/mp4", Path(made["mp4"][0]).read_bytes()
            if mime in BROWSER_VIDEOS and size <= MAX_ORIGINAL_BYTES:
                return mime, self._original(d["photo_id"], path)
            if d["has_motion_video"]:
                return "video/mp4", self.lib.motion_video(d["photo_id"]).read_bytes()
            if original and mime in BROWSER_IMAGES and size <= MAX_ORIGINAL_BYTES:
                return mime, self._original(d["photo_id"], path)
            return "image/webp", self.lib.thumbnail(d["photo_id"], "big").read_bytes()
        except (PhotolabError, OSError):
            return "image/svg+xml", NO_PREVIEW

    def _original(self, photo_id: int, path: Path) -> bytes:
        raw = self.lib.catalog.raw_paths([photo_id]).get(photo_id)
        return Path(raw.decode("utf-8", "surrogateescape") if raw else path).read_bytes()

    # -- the viewer's buttons and keys ------------------------------------------------------

    def _action(self, kind: str, content: dict[str, Any]) -> None:
        if self.current is None:
            return
        if not self.scope.admits(self.current):  # the share ended: nothing more
            self.current = None
            self.viewer.send({"type": "close"})
            return
        if kind == "close":
            self.current = None
            self.viewer.send({"type": "close"})
        elif kind in ("prev", "next"):
            self.step(-1 if kind == "prev" else 1)
        elif kind == "original" and self.scope.download:  # (a share without downloads:
            self.show_photo(self.current, original=True)  # the big thumbnail alone)
        elif kind == "download" and self.scope.download:
            self.download(self.current, raw=bool(content.get("raw")))
        elif kind == "similar" and self.on_similar is not None:
            pid, self.current = self.current, None
            self.viewer.send({"type": "close"})
            self.on_similar(pid)
        elif kind in ACTIONS and self.scope.changes:
            self._decide(kind, content)

    def step(self, by: int) -> None:
        """Open the photo `by` places after the one open (loading pages as needed)."""
        ids = self.timeline.ids
        i = ids.index(self.current) + by if self.current in ids else 0
        while i >= len(ids) and not self.timeline.done:
            self.timeline.send_page()
        if 0 <= i < len(ids):
            self.show_photo(ids[i])

    def download(self, photo_id: int, raw: bool = False) -> None:
        """Send the original file to the page, which saves it under its own name (`raw`:
        the RAW file a RAW+JPEG pair keeps with the JPEG)."""
        d = self.lib.photos(photo_ids=[int(photo_id)]).row(0, named=True)
        if raw and d["paired_with"] is not None:  # (the pair is the photo admitted)
            photo_id = int(d["paired_with"])
            d = self.lib.photos(photo_ids=[photo_id]).row(0, named=True)
        if (d["size_bytes"] or 0) > MAX_ORIGINAL_BYTES:
            self.viewer.send({"type": "notice", "text": "This file is too big to download "
                              "from here; ask the library's owner for it."})
            return
        try:
            data = self._original(int(photo_id), Path(d["path"]))
        except OSError:
            self.viewer.send({"type": "notice", "text": "The original file cannot be read."})
            return
        self.viewer.send({"type": "download", "name": shown_path(d["path"], guest=True),
                          "mime": d["mime"] or "application/octet-stream"}, [data])

    def _refused(self, call: Callable[[], str]) -> tuple[bool, str]:
        """Run a change; (done, what to tell the person)."""
        try:
            return True, call()
        except ReadOnlyError:
            return False, ("View only: this library is shared read-only, so nothing here "
                           "can be changed.")
        except PhotolabError as e:
            return False, str(e)

    def _decide(self, kind: str, content: dict[str, Any]) -> None:
        pid = self.current
        assert pid is not None
        done, text = self._refused(lambda: decide(self.lib, kind, pid, content))
        if done:
            self.show_photo(pid, notice=text)
        else:
            self.viewer.send({"type": "notice", "text": text})

    def _album(self, photo_ids: list[int], name: str) -> str:
        """The timeline's selection added to an album."""
        return self._refused(lambda: add_to_named_album(self.lib, name, photo_ids))[1]
