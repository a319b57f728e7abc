"""`WhenOpened`: brings a widget up to date when a page shows it.

`photolab serve` runs some pages ahead in preheated kernels (`photolab.server.voila`): their
widgets are built before anyone asks, perhaps hours before. Each reviewer holds one of these
elements (of no size); when a page shows it, the widget reads the library again if anything
was written since it was built, so a preheated page is as fresh as one run on request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from .front import esm

if TYPE_CHECKING:
    from ..library import Library

class WhenOpened(anywidget.AnyWidget):
    """Calls `refresh()` when a page shows this element and the library's catalog has been
    written since the last look (`Catalog.generation`: any write, decisions included)."""

    _esm = esm("opened.mjs", "early_gone.mjs")
    #: whether showing it removes the page's early thumbnails (`photolab.widgets.early`):
    #: for a widget with no module of its own to do it
    clears_early = traitlets.Bool(False).tag(sync=True)

    def __init__(self, library: Library, refresh: Callable[[], None],
                 clears_early: bool = False):
        super().__init__(clears_early=clears_early)
        self.lib, self.refresh = library, refresh
        self.seen = library.catalog.generation()
        self.on_msg(self._message)

    def _message(self, _: Any, content: dict[str, Any], buffers: list[bytes]) -> None:
        if content.get("type") == "opened":
            now = self.lib.catalog.generation()
            if now != self.seen:
                self.seen = now
                self.refresh()
