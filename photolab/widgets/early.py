"""What a page served by `photolab serve` shows before its widgets: its first thumbnails (or
covers) as plain HTML in the notebook's output, marked `{"photolab": "early"}`, which
photolab's Voilà template (`photolab/server/jupyter/voila/templates/photolab`) writes into the
page itself, so they are on screen at its first paint while the browser still loads Voilà's
scripts and connects to the kernel (about two seconds on this project's machines). The
widget removes them when its own first page arrives (`earlyGone()`, static/early_gone.mjs);
they cannot be clicked until then.

Only where `SERVED_ENV` is set (`photolab serve` sets it for its kernels): a notebook in
JupyterLab, or one run by papermill, keeps its outputs free of them. A page run ahead
(preheated) shows the photos of the moment it ran; its widget reads the library again when
the page opens.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Callable
from typing import Any

from ..server import SERVED_ENV
from ._html import NO_PREVIEW, NONE
from .front import css

#: thumbnails shown ahead: a first screen's worth (the widget sends the rest)
EARLY_MAX = 30
#: the early HTML's styles: the same tile and cover rules as the widgets'
_CSS = f"<style>{css('tiles.css', 'covers.css', 'early.css')}</style>"


def served() -> bool:
    """Whether this kernel runs a page of `photolab serve`."""
    return os.environ.get(SERVED_ENV) == "1"


def _img(data: bytes, mime: str, title: str) -> str:
    if mime == NONE:
        data, mime = NO_PREVIEW, "image/svg+xml"
    src = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    return f"<img src='{src}' alt='' title='{html.escape(title, quote=True)}'>"


def tiles_html(tiles: list[dict[str, Any]], images: list[tuple[bytes, str]]) -> str:
    """A timeline's first tiles (`Timeline._tile` rows) under their month and day headings."""
    out: list[str] = []
    month = day = None
    for t, (data, mime) in zip(tiles, images, strict=True):
        if (t["month"], t["day"]) != (month, day) and out:
            out.append("</div>")  # the day's grid before
        if t["month"] != month:
            if t["month_label"]:
                out.append(f"<h2>{html.escape(t['month_label'])}</h2>")
            month, day = t["month"], None
        if t["day"] != day:
            if t["day_label"]:
                out.append(f"<h3>{html.escape(t['day_label'])}</h3>")
            out.append("<div class='pe-grid'>")
            day = t["day"]
        badge = f"<span class='pe-badge'>{t['badge']}</span>" if t["badge"] else ""
        out.append(f"<figure class='pe-box'>{_img(data, mime, t['label'])}{badge}</figure>")
    # the timeline's bar (jump list, count, Select) goes above its tiles: room for it
    return f"<div class='pe-bar'></div>{''.join(out)}</div>" if out else ""


def covers_html(items: list[dict[str, Any]], images: list[tuple[bytes, str]]) -> str:
    """A page's first covers (title, subtitle, kind) as the covers widget lays them out."""
    cards = [f"<figure class='pe-cover pe-{html.escape(it['kind'])}'>"
             f"{_img(data, mime, it['title'])}<figcaption><b>{html.escape(it['title'])}</b>"
             f"<br><small>{html.escape(it['subtitle'])}</small></figcaption></figure>"
             for it, (data, mime) in zip(items, images, strict=True)]
    return f"<div class='pe-covers'>{''.join(cards)}</div>" if cards else ""


class ShownEarly:
    """A widget whose page, when served, shows `early_html()` first (see the module)."""

    def early_html(self) -> str:
        """The plain HTML of the first thumbnails ('' for none)."""
        raise NotImplementedError

    def _ipython_display_(self) -> None:
        from IPython.display import HTML, display

        if served():
            body = self.early_html()
            if body:
                display(HTML(f"{_CSS}<div class='photolab-early'>{body}</div>"),
                        metadata={"photolab": "early"})
        bundle: Callable[..., Any] = self._repr_mimebundle_  # type: ignore[attr-defined]
        display(bundle(), raw=True)
