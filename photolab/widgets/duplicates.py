"""`DuplicateReview`: one duplicate group at a time, with the decisions a person makes."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import ipywidgets as w
import polars as pl

from ..access import shown_path
from ..errors import PhotolabError
from ._children import replace_children
from ._controls import Button, for_guests
from ._html import error_html, image
from .early import EARLY_MAX, ShownEarly, covers_html
from .opened import WhenOpened

if TYPE_CHECKING:
    from ..library import Library


def _size(n: int | None) -> str:
    return "?" if n is None else f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


class DuplicateReview(ShownEarly, w.VBox):
    """Review duplicate groups: thumbnails with size, resolution, date, path and distance;
    mark the keeper, say "not a duplicate", move the other copies to the trash (and undo);
    a radius slider regroups live.

    Parameters
    ----------
    library : the Library to review.
    threshold : starting pHash radius (default: the library's `dupe_threshold`).
    thumb_size : which thumbnail to show ("small" or "tiny").

    Example (in a notebook cell, the widget is the cell's output)::

        DuplicateReview(Library("~/Pictures/photolab"))
    """

    def __init__(self, library: Library, threshold: int | None = None,
                 thumb_size: str = "small"):
        self.lib = library
        self.thumb_size = thumb_size
        self.index = 0
        self.last_resolve: int | None = None
        start = library.settings.dupe_threshold if threshold is None else threshold
        self.slider = w.IntSlider(value=start, min=0, max=20, description="radius",
                                  continuous_update=False)
        self.prev = Button(description="◀ previous", layout=w.Layout(width="110px"))
        self.next = Button(description="next ▶", layout=w.Layout(width="110px"))
        self.position = w.HTML()
        self.resolve = Button(description="Move other copies to trash", button_style="warning",
                                icon="trash", layout=w.Layout(width="250px"))
        self.undo = Button(description="Undo", icon="undo", disabled=True)
        self.status = w.HTML()
        self.cards = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self.slider.observe(lambda _: self.refresh(), names="value")
        self.prev.on_click(lambda _: self.show(self.index - 1))
        self.next.on_click(lambda _: self.show(self.index + 1))
        self.resolve.on_click(lambda _: self._resolve())
        self.undo.on_click(lambda _: self._undo())
        self.guest_note = for_guests(library.read_only, self.resolve, self.undo)
        super().__init__([w.HBox([self.slider, self.prev, self.position, self.next]),
                          self.cards, w.HBox([self.resolve, self.undo]), self.status,
                          self.guest_note,
                          WhenOpened(library, self.refresh, clears_early=True)])
        self.refresh()

    # -- state ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Regroup from the catalog (after a decision or a new radius) and redraw."""
        self.groups = self.lib.duplicates(self.slider.value)  # with each copy's date
        self.group_ids = self.groups["group_id"].unique(maintain_order=True).to_list()
        self.show(self.index)

    def show(self, index: int) -> None:
        """Show the group at `index` (clamped to the groups there are)."""
        n = len(self.group_ids)
        self.index = max(0, min(index, n - 1)) if n else 0
        self.prev.disabled = self.index == 0
        self.next.disabled = self.index >= n - 1
        self.resolve.disabled = n == 0 or self.lib.read_only
        if not n:
            self.position.value = "no duplicates at this radius"
            replace_children(self.cards, ())
            return
        group = self.current()
        reclaim = group["reclaimable_bytes"].sum()
        self.position.value = (f"group {self.index + 1} of {n}: {group.height} copies, "
                               f"{_size(reclaim)} reclaimable")
        replace_children(self.cards, (self._card(r) for r in group.iter_rows(named=True)))

    def early_html(self) -> str:
        """The first group as plain HTML (`photolab.widgets.early`): what it is and its
        copies, until the page's widgets show it."""
        if not self.group_ids:
            return ""
        rows = list(self.current().head(EARLY_MAX).iter_rows(named=True))
        items, images = [], []
        for r in rows:
            try:
                data = self.lib.thumbnail(r["photo_id"], "tiny").read_bytes()  # ~7 kB each
            except PhotolabError:
                data = b""
            images.append(image(data))
            items.append({"kind": "copy", "title": "★ keeper" if r["is_keeper"]
                          else f"{r['kind']}, distance {r['distance']}",
                          "subtitle": f"{r['width']}×{r['height']} · {_size(r['size_bytes'])}"})
        return f"<p>{html.escape(self.position.value)}</p>{covers_html(items, images)}"

    def current(self) -> pl.DataFrame:
        """The group on screen."""
        return self.groups.filter(pl.col("group_id") == self.group_ids[self.index])

    def keeper(self) -> int:
        return int(self.current().filter("is_keeper")["photo_id"][0])

    # -- view -------------------------------------------------------------------------------

    def _card(self, r: dict) -> w.VBox:
        try:
            data = self.lib.thumbnail(r["photo_id"], self.thumb_size).read_bytes()
        except PhotolabError:
            data = b""
        img = w.Image(value=data, format="webp", layout=w.Layout(max_width="240px"))
        when = r["taken_at"].strftime("%Y-%m-%d %H:%M") if r["taken_at"] else "no date"
        badge = "<b>★ keeper</b>" if r["is_keeper"] else f"{r['kind']}, distance {r['distance']}"
        path = html.escape(shown_path(r["path"], self.lib.read_only))
        info = w.HTML(
            f"<div style='line-height:1.35'>{badge}<br>"
            f"{r['width']}×{r['height']} · {_size(r['size_bytes'])}<br>{when}<br>"
            f"<small style='word-break:break-all' title='{path}'>{path}</small></div>")
        keep = Button(description="Keep this", disabled=r["is_keeper"],
                        layout=w.Layout(width="115px"))
        other = Button(description="Not a duplicate", disabled=r["is_keeper"],
                         layout=w.Layout(width="115px"))
        pid = int(r["photo_id"])
        for_guests(self.lib.read_only, keep, other)
        keep.on_click(lambda _: self._decide(self.lib.keep, pid, "kept"))
        other.on_click(lambda _: self._decide(
            lambda p: self.lib.not_duplicate(self.keeper(), p), pid, "no longer a duplicate"))
        card = w.VBox([img, info, w.HBox([keep, other])],
                      layout=w.Layout(width="250px", margin="4px", padding="4px",
                                      border="2px solid #2a7" if r["is_keeper"]
                                      else "1px solid #ccc"))
        card.photo_id = pid  # type: ignore[attr-defined]
        card.keep_button, card.not_duplicate_button = keep, other  # type: ignore[attr-defined]
        return card

    # -- callbacks --------------------------------------------------------------------------

    def _decide(self, verb, photo_id: int, what: str) -> None:  # type: ignore[no-untyped-def]
        try:
            verb(photo_id)
        except PhotolabError as e:
            self.status.value = error_html(e, self.lib.read_only)
            return
        self.refresh()
        self.status.value = f"photo {photo_id} {what}"

    def _resolve(self) -> None:
        keeper = self.keeper()
        try:
            self.last_resolve = self.lib.resolve_duplicates(keeper, self.slider.value)
        except PhotolabError as e:
            self.status.value = error_html(e, self.lib.read_only)
            return
        self.undo.disabled = False
        self.refresh()
        self.status.value = f"kept photo {keeper}; the other copies are in the library's trash"

    def _undo(self) -> None:
        if self.last_resolve is None:
            self.status.value = "nothing to undo"
            return
        try:
            self.lib.undo(self.last_resolve)
        except PhotolabError as e:
            self.status.value = error_html(e, self.lib.read_only)
            return
        self.last_resolve = None
        self.undo.disabled = True
        self.refresh()
        self.status.value = "restored the copies from the trash"
