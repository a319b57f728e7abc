"""Albums shared by link with someone outside the family (the wedding's photographer, a
friend from the trip): `lib.shares`.

A share gives one album, read-only, to whoever holds its link: that album's timeline and
viewer and nothing else of the library (`photolab.server.gate` refuses every other page,
file and kernel to the link's holder; `photolab.widgets.shared` shows only the album's
photos). People's names show only when the share allows it (`names`), originals download
only when it allows that (`download`). A share ends when it expires or is revoked: its link
then leads to the login page, at once.

A link carries a token `share-<share_id>.<secret>`; the catalog keeps only the SHA-256 of the
secret, as for members' links (`photolab.members`).
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from ..access import writes
from ..context import Service
from ..errors import NotFoundError, PhotolabError
from ..ledger import now_iso
from ..members import same_secret, secret_digest

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..context import Context
    from .verbs import AlbumsService

TOKEN_PREFIX = "share-"
#: where `photolab serve` is reached unless told (its default port)
SERVE_URL = "http://127.0.0.1:8866"
#: the page a share's link opens (`dashboards/shared.ipynb`)
SHARED_PAGE = "shared.ipynb"
SHARE_SCHEMA = {"share_id": pl.Int64, "album_id": pl.Int64, "album": pl.String,
                "names": pl.Boolean, "download": pl.Boolean, "expires_at": pl.String,
                "created_at": pl.String, "created_by": pl.String, "revoked_at": pl.String,
                "active": pl.Boolean}
UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1),
         "y": timedelta(days=365)}


class ShareNotFoundError(NotFoundError):
    """No share with that id."""


def parse_expiry(expires: str | timedelta | datetime | None) -> str | None:
    """When a share ends, as the catalog stores times (UTC ISO), from "30d", "12h", "2w",
    "1y", a `timedelta` from now, a `datetime`, or None / "never" (until revoked)."""
    if expires is None or expires == "never":
        return None
    if isinstance(expires, str):
        m = re.fullmatch(r"\s*(\d{1,5})\s*([hdwy])\s*", expires.lower())
        if m is None:
            raise PhotolabError(f"expires {expires!r}: give a length like 30d, 12h, 2w, 1y, "
                                "or never")
        expires = int(m.group(1)) * UNITS[m.group(2)]
    if isinstance(expires, timedelta):
        if expires <= timedelta(0):
            raise PhotolabError("a share must last some time")
        expires = datetime.now(UTC) + expires
    if expires.astimezone(UTC) <= datetime.now(UTC):
        raise PhotolabError(f"expires {expires:%Y-%m-%d %H:%M}: that is past; a share must "
                            "last some time")
    return expires.astimezone(UTC).isoformat(timespec="milliseconds")


def parse_token(token: str | None) -> tuple[int, str] | None:
    """(share_id, secret) of a share's token, or None when it is not one."""
    m = re.fullmatch(re.escape(TOKEN_PREFIX) + r"(\d{1,12})\.([A-Za-z0-9_-]{16,128})",
                     token or "")
    return (int(m.group(1)), m.group(2)) if m else None


def active_share(catalog: Catalog, share_id: int) -> dict[str, Any] | None:
    """A share that has neither expired nor been revoked (`share_id`, `album_id`, `names`,
    `download`, `expires_at`), as the catalog says now; else None."""
    row = catalog.frame(
        "SELECT share_id, album_id, names, download, expires_at FROM shares "
        "WHERE share_id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)",
        [int(share_id), now_iso()])
    if row.height == 0:
        return None
    out = row.row(0, named=True)
    out["names"], out["download"] = bool(out["names"]), bool(out["download"])
    return out


def share_for_token(catalog: Catalog, token: str | None) -> dict[str, Any] | None:
    """The active share a link's token opens, or None."""
    parsed = parse_token(token)
    if parsed is None:
        return None
    found = active_share(catalog, parsed[0])
    if found is None:
        return None
    digest = catalog.frame("SELECT secret_sha256 FROM shares WHERE share_id = ?",
                           [parsed[0]]).item()
    return found if same_secret(digest, parsed[1]) else None


def share_link(base_url: str, token: str) -> str:
    """The link that opens a share, on the server at `base_url` (http://host:port/)."""
    return f"{base_url.rstrip('/')}/voila/render/{SHARED_PAGE}?token={token}"


class SharesService(Service):
    """Albums shared by link (`lib.shares()` lists them). Uses the albums service (which album
    a name or id is, and its photos)."""

    def __init__(self, ctx: Context, albums: AlbumsService):
        super().__init__(ctx)
        self.albums = albums

    def __call__(self, album: int | str | None = None) -> pl.DataFrame:
        return self.shares(album)

    @writes
    def share_album(self, album: int | str, expires: str | timedelta | datetime | None = None,
                    download: bool = True, names: bool = False) -> str:
        """Share an album (by id or name) with whoever gets the link; returns the link's
        token (shown once: only its hash is kept; `share_link` makes the link).
        `expires`: "30d", "12h", a `timedelta`... (default: until revoked); `download`:
        originals may be downloaded; `names`: people's names are shown."""
        a = self.albums.album(album)
        until = parse_expiry(expires)
        secret = secrets.token_urlsafe(32)
        with self.catalog.transaction() as c:
            cur = c.execute(
                "INSERT INTO shares (album_id, secret_sha256, names, download, expires_at, "
                "created_at, created_by) VALUES (?,?,?,?,?,?,?)",
                (int(a["album_id"]), secret_digest(secret), int(bool(names)),
                 int(bool(download)), until, now_iso(), self.who))
            share_id = int(cur.lastrowid or 0)
        return f"{TOKEN_PREFIX}{share_id}.{secret}"

    def shares(self, album: int | str | None = None) -> pl.DataFrame:
        """Every share (of one album): `share_id`, `album_id`, `album` (its name), `names`,
        `download`, `expires_at`, `created_at`, `created_by`, `revoked_at`, `active`
        (neither expired nor revoked); newest first. Never their secrets."""
        rows = self.catalog.frame(
            "SELECT share_id, album_id, names, download, expires_at, created_at, created_by, "
            "revoked_at, (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)) "
            "AS active FROM shares ORDER BY share_id DESC", [now_iso()],
            schema={k: (pl.Int64 if t == pl.Boolean else t) for k, t in SHARE_SCHEMA.items()
                    if k != "album"})
        if album is not None:
            rows = rows.filter(pl.col("album_id") == self.albums.album(album)["album_id"])
        named = self.albums().select("album_id", album="name")
        return (rows.join(named, on="album_id", how="left", maintain_order="left")
                .with_columns(pl.col("names", "download", "active").cast(pl.Boolean))
                .select(list(SHARE_SCHEMA)))

    @writes
    def revoke_share(self, share_id: int) -> None:
        """End a share: its link leads to the login page from its next request, and a page
        open with it answers nothing more."""
        with self.catalog.transaction() as c:
            cur = c.execute("UPDATE shares SET revoked_at = ?, revoked_by = ? "
                            "WHERE share_id = ? AND revoked_at IS NULL",
                            (now_iso(), self.who, int(share_id)))
            if cur.rowcount == 0 and c.execute("SELECT 1 FROM shares WHERE share_id = ?",
                                               (int(share_id),)).fetchone() is None:
                raise ShareNotFoundError(f"no share {share_id}")
