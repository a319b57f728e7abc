"""Albums shared by link (`photolab.albums.shares`) and the page their link opens
(`photolab.widgets.shared.SharedAlbum`), in the kernel: the secret is kept hashed, a share
ends when revoked or expired, guests and viewers share nothing, and the page answers only
for its album's photos, whatever id it is sent, one by one."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from photolab import Library
from photolab.albums.shares import parse_expiry, share_for_token, share_link
from photolab.cli import main
from photolab.errors import AlbumNotFoundError, PhotolabError, ReadOnlyError
from photolab.widgets import AlbumsPage, SharedAlbum, SharePanel
from photolab.widgets.upload import UploadButton

from .conftest import copy_files

FACES = ["faces/fr_obama/obama.jpg", "faces/fr_obama/obama2.jpg", "faces/fr_obama/obama3.jpg",
         "faces/fr_biden/biden.jpg", "exif/ianare_Canon_40D.jpg", "exif/ianare_gps_DSCN0010.jpg"]


def album_library(root: Path) -> Library:
    """Six photos, Obama named, an album "Wedding" of three of them (two with Obama), an
    album "Private" of another, two photos in none."""
    copy_files(root / "p", FACES)
    lib = Library(root / "lib")
    lib.settings.clip_cache_dir = str(root / "empty-cache")
    lib.settings.save(lib.root)
    lib.ingest([root / "p"], show_progress=False, skip=["semantic", "tags", "captions"])
    photos = lib.photos().sort("path")
    obama = photos.filter(photos["path"].str.contains("obama"))["photo_id"].to_list()
    faces = lib.faces(encodings=False)
    lib.name_faces(faces.filter(faces["photo_id"].is_in(obama))["face_id"].to_list(),
                   "Barack Obama")
    others = photos.filter(~photos["path"].str.contains("obama"))["photo_id"].to_list()
    lib.create_album("Wedding", [obama[0], obama[1], others[0]])
    lib.create_album("Private", [obama[2]])
    return lib


@pytest.fixture(scope="module")
def shared_lib(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    with album_library(tmp_path_factory.mktemp("shares")) as lib:
        yield lib


def album_ids(lib: Library, name: str = "Wedding") -> set[int]:
    return set(lib.album_photos(name)["photo_id"].to_list())


def share_id(token: str) -> int:
    return int(token.split(".")[0].removeprefix("share-"))


def test_a_share_keeps_only_its_secrets_hash_and_ends_when_revoked_or_expired(
        shared_lib: Library) -> None:
    lib = shared_lib
    token = lib.share_album("Wedding", expires="30d", download=False)
    sid, secret = share_id(token), token.partition(".")[2]
    assert len(secret) >= 40
    raw = Path(lib.root / "catalog.sqlite").read_bytes()
    assert secret.encode() not in raw  # only its hash is kept
    assert share_for_token(lib.catalog, token)["album_id"] == lib.album("Wedding")["album_id"]
    assert share_for_token(lib.catalog, token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert share_for_token(lib.catalog, f"{sid}.{secret}") is None  # a member's form: not it
    row = lib.shares().filter(share_id=sid).row(0, named=True)
    assert (row["album"], row["download"], row["names"], row["active"]) == (
        "Wedding", False, False, True)
    assert row["expires_at"][:10] == (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    assert share_link("http://h:1/", token) == f"http://h:1/voila/render/shared.ipynb?token={token}"
    # expired (the clock moved past it): no longer opens anything
    with sqlite3.connect(lib.root / "catalog.sqlite") as c:
        c.execute("UPDATE shares SET expires_at = ? WHERE share_id = ?",
                  ((datetime.now(UTC) - timedelta(seconds=1)).isoformat(), sid))
    assert share_for_token(lib.catalog, token) is None
    assert not lib.shares().filter(share_id=sid)["active"][0]
    # revoked: the same
    other = lib.share_album(lib.album("Wedding")["album_id"])
    lib.revoke_share(share_id(other))
    assert share_for_token(lib.catalog, other) is None
    with pytest.raises(PhotolabError, match="no share 999"):
        lib.revoke_share(999)


def test_bad_shares_are_refused_with_a_reason(shared_lib: Library) -> None:
    with pytest.raises(AlbumNotFoundError):
        shared_lib.share_album("No such album")
    for bad in ("5x", "-1d", "0d", "soon"):
        with pytest.raises(PhotolabError, match=r"expires|some time"):
            parse_expiry(bad)
    assert parse_expiry("never") is None and parse_expiry("12h") > datetime.now(UTC).isoformat()


def test_guests_and_viewers_share_nothing(shared_lib: Library) -> None:
    before = shared_lib.shares().height
    viewer = shared_lib.add_member("Vera", "viewer")
    assert viewer
    for lib in (Library(shared_lib.root, read_only=True),
                Library(shared_lib.root, member="Vera")):
        with pytest.raises(ReadOnlyError):
            lib.share_album("Wedding")
        with pytest.raises(ReadOnlyError):
            lib.revoke_share(1)
    assert shared_lib.shares().height == before
    shared_lib.remove_member("Vera")


class Page:
    """A shared album's page in the kernel, with what it sends to the browser recorded."""

    def __init__(self, lib: Library, sid: int):
        self.page = SharedAlbum(Library(lib.root, read_only=True), sid)
        self.sent: list[dict[str, Any]] = []
        app = self.page.app
        assert app is not None
        app.timeline.send = lambda msg, buffers=None: self.sent.append(msg)
        app.viewer.send = lambda msg, buffers=None: self.sent.append(msg)
        self.app = app

    def tell(self, **content: Any) -> list[dict[str, Any]]:
        self.sent.clear()
        self.app.timeline._message(None, content, [])
        return list(self.sent)

    def act(self, kind: str, **content: Any) -> list[dict[str, Any]]:
        self.sent.clear()
        self.app._action(kind, content)
        return list(self.sent)


def test_the_shared_page_shows_its_album_alone_whatever_id_it_is_sent(
        shared_lib: Library) -> None:
    lib = shared_lib
    mine = album_ids(lib)
    page = Page(lib, share_id(lib.share_album("Wedding", download=False)))
    # the first photos, the pages and the months: the album's alone
    assert "Wedding" in page.page.children[0].value and "3 photos" in page.page.children[0].value
    sent = page.tell(type="ready")
    tiles = [t["id"] for m in sent if m["type"] == "page" for t in m["tiles"]]
    assert set(tiles) == mine and page.app.timeline.total == 3
    assert sum(m["n"] for m in page.app.timeline.months) <= 3
    assert not page.app.timeline.selectable
    # every id of the library and past it, guessed one by one: only the album's open
    every = lib.photos()["photo_id"].to_list()
    opened = set()
    for pid in [*every, max(every) + 1, -1]:
        for kind in ("open", "animate"):
            for m in page.tell(type=kind, id=pid):
                if m["type"] == "show":
                    opened.add(m["id"])
                assert m["type"] in ("show", "animation"), m
    assert opened == mine and opened < set(every)
    # a month outside the album: still the album's photos only
    for month in ("1999-01", "2030-12"):
        tiles = [t["id"] for m in page.tell(type="jump", month=month) if m["type"] == "page"
                 for t in m["tiles"]]
        assert set(tiles) <= mine
    # the viewer: no names (the share does not show them), no download, no change
    obama_photo = next(iter(mine & set(lib.faces(encodings=False)
                                       .filter(person_name="Barack Obama")["photo_id"])))
    show = page.tell(type="open", id=obama_photo)[0]
    assert show["faces"] == [] and ">People<" not in show["details"]
    assert "Private" not in show["details"] and show["albums"] == []
    assert (show["download"], show["changes"], show["editable"], show["similar"],
            show["original"]) == (False, False, False, False, False)
    assert page.act("download") == [] and page.act("original") == []
    assert page.act("favorite") == [] and page.act("album", name="Mine") == []
    assert lib.album_photos("Wedding").height == 3 and "Mine" not in lib.albums()["name"]


def test_a_share_that_shows_names_and_downloads_does(shared_lib: Library) -> None:
    lib = shared_lib
    page = Page(lib, share_id(lib.share_album("Wedding", names=True)))
    obama_photo = next(iter(album_ids(lib) & set(
        lib.faces(encodings=False).filter(person_name="Barack Obama")["photo_id"])))
    show = page.tell(type="open", id=obama_photo)[0]
    assert {f["name"] for f in show["faces"]} == {"Barack Obama"}
    assert ">People<" in show["details"] and show["download"]
    got = page.act("download")
    assert [m["type"] for m in got] == ["download"] and "/" not in got[0]["name"]


def test_a_page_open_when_its_share_ends_answers_nothing_more(shared_lib: Library) -> None:
    lib = shared_lib
    sid = share_id(lib.share_album("Wedding"))
    page = Page(lib, sid)
    first = next(iter(album_ids(lib)))
    assert page.tell(type="open", id=first)[0]["type"] == "show"
    lib.revoke_share(sid)
    sent = page.tell(type="more")
    assert [m["type"] for m in sent] == ["reset", "notice"] and "no longer" in sent[1]["text"]
    assert page.tell(type="open", id=first)[0]["type"] == "reset"
    assert page.act("next") == [{"type": "close"}]
    # opened again after it ended: says so, shows nothing
    again = SharedAlbum(Library(lib.root, read_only=True), sid)
    assert again.app is None and "no longer works" in again.children[0].value


def test_an_editor_shares_from_the_album_page(shared_lib: Library, monkeypatch) -> None:
    lib = shared_lib
    monkeypatch.setenv("VOILA_REQUEST_URL", "http://photos.home:8866/voila/render/albums.ipynb")
    page = AlbumsPage(lib)
    page._open(f"album:{lib.album('Wedding')['album_id']}")
    panel = next(c for c in page.children if isinstance(c, SharePanel))
    panel.toggle()
    panel.names.value, panel.expires.value = True, "7d"
    panel.share()
    link = panel.link.value
    assert link.startswith("http://photos.home:8866/voila/render/shared.ipynb?token=share-")
    token = link.partition("token=")[2]
    assert share_for_token(lib.catalog, token)["names"]
    revokes = [b for row in panel.made.children[1:] for b in row.children
               if "photolab-share-revoke" in getattr(b, "_dom_classes", ())]
    assert revokes
    n = lib.shares(album="Wedding").filter("active").height
    revokes[0].click()
    assert lib.shares(album="Wedding").filter("active").height == n - 1
    # a read-only page offers neither Share nor Add photos
    viewer_page = AlbumsPage(Library(lib.root, read_only=True))
    viewer_page._open(f"album:{lib.album('Wedding')['album_id']}")
    assert not any(isinstance(c, (SharePanel, UploadButton)) for c in viewer_page.children)


def test_photos_added_in_an_album_go_into_it(shared_lib: Library, tmp_path: Path) -> None:
    """"Add photos" in an album people made: what the upload handler added (or found there
    already) is put into the album, and its timeline shows it."""
    lib = shared_lib
    album = lib.create_album("Trip", [int(lib.photos()["photo_id"][0])])
    page = AlbumsPage(lib)
    page._open(f"album:{album}")
    upload = next(c for c in page.children if isinstance(c, UploadButton))
    outside = [i for i in lib.photos()["photo_id"].to_list() if i not in album_ids(lib, "Trip")]
    sent: list[dict[str, Any]] = []
    page.opened.timeline.send = lambda msg, buffers=None: sent.append(msg)
    page.opened.viewer.send = lambda msg, buffers=None: sent.append(msg)
    page.opened.timeline._ready = True
    upload._message(None, {"kind": "added", "photo_ids": [outside[0]]}, [])
    upload._message(None, {"kind": "show", "photo_id": outside[1]}, [])  # already there
    assert album_ids(lib, "Trip") >= {outside[0], outside[1]}
    assert page.opened.timeline.total == 3
    assert any(m["type"] == "show" and m["id"] == outside[1] for m in sent)
    upload._message(None, {"kind": "added", "photo_ids": [outside[0]]}, [])  # ingested later
    assert lib.album_photos("Trip").height == 3  # once


def test_the_share_command(shared_lib: Library, capsys) -> None:
    root = str(shared_lib.root)
    assert main(["share", "Wedding", "--expires", "2w", "--no-download", "--library", root]) == 0
    out = capsys.readouterr().out
    assert "Wedding (3 photos)" in out and "no download" in out
    token = out.split("token=")[1].split()[0]
    sid = share_id(token)
    assert main(["share", "--list", "--library", root]) == 0
    assert "Wedding" in capsys.readouterr().out
    assert main(["share", "--revoke", str(sid), "--library", root]) == 0
    assert share_for_token(shared_lib.catalog, token) is None
    assert main(["share", "Nope", "--library", root]) != 0
    assert main(["share", "Wedding", "--expires", "soon", "--library", root]) != 0
