"""`HomePage`: the home page of `photolab serve`, the search box and its filters above the
photos app's timeline."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ipywidgets as w

from .early import ShownEarly
from .photo_actions import can_change
from .photos import PhotosApp
from .search import SearchBox
from .upload import UploadButton

if TYPE_CHECKING:
    from ..library import Library


class HomePage(ShownEarly, SearchBox):
    """The home page of `photolab serve`: the search box and filters above the timeline
    (`PhotosApp`). Nothing typed: every photo the filters admit, day by day; words: the
    results in their order. The viewer's "More like this" shows where there are vectors.

    Example::

        HomePage(Library("~/Pictures/photolab"))
    """

    def __init__(self, library: Library, page_size: int = 60, limit: int = 240):
        self.app = PhotosApp(library, page_size, on_similar=(
            (lambda pid: self.run(like=pid)) if library.has_vectors() else None))
        super().__init__(library, page_size=page_size, limit=limit)
        # editors add photos from here (a viewer is shown no control; the server refuses too)
        self.upload = (UploadButton(library, lambda ids: self.run(), self.app.show_photo)
                       if can_change(library) else None)
        # on a phone the photos come first: the search is one line, its filters open on a
        # touch of "Filters" (`timeline.css`; on a wider screen they are always shown)
        search, *filters = self.children[:3]
        for row in (*filters, self.in_captions):
            row.add_class("photolab-filters")
        self.filters_button = w.ToggleButton(description="Filters", icon="sliders")
        self.filters_button.add_class("photolab-filters-toggle")
        self.filters_button.observe(lambda c: (self.add_class if c["new"] else self.remove_class)(
            "photolab-filters-open"), names="value")
        search.children = (*search.children, self.filters_button)
        self.add_class("photolab-home")
        self.children = (search, *filters, *([self.upload] if self.upload else []),
                         self.status, self.app)
        # a preheated kernel built its choices before anyone asked: again for the page
        self.app.timeline.on_ready = self.reload_options

    def show(self, page: int) -> None:
        """Hand what the box and the filters found to the timeline."""
        self.status.value = self._header  # says what the timeline holds: no heading there
        if self._browse is not None:
            self.app.timeline.set_source(self._browse, total=self.total)  # counted by run()
        else:
            self.app.timeline.set_source(photo_ids=self.results["photo_id"].to_list())

    def early_html(self) -> str:
        return self.app.early_html()
