"""A shared album's page and the panel that shares one.

- `SharedAlbum` (`dashboards/shared.ipynb`): what the holder of a shared album's link sees:
  the album's timeline and viewer, read-only, with no search, no other album, and people's
  names and downloads only where the share allows them (`photolab.widgets.photos.Scope`,
  checked on every message the page sends). When the share ends while the page is open, the
  page answers nothing more.
- `SharePanel` (the album page's "Share" button, editors): makes a link (how long it works,
  whether names show, whether originals download), lists the album's links, and ends them.

Stable class names: `photolab-share` (the Share button), `photolab-share-link` (a link made),
`photolab-shared` (a shared album's page).
"""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import ipywidgets as w

from ..albums.shares import SERVE_URL, active_share, share_link
from ..errors import PhotolabError
from .early import ShownEarly
from .photos import PhotosApp
from .scope import Scope

if TYPE_CHECKING:
    from ..library import Library

#: what the Share panel offers for how long a link works
EXPIRIES = (("until I stop it", "never"), ("1 day", "1d"), ("7 days", "7d"), ("30 days", "30d"),
            ("1 year", "1y"))
ENDED = "This link no longer works: ask whoever shared the album for a new one."


class SharedAlbum(ShownEarly, w.VBox):
    """One shared album, as its link's holder sees it.

    Parameters
    ----------
    library : the Library (opened read-only by the page).
    share_id : the share the page was opened with (`photolab.server.members.member_hook` says
        which; the page cannot choose).
    """

    def __init__(self, library: Library, share_id: int, page_size: int = 60):
        self.lib, self.share_id = library, int(share_id)
        self.app: PhotosApp | None = None
        share = active_share(library.catalog, self.share_id)
        header = w.HTML()
        header.add_class("photolab-shared-header")
        super().__init__([header])
        self.add_class("photolab-shared")
        if share is None:
            header.value = f"<h2>{html.escape(ENDED)}</h2>"
            return
        try:
            album = library.album(int(share["album_id"]))
        except PhotolabError:
            header.value = "<h2>This album is no longer there.</h2>"
            return
        ids = library.album_photos(int(album["album_id"]))["photo_id"].to_list()
        scope = Scope(photo_ids=frozenset(ids), names=share["names"],
                      download=share["download"], changes=False, alive=self.alive,
                      ended=ENDED)
        dates = " – ".join(dict.fromkeys(f"{d:%d %B %Y}" for d in (album["start"], album["end"])
                                         if d is not None))
        n = len(ids)
        header.value = (f"<h1>{html.escape(str(album['name']))}</h1><p>{n} photo"
                        f"{'' if n == 1 else 's'}{' · ' + dates if dates else ''} · shared "
                        "with you</p>")
        self.app = PhotosApp(library, page_size, scope=scope, photo_ids=ids)
        self.children = (header, self.app)

    def alive(self) -> bool:
        """Whether the share still stands (read from the catalog at each message)."""
        return active_share(self.lib.catalog, self.share_id) is not None

    def early_html(self) -> str:
        return self.app.early_html() if self.app is not None else ""


def served_base_url() -> str:
    """Where the page that asks was served from (http://host:port/), else photolab serve's
    default: a link made in a page points at the server that made the page."""
    asked = urlsplit(os.environ.get("VOILA_REQUEST_URL", ""))
    if not asked.scheme or not asked.netloc:
        return SERVE_URL
    base = os.environ.get("VOILA_BASE_URL", "/")
    return f"{asked.scheme}://{asked.netloc}{base}"


class SharePanel(w.VBox):
    """The "Share" button of an album's page and what it opens: a link for someone who is not
    a member (that album alone, read-only), and the album's links so far, each one ended by
    a click (editors; the library refuses anyone else)."""

    def __init__(self, library: Library, album_id: int):
        self.lib, self.album_id = library, int(album_id)
        self.button = w.Button(description="Share", icon="share-alt",
                               tooltip="a link for someone who is not a member")
        self.button.add_class("photolab-share")
        self.expires = w.Dropdown(options=EXPIRIES, value="never", description="Works")
        self.names = w.Checkbox(value=False, description="show people's names")
        self.download = w.Checkbox(value=True, description="allow downloads")
        self.make = w.Button(description="Make a link", button_style="primary")
        self.make.add_class("photolab-share-make")
        self.link = w.Text(description="Link", disabled=False,
                           layout=w.Layout(width="100%"))
        self.link.add_class("photolab-share-link")
        self.note = w.HTML()
        self.made = w.VBox()
        self.form = w.VBox([w.HBox([self.expires, self.names, self.download, self.make]),
                            self.note, self.made], layout=w.Layout(display="none"))
        self.button.on_click(lambda _: self.toggle())
        self.make.on_click(lambda _: self.share())
        super().__init__([self.button, self.form])

    def toggle(self) -> None:
        shown = self.form.layout.display != "none"
        self.form.layout.display = "none" if shown else ""
        if not shown:
            self.list_links()

    def share(self) -> None:
        """Make a link and show it (shown once: only its hash is kept)."""
        try:
            token = self.lib.share_album(self.album_id, expires=self.expires.value,
                                         download=self.download.value, names=self.names.value)
        except PhotolabError as e:
            self.note.value = html.escape(str(e))
            return
        self.link.value = share_link(served_base_url(), token)
        from ..server.members import members_served  # (jupyter_server: dashboards only)

        later = not members_served()  # a server started with its pages run ahead
        self.note.value = ("Copy this link now: it is shown once. Whoever has it sees this "
                           "album alone, and changes nothing."
                           + (" It works once photolab serve is started again." if later
                              else ""))
        self.list_links()

    def list_links(self) -> None:
        """The album's links that still work, each with a way to end it."""
        rows = []
        shares = self.lib.shares(self.album_id).filter("active")
        for s in shares.iter_rows(named=True):
            stop = w.Button(description="Stop sharing", button_style="warning")
            stop.add_class("photolab-share-revoke")
            stop.on_click(lambda _, i=int(s["share_id"]): self.revoke(i))
            what = ", ".join(x for x in (
                f"until {s['expires_at'][:10]}" if s["expires_at"] else "until stopped",
                "names shown" if s["names"] else "", "" if s["download"] else "no download")
                if x)
            rows.append(w.HBox([w.HTML(f"link {s['share_id']} by "
                                       f"{html.escape(str(s['created_by']))}: {what}"), stop]))
        self.made.children = ([self.link] if self.link.value else []) + rows

    def revoke(self, share_id: int) -> None:
        try:
            self.lib.revoke_share(share_id)
            self.note.value = f"Link {share_id} no longer works."
        except PhotolabError as e:
            self.note.value = html.escape(str(e))
        self.list_links()
