"""Dashboards served by real Voilà on 127.0.0.1 and used in headless Chromium."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from PIL import Image

from photolab import Library
from photolab.widgets.places import MAP_GROUND, MAP_POINTS

from .conftest import copy_files
from .serving import serve, shot, wait_until

pytestmark = pytest.mark.slow  # servers, browsers, papermill or Ray


@contextmanager
def voila(notebook: str, libdir: Path, read_only: bool = False,
          extra: tuple[str, ...] = ()) -> Iterator[str]:
    """`photolab serve` on a library of the test's own (each test here needs its own files:
    duplicates to resolve, faces to name, places to correct; its log in `serve.log` beside
    the library); yields `notebook`'s URL."""
    flags = (["--read-only"] if read_only else []) + list(extra)
    with serve(libdir, libdir.parent / "serve.log", *flags) as server:
        yield server.page(notebook)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    src = tmp_path / "p"
    copy_files(src, ["dupes/fr_obama-1080p.jpg", "dupes/fr_obama-720p.jpg",
                     "dupes/pillow_flower2.jpg", "dupes/pillow_flower2.webp"])
    libdir = tmp_path / "lib"
    with Library(libdir) as lib:
        lib.ingest([src], show_progress=False, skip=["faces", "people"])
    with voila("duplicates.ipynb", libdir) as url:
        yield url, src, libdir


def test_duplicate_review_in_voila(served, new_page) -> None:
    url, src, _ = served
    page = new_page(1200, 800)
    html = page.goto(url).text()
    # the first group is in the page itself (photolab-early), until the widgets show it
    assert "group 1 of 2" in html and html.count("<img src='data:image/webp") == 2
    page.wait_for_function("!document.querySelector('.photolab-early')", timeout=90_000)
    page.get_by_text("group 1 of 2").wait_for(timeout=90_000)
    assert page.locator("img").count() >= 2  # thumbnails arrived as bytes
    assert page.get_by_text("keeper").count() == 1
    page.screenshot(path=str(shot("duplicates-1.png")))
    page.get_by_role("button", name="next ▶").click()
    page.get_by_text("group 2 of 2").wait_for(timeout=30_000)
    page.get_by_role("button", name="Move other copies to trash").click()
    page.get_by_text("group 1 of 1").wait_for(timeout=30_000)
    page.screenshot(path=str(shot("duplicates-2.png")))
    left = sorted(f.name for f in src.iterdir())
    assert len(left) == 3  # one copy of the group went to the library's trash
    assert shot("duplicates-2.png").stat().st_size > 10_000  # a real screenshot


def test_people_dashboard_names_a_person_in_voila(tmp_path: Path, new_page) -> None:
    """A family member types a name for a group of faces; the catalog has it."""

    src = tmp_path / "p"
    copy_files(src, ["faces/fr_obama/obama.jpg", "faces/fr_obama/obama2.jpg",
                     "faces/fr_obama/obama3.jpg", "faces/fr_biden/biden.jpg",
                     "faces/fr_biden/biden2.jpg"])
    libdir = tmp_path / "lib"
    with Library(libdir) as lib:
        lib.ingest([src], show_progress=False)
    with voila("people.ipynb", libdir) as url:
        page = new_page(1200, 900)
        page.goto(url)
        page.get_by_text("2 groups left to name").wait_for(timeout=90_000)
        assert page.locator("img").count() >= 5  # face crops arrived as bytes
        page.screenshot(path=str(shot("people-1.png")))
        page.get_by_placeholder("Who is this?").fill("Barack Obama")
        page.get_by_role("button", name="Save name").click()
        page.get_by_text("are Barack Obama").wait_for(timeout=30_000)
        page.get_by_text("1 group left to name").wait_for(timeout=30_000)
        page.wait_for_timeout(1000)  # let the next group's crops arrive
        page.screenshot(path=str(shot("people-2.png")), full_page=True)
    with Library(libdir) as lib:
        people = lib.people()
        faces = lib.faces(encodings=False).join(
            lib.photos().select("photo_id", "path"), on="photo_id")
        decision = lib.decisions("face_person").row(0, named=True)
    assert people["name"].to_list() == ["Barack Obama"]
    named = faces.filter(pl.col("assigned_by") == "user")["path"].str.extract(r"/p/(\w+)")
    assert named.len() == 3 and set(named) == {"obama", "obama2", "obama3"}
    assert decision["who"] and decision["at"]


def test_places_dashboard_filters_by_a_click_and_maps_without_tiles(tmp_path: Path,
                                                                   new_page) -> None:
    """The places page in Voilà: run ahead, its covers in the page's own HTML, its sunburst
    and map drawn again when the library was written after it ran, a cover, a slice and the
    list each open a timeline; the tile server is unreachable on purpose."""

    src = tmp_path / "p"
    copy_files(src, ["exif/mde_Apple_iPhone_4.jpg", "exif/mde_Panasonic_DMC-LX3_Lumix.jpg",
                     "exif/mde_Apple_iPhone_5.jpg", "exif/mde_Nokia_Lumia_800.jpg"])
    libdir = tmp_path / "lib"
    with Library(libdir) as lib:
        lib.settings.map_tiles = "http://127.0.0.1:9/{z}/{x}/{y}.png"
        lib.settings.save(libdir)
        lib.ingest([src], show_progress=False, skip=["faces", "people"])
        dublin = lib.places().filter(pl.col("city") == "Dublin")["photo_id"].to_list()
    log = tmp_path / "serve.log"
    with voila("places.ipynb", libdir) as url:
        wait_until(lambda: "places.ipynb has run ahead" in log.read_text(),
                   "the places page run ahead")
        # written after the page ran ahead: the page opened now must show it
        with Library(libdir) as lib:
            assert len(dublin) == 1
            lib.set_place(dublin, city="Atlantis", region="Deep Sea", country="Oceania")
        page = new_page(1200, 1400)
        html = page.goto(url).text()
        # the most photographed places are in the page itself, before its scripts run
        assert "Using pre-heated kernel" in log.read_text()
        assert "photolab-early" in html and "Rome" in html and "2 photos" in html
        page.wait_for_function("!document.querySelector('.photolab-early')", timeout=90_000)
        covers = page.locator(".photolab-place figcaption")
        covers.first.wait_for(timeout=30_000)
        assert sorted(covers.all_inner_texts()) == [
            "Atlantis\n1 photo · Deep Sea, Oceania", "Rome\n2 photos · Lazio, Italy",
            "Seattle\n1 photo · Washington, United States"]
        page.locator("g.slice", has_text="Oceania").first.wait_for(timeout=90_000)
        assert page.locator("g.slice").count() == 3 + 3 + 3  # countries, regions, cities
        assert page.locator("g.slice", has_text="Ireland").count() == 0
        page.locator(".photolab-places.photolab-clickable").wait_for(timeout=30_000)
        page.locator(".photolab-place", has_text="Rome").click()  # a cover: its timeline
        page.wait_for_function("document.querySelectorAll('.photolab-tile').length == 2",
                               timeout=30_000)
        page.locator(".photolab-back").click()
        page.locator(".photolab-place").first.wait_for(timeout=30_000)
        assert page.locator(".photolab-tile").count() == 0
        page.locator("g.slice", has_text="Seattle").first.click()  # a city: a leaf
        page.locator(".widget-html", has_text="Seattle").wait_for(timeout=30_000)
        page.locator(".photolab-tile").first.wait_for(timeout=30_000)  # its timeline
        assert page.locator(".photolab-tile").count() == 1
        page.locator("select").first.select_option(label="Italy")  # any level, from the list
        page.locator(".widget-html", has_text="Italy").wait_for(timeout=30_000)
        page.locator(".widget-html", has_text="2 photos").wait_for(timeout=30_000)
        page.wait_for_function("document.querySelectorAll('.photolab-tile').length == 2",
                               timeout=30_000)
        canvas = page.locator(".maplibregl-canvas, .maplibregl-map canvas").first
        canvas.wait_for(timeout=30_000)
        page.wait_for_function(  # the map run ahead, drawn again with the place people set
            "[...document.querySelectorAll('.js-plotly-plot')].some((g) => g.data && "
            "g.data[0].type === 'scattermap' && g.data[0].text.includes('Atlantis, Oceania'))",
            timeout=30_000)
        page.screenshot(path=str(shot("places.png")), full_page=True)
        # with no tile to be had the map still shows its ground and draws its points
        deadline = time.monotonic() + 30
        while True:
            shown = np.asarray(Image.open(io.BytesIO(canvas.screenshot())).convert("RGB"))
            points = color_share(shown, MAP_POINTS)
            ground = color_share(shown, MAP_GROUND)
            if (points > 0.0005 and ground > 0.5) or time.monotonic() > deadline:
                break
            page.wait_for_timeout(250)
        Image.fromarray(shown).save(shot("places-map.png"))
        assert ground > 0.5, f"the map area is {ground:.0%} ground: blank or black"
        assert points > 0.0005, f"no points drawn ({points:.4%} of the map)"
        # on a phone: the sunburst, the list and the map fit the screen
        phone = new_page(390, 844)
        phone.goto(url)
        phone.locator(".photolab-places.photolab-clickable").wait_for(timeout=90_000)
        phone.locator(".maplibregl-canvas").first.wait_for(timeout=30_000)
        phone.screenshot(path=str(shot("places-390.png")), full_page=True)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert phone.locator("g.slice").count() == 9


def color_share(rgb: np.ndarray, hex_color: str, tol: int = 24) -> float:
    """The share of pixels within `tol` of a colour."""
    want = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)])
    return float((np.abs(rgb.astype(int) - want).max(axis=2) <= tol).mean())


def test_home_page_searches_above_the_timeline_and_more_like_this(tmp_path: Path,
                                                                  tiny_clip: str,
                                                                  new_page) -> None:
    """The home page: the timeline under the search box; words in what is known of a photo
    (its camera), a description (CLIP, the tiny model the tests build: no real weights can be
    had here), and the viewer's "More like this" finding the same frame at other sizes."""

    src = tmp_path / "p"
    copy_files(src, ["dupes/fr_obama-240p.jpg", "dupes/fr_obama-480p.jpg",
                     "dupes/fr_obama-720p.jpg", "exif/mde_Apple_iPhone_4.jpg",
                     "exif/ianare_gps_DSCN0010.jpg", "faces/fr_biden/biden.jpg"])
    libdir = tmp_path / "lib"
    with Library(libdir) as lib:
        lib.settings.clip_model = tiny_clip
        lib.settings.save(libdir)
        lib.ingest([src], show_progress=False, skip=["faces", "people"])
        photos = lib.photos()
        obama_id = int(photos.filter(pl.col("path").str.ends_with("obama-240p.jpg"))
                       ["photo_id"][0])
        iphone_id = int(photos.filter(pl.col("path").str.ends_with("iPhone_4.jpg"))
                        ["photo_id"][0])
    with voila("home.ipynb", libdir) as url:
        page = new_page(1300, 1000)
        page.goto(url)
        box = page.get_by_placeholder("a person, a place, a year, or describe a photo")
        box.wait_for(timeout=90_000)
        tiles = page.locator(".photolab-tile")
        page.wait_for_function("document.querySelectorAll('.photolab-tile').length == 6",
                               timeout=60_000)
        assert page.locator(".photolab-day").count() >= 1  # every photo, day by day
        page.screenshot(path=str(shot("home-timeline.png")), full_page=True)
        box.fill("iphone")  # a word of the camera's name: no model needed
        box.press("Enter")
        page.get_by_text("1 result for").first.wait_for(timeout=30_000)
        page.wait_for_function("document.querySelectorAll('.photolab-tile').length == 1")
        assert tiles.first.get_attribute("alt") == f"photo {iphone_id}"
        assert page.locator(".photolab-day").count() == 0  # results: in their order
        box.fill("a man in a suit")
        box.press("Enter")
        page.get_by_text("6 results for").first.wait_for(timeout=30_000)
        page.wait_for_function("document.querySelectorAll('.photolab-tile').length == 6")
        page.screenshot(path=str(shot("home-1.png")), full_page=True)
        page.locator(f".photolab-tile[alt='photo {obama_id}']").click()
        page.locator(".photolab-viewer").wait_for(state="visible", timeout=30_000)
        page.get_by_role("button", name="More like this").click()
        page.get_by_text("5 results for photos like #").first.wait_for(timeout=30_000)
        page.wait_for_function("document.querySelectorAll('.photolab-tile').length == 5")
        page.screenshot(path=str(shot("home-2.png")), full_page=True)
        shown = [int(a.split()[1]) for a in
                 tiles.evaluate_all("(ts) => ts.map((t) => t.alt)")]
        # on a phone: the box, the filters and two or three thumbnails a row, nothing wider
        phone = new_page(390, 844)
        phone.goto(url)
        phone.wait_for_function(
            "document.querySelectorAll('.photolab-tile').length == 6", timeout=90_000)
        box = phone.get_by_placeholder("a person, a place, a year, or describe a photo")
        assert box.bounding_box()["x"] + box.bounding_box()["width"] <= 390
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        widths = [t.bounding_box()["width"] for t in phone.locator(".photolab-tile").all()]
        assert max(widths) < 390 / 2, widths
        phone.screenshot(path=str(shot("home-phone.png")), full_page=True)
    with Library(libdir) as lib:
        near = lib.similar(obama_id, 2)
        assert set(near["path"].str.extract(r"obama-(\d+p)")) == {"480p", "720p"}
        assert shown[:2] == near["photo_id"].to_list()


@pytest.fixture
def two_people(tmp_path: Path) -> Path:
    src = tmp_path / "p"
    copy_files(src, ["faces/fr_obama/obama.jpg", "faces/fr_obama/obama2.jpg",
                     "faces/fr_obama/obama3.jpg", "faces/fr_biden/biden.jpg",
                     "faces/fr_biden/biden2.jpg"])
    with Library(tmp_path / "lib") as lib:
        lib.ingest([src], show_progress=False, skip=["semantic", "tags"])
    return tmp_path / "lib"


def test_two_family_members_name_different_people_at_once(two_people: Path,
                                                           new_page) -> None:
    """Two browsers, two kernels, one catalog: both names are kept."""

    with voila("people.ipynb", two_people) as url:
        a = new_page()
        b = new_page()
        for page in (a, b):
            page.goto(url)
        for page in (a, b):
            page.get_by_text("2 groups left to name").wait_for(timeout=120_000)
        b.get_by_role("button", name="Skip").click()  # b takes the other group
        b.get_by_text("skipped").wait_for(timeout=30_000)
        first = a.locator(".widget-html", has_text="Who is this?").inner_text()
        second = b.locator(".widget-html", has_text="Who is this?").inner_text()
        assert first != second  # each page shows a different group
        a.get_by_placeholder("Who is this?").fill("Person A")
        b.get_by_placeholder("Who is this?").fill("Person B")
        a.get_by_role("button", name="Save name").click(no_wait_after=True)
        b.get_by_role("button", name="Save name").click(no_wait_after=True)
        a.get_by_text("are Person A").wait_for(timeout=30_000)
        b.get_by_text("are Person B").wait_for(timeout=30_000)
        b.screenshot(path=str(shot("people-two-sessions.png")), full_page=True)
    with Library(two_people) as lib:
        named = lib.faces(encodings=False).filter(pl.col("assigned_by") == "user")
        assert set(lib.people()["name"]) == {"Person A", "Person B"}
        by_person = named.group_by("person_name").agg(pl.col("photo_id").n_unique())
        assert sorted(by_person["photo_id"].to_list()) == [2, 3]  # Biden's 2, Obama's 3


def test_read_only_page_refuses_a_name(two_people: Path, new_page) -> None:

    with voila("people.ipynb", two_people, read_only=True) as url:
        page = new_page()
        page.goto(url)
        page.get_by_text("2 groups left to name").wait_for(timeout=120_000)
        page.get_by_text("View only").first.wait_for(timeout=30_000)
        # the changing controls are not offered (the kernel refuses them anyway: test_guests)
        assert page.get_by_role("button", name="Save name").is_hidden()
        assert page.get_by_placeholder("Who is this?").is_hidden()
        assert str(two_people.parent) not in page.content()
        page.screenshot(path=str(shot("people-read-only.png")))
    with Library(two_people) as lib:
        assert lib.people().height == 0 and lib.decisions().height == 0


def test_the_dashboards_open_and_page_a_large_library(tmp_path: Path, new_page) -> None:
    """A library of 20,000 photos (built by benchmarks/catalog.py through photolab's write
    path, its dashboards' first reads kept as an ingest keeps them): the home page shows the
    timeline of the newest photos with the count, scrolling to its end brings the next page
    by key, and every other dashboard shows its first content. Over 20 s: the 20,000
    photos' library is built, then six pages open."""
    import importlib.util

    from photolab.materialised import keep_reads

    spec = importlib.util.spec_from_file_location(
        "catalog_bench", Path(__file__).resolve().parent.parent / "benchmarks" / "catalog.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    n = 20_000
    bench.build(n, tmp_path, tmp_path / "tree")
    with Library(tmp_path / "lib") as lib:
        keep_reads(lib)
    count = "document.querySelectorAll('.photolab-tile').length"
    shown = {}
    with voila("home.ipynb", tmp_path / "lib", read_only=True) as url:
        page = new_page(1300, 1000)
        start = time.perf_counter()
        page.goto(url)
        page.get_by_text(f"{n} photos, newest first").wait_for(timeout=120_000)
        page.wait_for_function(f"{count} == 60", timeout=60_000)
        shown["home.ipynb"] = time.perf_counter() - start
        # the synthetic files decode to nothing: each tile is the quiet "no preview" box
        assert page.locator(".photolab-tile").first.get_attribute("src").startswith("blob:")
        paging = []
        for k in (2, 3, 4):
            t = time.perf_counter()
            page.evaluate("document.querySelector('.photolab-more').scrollIntoView()")
            page.wait_for_function(f"{count} >= {60 * k}", timeout=30_000)
            paging.append(time.perf_counter() - t)
        page.screenshot(path=str(shot("home-large.png")))
        for name, selector in (("photos.ipynb", ".photolab-tile"),
                               ("albums.ipynb", ".photolab-album"),
                               ("people.ipynb", ".photolab-person"),
                               ("places.ipynb", ".photolab-place"),
                               ("duplicates.ipynb", "text=group 1 of")):
            other = new_page(1300, 1000)
            t = time.perf_counter()
            other.goto(url.replace("home.ipynb", name))
            other.locator(selector).first.wait_for(timeout=120_000)
            shown[name] = time.perf_counter() - t
            other.close()
    print("first content (kernel start included):",
          {k: round(v, 2) for k, v in shown.items()},
          "paging:", [round(v, 3) for v in paging])
    assert max(paging) < 2, f"a page took {max(paging):.2f} s"
