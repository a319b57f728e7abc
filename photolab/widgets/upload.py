"""`UploadButton`: "Add photos" on the home page (editors only): the files a member picks
(a phone's picker too) are sent one by one to the server's upload handler
(`photolab.server.uploads`, not through the kernel), with progress on the page; the page's
photos are read again as they are ingested, without a reload.

Stable class name for tests and styling: `photolab-upload` (the file input).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets as t

from .front import css, esm

if TYPE_CHECKING:
    from ..library import Library


class UploadButton(anywidget.AnyWidget):
    """The "Add photos" control; `on_added(photo_ids)` is called when uploaded photos are in
    the catalog (scanned) and again once they are ingested (their thumbnails made);
    `on_show(photo_id)` for a file whose content the library had already (it is shown)."""

    _esm = esm("upload.mjs")
    _css = css("upload.css")
    #: photo ids the handler added and the page does not show with thumbnails yet
    waiting = t.List(t.Int()).tag(sync=True)

    def __init__(self, library: Library, on_added: Callable[[list[int]], None],
                 on_show: Callable[[int], None]):
        super().__init__()
        self.lib, self.on_added, self.on_show = library, on_added, on_show
        self.on_msg(self._message)

    def _message(self, _: Any, content: dict[str, Any], buffers: list[bytes]) -> None:
        if content.get("kind") == "added":  # scanned: shown now, as "no preview" until made
            ids = [int(i) for i in content.get("photo_ids", [])]
            self.waiting = sorted(set(self.waiting) | set(ids))
            self.on_added(ids)
        elif content.get("kind") == "show":
            self.on_show(int(content["photo_id"]))
        elif content.get("kind") == "poll" and self.waiting:  # the page asks every few seconds
            done = self._ingested(self.waiting)
            if done:
                self.waiting = [i for i in self.waiting if i not in done]
                self.on_added(sorted(done))

    def _ingested(self, photo_ids: list[int]) -> set[int]:
        """The photos among these whose thumbnails are made (or that failed: told there)."""
        runs = self.lib.catalog.frame_in(
            "SELECT photo_id FROM stage_runs WHERE stage = 'thumbnails' AND photo_id IN ({ids})",
            photo_ids)
        return {int(i) for i in runs["photo_id"]} if runs.height else set()
