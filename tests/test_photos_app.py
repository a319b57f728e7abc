"""The photos app: a timeline of days and a viewer, in the kernel and through `photolab serve`
in headless Chromium at desktop and phone sizes."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from photolab import Library
from photolab.widgets import PhotosApp

from .conftest import copy_files
from .serving import Server, serve, shot

FILES = ["exif/ianare_gps_DSCN0010.jpg", "exif/ianare_Canon_40D.jpg",
         "exif/mde_Apple_iPhone_4.jpg", "faces/fr_obama/obama.jpg", "faces/fr_obama/obama2.jpg",
         "faces/fr_obama/obama3.jpg", "motion/PXL_20200710_061629144.MP.jpg",
         "misc/fr_short_hamilton_clip.mp4"]


@pytest.fixture(scope="module")
def app_lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("photos-app")
    copy_files(tmp / "p", FILES)
    with Library(tmp / "lib") as lib:
        lib.ingest([tmp / "p"], show_progress=False, skip=["semantic", "tags", "captions"])
        obama = lib.faces(encodings=False).join(
            lib.photos().select("photo_id", "path"), on="photo_id").filter(
            pl.col("path").str.contains("obama"))
        lib.name_faces(obama["face_id"].to_list(), "Barack Obama")
    return tmp / "lib"


@pytest.fixture(scope="module")
def served_app(app_lib: Path) -> Iterator[tuple[Server, Server]]:
    """The app library served twice for this module's browser tests: to an editor, and
    read-only (`--read-only`), each server started once; an album "Summer" made first."""
    with Library(app_lib) as lib:
        lib.create_album("Summer", [_id(lib, "ianare_gps_DSCN0010.jpg"), _id(lib, "obama.jpg")])
    with serve(app_lib, app_lib.parent / "serve-rw.log", token="t") as rw, \
            serve(app_lib, app_lib.parent / "serve-ro.log", "--read-only", token="t") as ro:
        yield rw, ro


class Sent:
    """What the widgets would send to the page."""

    def __init__(self, app: PhotosApp):
        self.messages: list[tuple[dict[str, Any], list[bytes]]] = []
        for part in (app.timeline, app.viewer):
            part.send = lambda content, buffers=None: self.messages.append(  # type: ignore
                (content, buffers or []))

    def last(self, kind: str) -> tuple[dict[str, Any], list[bytes]]:
        return next(m for m in reversed(self.messages) if m[0]["type"] == kind)


def _id(lib: Library, name: str) -> int:
    return int(lib.photos().filter(pl.col("path").str.ends_with(name))["photo_id"][0])


def test_timeline_pages_by_day_and_the_viewer_shows_what_a_photo_is(app_lib: Path) -> None:
    with Library(app_lib) as lib:
        app = PhotosApp(lib, page_size=3)
        sent = Sent(app)
        app.timeline._message(None, {"type": "ready"}, [])
        page, buffers = sent.last("page")
        assert len(page["tiles"]) == 3 and len(buffers) == 3 and not page["done"]
        assert all(b[:4] == b"RIFF" for b in buffers)  # WebP thumbnails as bytes
        newest = lib.recent(len(FILES))
        assert [t["id"] for t in page["tiles"]] == newest["photo_id"].head(3).to_list()
        assert page["tiles"][0]["day_label"].split()[0] in (
            "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
        while not app.timeline.done:
            app.timeline._message(None, {"type": "more"}, [])
        assert app.timeline.ids == newest["photo_id"].to_list()
        tiles = [t for m, _ in sent.messages if m["type"] == "page" for t in m["tiles"]]
        badges = {t["id"]: t["badge"] for t in tiles}
        assert badges[_id(lib, "fr_short_hamilton_clip.mp4")] == "▶"
        assert badges[_id(lib, "PXL_20200710_061629144.MP.jpg")] == "◉"
        assert app.timeline.months and app.timeline.months[0]["label"]
        # the viewer: a still, a video as stored, a motion photo's clip
        gps = _id(lib, "ianare_gps_DSCN0010.jpg")
        app.show_photo(gps)
        shown, data = sent.last("show")
        assert shown["media"] == "image/webp" and data[0][:4] == b"RIFF"
        assert "Place" in shown["details"] and "Italy" in shown["details"]
        assert "Exposure" in shown["details"] and "DSCN0010.jpg" in shown["details"]
        assert str(app_lib.parent) not in shown["details"]
        video = _id(lib, "fr_short_hamilton_clip.mp4")
        app.show_photo(video)
        shown, data = sent.last("show")
        assert shown["media"] == "video/mp4" and data[0][4:8] == b"ftyp"
        app.show_photo(_id(lib, "PXL_20200710_061629144.MP.jpg"))
        shown, data = sent.last("show")
        assert shown["media"] == "video/mp4" and data[0][4:8] == b"ftyp"
        obama = _id(lib, "obama2.jpg")
        app.show_photo(obama)
        shown, _ = sent.last("show")
        assert [f["name"] for f in shown["faces"]] == ["Barack Obama"]
        assert 0 < shown["faces"][0]["width"] < 1 and "Barack Obama" in shown["details"]
        # next and previous follow the timeline
        i = app.timeline.ids.index(obama)
        app._action("next", {})
        assert sent.last("show")[0]["id"] == app.timeline.ids[i + 1]
        app._action("prev", {})
        assert sent.last("show")[0]["id"] == obama
        # favourite and rate from the viewer are decisions
        app._action("favorite", {})
        assert sent.last("show")[0]["notice"] == "added to favourites"
        app._action("rate", {"stars": 4})
        row = lib.photos(photo_ids=[obama]).row(0, named=True)
        assert row["favorite"] and row["rating"] == 4
        assert lib.photos().filter(pl.col("photo_id") == obama)["favorite"][0]
        app._action("close", {})
        assert sent.messages[-1][0] == {"type": "close"} and app.current is None
    with Library(app_lib, read_only=True) as guest:
        app = PhotosApp(guest)
        sent = Sent(app)
        app.show_photo(obama)
        app._action("favorite", {})
        assert sent.last("notice")[0]["text"].startswith("View only")


def test_the_viewer_tags_files_dates_places_and_downloads(app_lib: Path,
                                                        tmp_path: Path) -> None:
    from .conftest import private_copy

    with Library(app_lib) as shared, private_copy(shared, tmp_path / "lib") as lib:
        app = PhotosApp(lib)
        sent = Sent(app)
        gps, obama = _id(lib, "ianare_gps_DSCN0010.jpg"), _id(lib, "obama.jpg")
        app.show_photo(gps)
        assert sent.last("show")[0]["albums"] == [] and not sent.last("show")[0]["similar"]
        app._action("tag", {"text": "beach, summer "})
        assert sent.last("show")[0]["notice"] == "tagged beach, summer"
        app._action("album", {"name": "Seaside"})
        assert sent.last("show")[0]["notice"] == "album “Seaside” made with 1 photo"
        assert sent.last("show")[0]["albums"] == ["Seaside"]
        app._action("date", {"value": "2011-08-07T15:04:05"})
        app._action("place", {"text": "Lyon, Auvergne-Rhône-Alpes, France"})
        row = lib.photos(photo_ids=[gps]).row(0, named=True)
        assert {"beach", "summer"} <= set(row["keywords"]) and row["albums"] == ["Seaside"]
        assert row["taken_at"].isoformat() == "2011-08-07T15:04:05"
        place = lib.places([gps]).row(0, named=True)
        assert (place["city"], place["region"], place["country"]) == (
            "Lyon", "Auvergne-Rhône-Alpes", "France")
        assert "Lyon" in sent.last("show")[0]["details"]
        # a second photo into the same album, from the timeline's selection
        app.timeline._message(None, {"type": "album", "ids": [obama], "name": "Seaside"}, [])
        assert sent.last("notice")[0]["text"] == "1 photo added to the album “Seaside”"
        assert lib.album("Seaside")["n_photos"] == 2
        app.timeline._message(None, {"type": "album", "ids": [], "name": "Empty"}, [])
        assert sent.last("notice")[0]["text"] == "no photos chosen"
        app._action("place", {"text": " , "})
        assert sent.last("notice")[0]["text"].startswith("write the place as")
        # the words find it now, without any model
        assert lib.search_words("summer lyon")["photo_id"].to_list() == [gps]
        assert lib.search_words("seaside")["photo_id"].sort().to_list() == sorted([gps, obama])
        # download: the original's bytes under its own name, never the server's folders
        app._action("download", {})
        msg, data = sent.last("download")
        original = Path(lib.photos(photo_ids=[gps])["path"][0])
        assert msg["name"] == original.name and data[0] == original.read_bytes()
        n = lib.decisions().height
    with Library(tmp_path / "lib", read_only=True) as guest:
        app = PhotosApp(guest)
        sent = Sent(app)
        app.show_photo(gps)
        for kind, content in (("tag", {"text": "x"}), ("album", {"name": "Guest"}),
                              ("date", {"value": "2000-01-01T00:00:00"}),
                              ("place", {"text": "Paris, France"}), ("rate", {"stars": 2})):
            app._action(kind, content)
            assert sent.last("notice")[0]["text"].startswith("View only"), kind
        app.timeline._message(None, {"type": "album", "ids": [gps], "name": "G"}, [])
        assert sent.last("notice")[0]["text"].startswith("View only")
        app._action("download", {})  # reading is allowed
        assert sent.last("download")[1][0] == original.read_bytes()
        assert guest.decisions().height == n


def test_home_page_puts_the_search_above_the_timeline(app_lib: Path) -> None:
    from photolab.widgets import HomePage

    with Library(app_lib) as lib:
        home = HomePage(lib)
        sent = Sent(home.app)
        home.app.timeline._message(None, {"type": "ready"}, [])
        assert home.app.timeline.results is None and home.app.timeline.total == len(FILES)
        assert home.app.on_similar is None  # no vectors here: no "More like this"
        home.text.value = "Canon"  # the camera's make: the Obama portraits' too
        assert len(home.app.timeline.results) == 4
        home.text.value = "eos 40d"  # its model
        assert home.app.timeline.results == [_id(lib, "ianare_Canon_40D.jpg")]
        page, _ = sent.last("page")
        assert [t["id"] for t in page["tiles"]] == home.app.timeline.results
        assert home.status.value.startswith("1 result for")
        assert page["tiles"][0]["day_label"] == page["tiles"][0]["month_label"] == ""
        assert home.app.timeline.months == []
        home.text.value = "barack"  # a person's name
        assert sorted(home.app.timeline.results) == sorted(
            _id(lib, f) for f in ("obama.jpg", "obama2.jpg", "obama3.jpg"))
        home.text.value = ""
        assert home.app.timeline.results is None and home.app.timeline.months
        home.person.value = "Barack Obama"  # a filter alone: that person's timeline
        assert home.app.timeline.total == 3 and home.app.timeline.results is None


def test_the_photos_page_in_chromium(app_lib: Path, served_app: tuple[Server, Server],
                                     new_page) -> None:
    """Over 20 s: the page at desktop and phone sizes, to an editor and read-only, each
    opening the viewer, playing two videos and (desktop) tagging and making an album."""
    with Library(app_lib) as lib:
        video = _id(lib, "fr_short_hamilton_clip.mp4")
        motion = _id(lib, "PXL_20200710_061629144.MP.jpg")
        gps = _id(lib, "ianare_gps_DSCN0010.jpg")
        original = Path(lib.photos(photo_ids=[gps])["path"][0]).read_bytes()
        n = lib.count_recent()
    timings = {}
    for read_only, server in zip((False, True), served_app, strict=True):
        url = server.page("photos.ipynb")
        for name, size in (("desktop", (1300, 900)), ("phone", (390, 844))):
            page = new_page(*size)
            t = time.monotonic()
            html = page.goto(url, wait_until="commit").text()
            # its first thumbnails are in the page itself, shown before the widgets
            assert html.count("<img src='data:image/webp") == n, html[:2000]
            page.wait_for_function("document.querySelector('.photolab-early img') "
                                   "|| document.querySelector('.photolab-tile')",
                                   timeout=120_000, polling=50)
            mode = f"{name}{' read-only' if read_only else ''}"
            timings[f"{mode} first thumbnails"] = time.monotonic() - t
            page.locator(".photolab-tile").first.wait_for(timeout=120_000)
            timings[mode] = time.monotonic() - t
            assert page.locator(".photolab-early").count() == 0  # the widget's now
            page.wait_for_function(
                f"document.querySelectorAll('.photolab-tile').length == {n}",
                timeout=30_000)
            assert page.locator(".photolab-day").count() >= 2
            if name == "phone":  # room for two or three thumbnails a row, not one
                widths = [page.locator(".photolab-tile").nth(i).bounding_box()["width"]
                          for i in range(n)]
                assert max(widths) < 390 / 2, widths
            page.screenshot(path=str(shot(f"photos-{name}-{read_only}.png")),
                            full_page=True)
            page.get_by_alt_text(f"photo {gps}").click()
            viewer = page.locator(".photolab-viewer")
            viewer.wait_for(state="visible", timeout=30_000)
            page.wait_for_function(
                f"document.querySelector('.photolab-viewer').dataset.photo == '{gps}'")
            page.get_by_text("Italy").first.wait_for(timeout=30_000)
            page.screenshot(path=str(shot(f"photos-viewer-{name}-{read_only}.png")))
            page.keyboard.press("ArrowRight")
            page.wait_for_function(
                f"document.querySelector('.photolab-viewer').dataset.photo != '{gps}'")
            for clip in (video, motion):  # both play: their time advances
                page.keyboard.press("Escape")
                viewer.wait_for(state="hidden", timeout=30_000)
                page.get_by_alt_text(f"photo {clip}").click()
                page.wait_for_function(
                    "(() => { const v = document.querySelector('.photolab-video');"
                    " return v && v.currentTime > 0.3; })()", timeout=60_000)
            page.keyboard.press("Escape")
            viewer.wait_for(state="hidden", timeout=30_000)
            page.get_by_alt_text(f"photo {gps}").click()
            viewer.wait_for(state="visible", timeout=30_000)
            page.locator(".pv-fav").click()
            expect = "View only" if read_only else (
                "added to favourites" if name == "desktop" else "taken out of")
            page.locator(".pv-notice", has_text=expect).wait_for(timeout=30_000)
            if name == "desktop":
                viewer_edits(page, read_only, original, video, gps)
    with Library(app_lib) as lib:
        mine = lib.decisions("favorite").filter(pl.col("photo_id") == gps)
        assert mine.height == 2  # desktop on, phone off; none read-only
        assert lib.decisions("keywords").height == 1  # tagged once, refused read-only
        assert lib.album("Picked")["n_photos"] == 2
        assert sorted(lib.album_photos("Picked")["photo_id"]) == sorted([gps, video])
    print("first thumbnails (and the widget's) after the request (kernel start included):",
          {k: round(v, 2) for k, v in timings.items()})
    assert max(timings.values()) < 30


@pytest.fixture(scope="module")
def without_previews(app_lib: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the app library without `thumbs/`: photos with no thumbnail yet."""
    libdir = tmp_path_factory.mktemp("no-previews") / "lib"
    shutil.copytree(app_lib, libdir)
    shutil.rmtree(libdir / "thumbs")
    return libdir


def test_photos_without_a_preview_are_sent_without_bytes(without_previews: Path) -> None:
    """Tiles with no thumbnail are sent as type `none`, without bytes (an SVG of its own per
    tile cost the page's thread 0.7-1.1 s a page of 60: benchmarks/tiles.py)."""
    with Library(without_previews) as lib:
        app = PhotosApp(lib)
        sent = Sent(app)
        app.timeline._message(None, {"type": "ready"}, [])
        page, buffers = sent.last("page")
        n = lib.count_recent()
        assert len(page["tiles"]) == n and {t["type"] for t in page["tiles"]} == {"none"}
        assert buffers == [b""] * n


def test_photos_without_a_preview_share_one_placeholder(without_previews: Path,
                                                        new_page) -> None:
    """...and are drawn from one URL in Chromium, in the page's early HTML too. Its own
    server: a library without thumbnails."""
    with Library(without_previews) as lib:
        n = lib.count_recent()
    with serve(without_previews, without_previews.parent / "serve.log", "--read-only",
               token="t") as server:
        page = new_page(1300, 900)
        html = page.goto(server.page("photos.ipynb"), wait_until="commit").text()
        assert html.count("<img src='data:image/svg+xml") == n, html[:2000]
        page.wait_for_function(
            f"[...document.querySelectorAll('.photolab-tile')].filter("
            f"(i) => i.complete && i.naturalWidth).length == {n}", timeout=120_000)
        shown = page.evaluate("[...document.querySelectorAll('.photolab-tile')].map("
                              "(i) => [i.src, i.naturalWidth, i.naturalHeight])")
    assert len({src for src, _, _ in shown}) == 1, shown  # one URL, drawn once
    assert {(w, h) for _, w, h in shown} == {(190, 120)}  # the placeholder itself


def viewer_edits(page: Any, read_only: bool, original: bytes, video: int, gps: int) -> None:
    """Tag and download from the viewer, then make an album of two photos chosen on the
    timeline (refused, with the same words, on a read-only library)."""

    page.locator(".pv-tag").fill("beach")
    page.locator(".pv-tag-go").click()
    page.locator(".pv-notice", has_text="View only" if read_only else "tagged beach").wait_for(
        timeout=30_000)
    with page.expect_download() as got:
        page.locator(".pv-download").click()
    assert got.value.suggested_filename == "ianare_gps_DSCN0010.jpg"
    assert Path(got.value.path()).read_bytes() == original
    page.keyboard.press("Escape")
    page.locator(".photolab-viewer").wait_for(state="hidden", timeout=30_000)
    page.locator(".photolab-select").click()
    page.get_by_alt_text(f"photo {gps}").click()
    page.get_by_alt_text(f"photo {video}").click()
    page.locator(".photolab-chosen", has_text="2 chosen").wait_for(timeout=30_000)
    assert page.locator(".photolab-picked").count() == 2
    page.locator(".photolab-album-name").fill("Picked")
    page.locator(".photolab-album-add").click()
    page.locator(".photolab-notice", has_text="View only" if read_only else
                 "album “Picked” made with 2 photos").wait_for(timeout=30_000)
    page.screenshot(path=str(shot(f"photos-select-{read_only}.png")))
    page.locator(".photolab-select").click()  # "Done": back to opening photos


def test_album_and_people_pages_open_timelines(app_lib: Path, tmp_path: Path) -> None:
    from photolab.widgets import AlbumsPage, PeoplePage

    from .conftest import private_copy

    with Library(app_lib) as shared, private_copy(shared, tmp_path / "lib") as lib:
        album = lib.create_album("Trip", [_id(lib, "ianare_gps_DSCN0010.jpg"),
                                          _id(lib, "obama.jpg")])
        page = AlbumsPage(lib)
        items = page._items()
        trip = next(it for it in items if it["key"] == f"album:{album}")
        assert trip["title"] == "Trip" and trip["subtitle"].startswith("2 photos")
        assert page._images([trip["ref"]])[0][0][:4] == b"RIFF"
        assert any(it["key"].startswith("event:") for it in items)
        # covers go to the page a page at a time, their images read only for those sent
        sent: list[tuple[dict[str, Any], list[bytes]]] = []
        page.covers.send = lambda c, b=None: sent.append((c, b or []))  # type: ignore
        page.covers.page_size = 2
        page.covers._message(None, {"type": "ready"}, [])
        assert sent[-1][0]["first"] and len(sent[-1][0]["items"]) == 2
        while not sent[-1][0]["done"]:
            page.covers._message(None, {"type": "more"}, [])
            assert not sent[-1][0]["first"] and len(sent[-1][1]) == len(sent[-1][0]["items"])
        assert [it["key"] for c, _ in sent for it in c["items"]] == [it["key"] for it in items]
        page._open(f"album:{album}")
        assert page.opened is not None and page.opened.timeline.total == 2
        page.close()
        assert page.children == (page.covers,)
        people = PeoplePage(lib)
        [obama] = people._items()
        assert obama["title"] == "Barack Obama"
        assert people._images([obama["ref"]])[0][0][:2] == b"\xff\xd8"
        assert obama["subtitle"] == "3 photos"
        people._open(obama["key"])
        assert people.opened is not None and people.opened.timeline.total == 3


def test_served_pages_show_their_first_thumbnails_as_html(app_lib: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Served, a page writes its first thumbnails as plain HTML (marked for photolab's Voilà
    template) before the widget; in a notebook it shows the widget only."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from photolab.widgets import AlbumsPage, HomePage, PeoplePage
    from photolab.widgets.early import EARLY_MAX

    InteractiveShell.instance()  # display() publishes, as in a kernel
    with Library(app_lib) as lib:
        newest = lib.recent(1)["photo_id"][0]
        with capture_output() as unserved:
            PhotosApp(lib)._ipython_display_()
        assert len(unserved.outputs) == 1  # the widget, nothing else in a notebook
        monkeypatch.setenv("PHOTOLAB_SERVED", "1")
        for page, n in ((PhotosApp(lib), len(FILES)), (HomePage(lib), len(FILES)),
                        (AlbumsPage(lib), lib.albums().height + lib.events().height),
                        (PeoplePage(lib), 1)):
            with capture_output() as served:
                page._ipython_display_()
            early, widget = served.outputs
            assert early.metadata == {"photolab": "early"}
            text = early.data["text/html"]
            assert text.count("<img src='data:image/") == min(n, EARLY_MAX) > 0, page
            assert _closed(text), text  # written into the page: it must not swallow the rest
            assert "application/vnd.jupyter.widget-view+json" in widget.data
        # the timeline still sends its first page from the top when its page opens
        app = PhotosApp(lib, page_size=3)
        sent = Sent(app)
        day = lib.photos(photo_ids=[newest])["taken_at"][0]
        assert _day_label_in(app.timeline.early_html(), day)
        app.timeline._message(None, {"type": "ready"}, [])
        assert sent.last("page")[0]["tiles"][0]["id"] == newest


def _closed(text: str) -> bool:
    """Whether every element opened in this HTML is closed in it, in order."""
    from html.parser import HTMLParser

    class Tags(HTMLParser):
        open: list[str] = []  # noqa: RUF012
        ok = True

        def handle_starttag(self, tag: str, attrs: Any) -> None:
            if tag not in ("img", "br"):
                self.open.append(tag)

        def handle_endtag(self, tag: str) -> None:
            self.ok = self.ok and bool(self.open) and self.open.pop() == tag

    tags = Tags()
    tags.open = []
    tags.feed(text)
    return tags.ok and not tags.open


def _day_label_in(text: str, day: Any) -> bool:
    from photolab.widgets.photos import _day_label

    return f"<h3>{_day_label(day.date())}</h3>" in text


def test_album_and_people_pages_in_chromium(app_lib: Path, served_app: tuple[Server, Server],
                                            new_page) -> None:
    """An album and the named person, each opening its timeline."""
    server = served_app[0]
    for size in ((1300, 900), (390, 844)):
        page = new_page(*size)
        html = page.goto(server.page("albums.ipynb")).text()
        assert "<b>Summer</b>" in html  # its covers are in the page before the widget
        page.locator(".photolab-album[title='Summer']").wait_for(timeout=120_000)
        assert page.locator(".photolab-early").count() == 0
        assert page.locator(".photolab-album").count() >= 2  # the album and events
        page.screenshot(path=str(shot(f"albums-{size[0]}.png")), full_page=True)
        page.locator(".photolab-album[title='Summer']").click()
        page.wait_for_function(
            "document.querySelectorAll('.photolab-tile').length == 2", timeout=60_000)
        page.locator(".photolab-back").click()
        page.locator(".photolab-album").first.wait_for(timeout=30_000)
        page.goto(server.page("people.ipynb"))
        page.locator(".photolab-person[title='Barack Obama']").click(timeout=120_000)
        page.wait_for_function(
            "document.querySelectorAll('.photolab-tile').length == 3", timeout=60_000)
        page.screenshot(path=str(shot(f"person-{size[0]}.png")), full_page=True)
