"""`SearchBox`: find photos by words or by describing them, or like a photo, with filters and
paging (`HomePage` puts the same box above the photos app's timeline)."""

from __future__ import annotations

import html
from datetime import date
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import polars as pl

from ..errors import PhotolabError
from ._children import replace_children
from ._controls import Button
from ._html import NO_PREVIEW, error_html

if TYPE_CHECKING:
    from ..library import Library

ANYONE = "anyone"
ANY_TAG = "any scene"


class SearchBox(w.VBox):
    """A text box and a thumbnail grid: the newest photos until someone types, then results
    with scores, dates, scene tags and captions,
    "more like this" on every result, filters (person, place, scene tag, camera, dates), a
    switch to match the words in captions instead of the pictures, paging.

    Parameters
    ----------
    library : the Library to search.
    page_size : results per page.
    limit : results fetched per query (pages beyond it are not shown).
    thumb_size : which thumbnail to show ("small" or "tiny").

    Example (in a notebook cell, the widget is the cell's output)::

        SearchBox(Library("~/Pictures/photolab"))
    """

    def __init__(self, library: Library, page_size: int = 24, limit: int = 240,
                 thumb_size: str = "tiny"):
        self.lib, self.page_size, self.limit, self.thumb_size = (library, page_size, limit,
                                                                 thumb_size)
        #: "More like this" where there are vectors to compare
        self.vectors = library.has_vectors()
        #: the results shown: every hit of a search, or the page on screen when browsing
        self.results = pl.DataFrame()
        #: how many photos or hits there are in all
        self.total = 0
        self.page = 0
        self._browse: dict[str, Any] | None = None  # filters, while nothing is typed
        self._keys: list[int | None] = []  # the photo before each page browsed so far
        self.like: int | None = None
        self._header = ""
        self.text = w.Text(placeholder=("a person, a place, a year, or describe a photo"
                                        if self.vectors else
                                        "a person, a place, a camera, a year, a word"),
                           continuous_update=False,
                           layout=w.Layout(width="420px", max_width="calc(100vw - 40px)"))
        self.go = Button(description="Search", icon="search", button_style="primary")
        self.in_captions = w.Checkbox(description="words in captions", indent=False,
                                      layout=w.Layout(width="170px"))
        self.person = w.Dropdown(description="person", options=[ANYONE],
                                 layout=w.Layout(width="220px"))
        self.place = w.Combobox(description="place", placeholder="country, region or city",
                                ensure_option=False, layout=w.Layout(width="260px"))
        self.tag = w.Dropdown(description="scene", options=[ANY_TAG],
                              layout=w.Layout(width="200px"))
        self.camera = w.Text(description="camera", placeholder="make or model",
                             continuous_update=False, layout=w.Layout(width="220px"))
        self.after = w.DatePicker(description="after", layout=w.Layout(width="230px"))
        self.before = w.DatePicker(description="before", layout=w.Layout(width="230px"))
        self.prev = Button(description="◀ previous", layout=w.Layout(width="110px"))
        self.next = Button(description="next ▶", layout=w.Layout(width="110px"))
        self.status = w.HTML()
        self.grid = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self.text.observe(lambda _: self.run(), names="value")
        self.go.on_click(lambda _: self.run())
        for f in (self.person, self.tag, self.after, self.before, self.camera,
                  self.in_captions):
            f.observe(lambda _: self._refilter(), names="value")
        self.place.observe(lambda _: self._refilter(), names="value")
        self.prev.on_click(lambda _: self.show(self.page - 1))
        self.next.on_click(lambda _: self.show(self.page + 1))
        super().__init__([
            w.HBox([self.text, self.go, self.in_captions],
                   layout=w.Layout(flex_flow="row wrap")),
            w.HBox([self.person, self.place, self.tag], layout=w.Layout(flex_flow="row wrap")),
            w.HBox([self.camera, self.after, self.before],
                   layout=w.Layout(flex_flow="row wrap")),
            w.HBox([self.prev, self.status, self.next]), self.grid])
        self.reload_options()
        self.run()

    # -- state ------------------------------------------------------------------------------

    def reload_options(self) -> None:
        """Fill the person, place and scene choices from the catalog."""
        names = sorted(n for n in self.lib.labels().people()["name"].drop_nulls().to_list() if n)
        self.person.options = [ANYONE, *names]
        self.place.options = self.lib.place_names()
        self.tag.options = [ANY_TAG, *self.lib.scene_tag_names()]

    def filters(self) -> dict[str, Any]:
        """The filters the controls hold, as `Library.search` keywords."""
        f: dict[str, Any] = {}
        if self.person.value and self.person.value != ANYONE:
            f["person"] = self.person.value
        if self.place.value.strip():
            f["place"] = self.place.value.strip()
        if self.tag.value and self.tag.value != ANY_TAG:
            f["tag"] = self.tag.value
        if self.camera.value.strip():
            f["camera"] = self.camera.value.strip()
        for key in ("after", "before"):
            value = getattr(self, key).value
            if isinstance(value, date):
                f[key] = value
        return f

    def run(self, like: int | None = None) -> None:
        """Search for the text (or for photos like `like`) with the filters; show page 1."""
        self.like = like
        words = self.text.value.strip()
        try:
            if like is None and not words:  # nothing typed: the newest photos, filtered,
                self._browse = self._resolved(self.filters())  # pages read by key
                self.total = self.lib.count_recent(**self._browse)
                self._keys = [None]
                self._header = (f"{self.total} photo{'s' if self.total != 1 else ''}, "
                                "newest first")
                self.show(0)
                return
            self._browse = None
            if like is not None:
                self.results = self.lib.similar(like, self.limit, **self.filters())
            elif self.in_captions.value:
                self.results = self.lib.search_captions(words, self.limit, **self.filters())
            else:  # words in what is known of each photo, then (with CLIP) its looks
                self.results = self.lib.find(words, self.limit, **self.filters())
        except PhotolabError as e:
            self.results, self.total, self._browse = pl.DataFrame(), 0, None
            self.status.value = error_html(e, self.lib.read_only)
            replace_children(self.grid, ())
            return
        what = f"photos like #{like}" if like is not None else f"“{html.escape(words)}”"
        self.total = n = self.results.height
        self._header = f"{n} result{'s' if n != 1 else ''} for {what}"
        if n == 0 and like is None:
            self._header = self._nothing_found(words)
        self.show(0)

    def _nothing_found(self, words: str) -> str:
        """What to say when no photo has the words: and, where there are no CLIP vectors,
        what a search by the looks of photos needs."""
        said = f"No photo has every word of “{html.escape(words)}”."
        if self.in_captions.value or self.vectors:
            return said
        try:
            self.lib.clip_model()
        except PhotolabError as e:
            return f"{said} To find photos by what they show: {error_html(e, self.lib.read_only)}"
        return f"{said} (Photos are found by what they show once the ingest has run CLIP.)"

    def _refilter(self) -> None:
        self.run(self.like)

    def show(self, page: int) -> None:
        """Show one page of the results."""
        n = self.total
        pages = max(1, -(-n // self.page_size))
        last = pages - 1 if self._browse is None else min(pages - 1, len(self._keys) - 1)
        self.page = max(0, min(page, last))
        self.prev.disabled = self.page == 0
        self.next.disabled = self.page >= pages - 1
        if self._browse is not None:
            rows = self.results = self._browse_page(self.page)
        else:
            rows = self.results.slice(self.page * self.page_size, self.page_size)
        self.status.value = self._header + (f" · page {self.page + 1} of {pages}"
                                            if pages > 1 else "")
        if not rows.height:
            replace_children(self.grid, ())
            return
        tags = (self.lib.scene_tags(rows["photo_id"].to_list())
                .group_by("photo_id").agg(pl.col("tag").head(3)))
        rows = rows.join(tags, on="photo_id", how="left", maintain_order="left")
        replace_children(self.grid, (self._card(r) for r in rows.iter_rows(named=True)))

    def _resolved(self, filters: dict[str, Any]) -> dict[str, Any]:
        """The filters with people, places, scenes and cameras turned into photo ids once,
        so counting and every page only bound dates on the index (a person filter reads
        every face's suggestion: not once per page)."""
        dates = {k: filters.pop(k) for k in ("after", "before") if k in filters}
        allowed = self.lib.filter_photos(**filters)
        return dates if allowed is None else {**dates, "photo_ids": allowed.tolist()}

    def _browse_page(self, page: int) -> pl.DataFrame:
        """One page of the newest photos, read from where the page before it ended."""
        assert self._browse is not None
        rows = self.lib.recent(self.page_size, after_photo=self._keys[page], **self._browse)
        if rows.height and len(self._keys) == page + 1:
            self._keys.append(int(rows["photo_id"][-1]))
        return rows.with_columns(pl.col("rank") + page * self.page_size)

    # -- view -------------------------------------------------------------------------------

    def _card(self, r: dict[str, Any]) -> w.VBox:
        try:
            data = self.lib.thumbnail(r["photo_id"], self.thumb_size).read_bytes()
        except PhotolabError:
            data = b""
        # no thumbnail (its error says why): a quiet box, not a broken image
        img = w.Image(value=data or NO_PREVIEW, format="webp" if data else "svg+xml",
                      layout=w.Layout(max_width="190px", max_height="190px"))
        if not data:
            img.add_class("photolab-nopreview")
        when = r["taken_at"].strftime("%Y-%m-%d") if r["taken_at"] else "no date"
        tags = ", ".join(r["tag"] or [])
        caption = f"<br>{html.escape(r['caption'])}" if r.get("caption") else ""
        score = f" · score {r['score']:.3f}" if r["score"] is not None else ""
        info = w.HTML(f"<div style='line-height:1.3;font-size:12px'>#{r['rank']}{score}"
                      f"<br>{when}<br><i>{html.escape(tags)}</i>{caption}</div>",
                      layout=w.Layout(width="190px"))
        info.add_class("photolab-result")
        more = Button(description="More like this", layout=w.Layout(width="150px"))
        pid = int(r["photo_id"])
        more.on_click(lambda _: self.run(like=pid))
        card = w.VBox([img, info, *([more] if self.vectors else [])],
                      layout=w.Layout(width="200px", margin="4px", padding="4px",
                                      border="1px solid #ccc"))
        card.photo_id = pid  # type: ignore[attr-defined]
        card.more_button = more  # type: ignore[attr-defined]
        return card

