"""`SearchBox` driven as a person would: type, filter, page, "more like this"."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from photolab import Library
from photolab.widgets import SearchBox

from .conftest import CORPUS, library_without_weights

OBAMA = [str(CORPUS / f"dupes/fr_obama-{r}.jpg") for r in ("240p", "480p", "720p", "1080p")]


def test_search_box_pages_filters_and_finds_more_like_this(lib_copy: Library) -> None:
    box = SearchBox(lib_copy, page_size=10, limit=50)
    # before anyone types: every photo, newest first, read a page at a time
    photos = lib_copy.photos()
    assert box.total == photos.height and f"{photos.height} photos, newest first" in \
        box.status.value
    newest = photos.sort(["taken_at", "photo_id"], descending=True, nulls_last=True)
    assert box.results.height == 10
    pages = -(-photos.height // 10)
    seen = []
    for page in range(pages):  # every page, by key, in order, to the undated ones at the end
        assert f"page {page + 1} of {pages}" in box.status.value
        seen += [c.photo_id for c in box.grid.children]
        assert box.results["rank"].to_list() == list(range(page * 10 + 1, len(seen) + 1))
        box.next.click()
    assert seen == newest["photo_id"].to_list()
    box.prev.click()
    box.prev.click()
    back = (pages - 3) * 10  # from the last page, two back: pages read before, by their keys
    assert [c.photo_id for c in box.grid.children] == seen[back:back + 10]
    box.camera.value = "canon"  # a filter alone browses
    canon = set(photos.filter(pl.col("camera_make").str.to_lowercase().str.contains("canon"))
                ["photo_id"])
    assert box.total == len(canon) and set(box.results["photo_id"]) <= canon
    box.camera.value = ""
    box.text.value = "a person's face"
    assert box.results.height == 50 and "50 results for" in box.status.value
    assert len(box.grid.children) == 10 and "page 1 of 5" in box.status.value
    first = [c.photo_id for c in box.grid.children]
    assert first == box.results["photo_id"].head(10).to_list()
    assert all(len(c.children[0].value) > 100 for c in box.grid.children)  # thumbnails
    box.next.click()
    assert "page 2 of 5" in box.status.value
    assert [c.photo_id for c in box.grid.children] == box.results["photo_id"][10:20].to_list()
    # a filter reruns the query
    box.camera.value = "canon"
    photos = lib_copy.photos().filter(pl.col("camera_make").str.to_lowercase()
                                      .str.contains("canon"))
    assert 0 < box.results.height <= photos.height
    assert set(box.results["photo_id"]) <= set(photos["photo_id"])
    box.camera.value = ""
    box.after.value, box.before.value = date(2015, 1, 1), date(2015, 12, 31)
    years = box.results.join(lib_copy.photos(), on="photo_id")["taken_at"].dt.year()
    assert box.results.height and set(years) == {2015}
    box.after.value = box.before.value = None
    # "more like this" on a result
    obama = lib_copy.photos().filter(pl.col("path") == OBAMA[0])["photo_id"][0]
    box.run(like=obama)
    assert set(box.results["path"].head(3)) == set(OBAMA[1:])
    card = box.grid.children[0]
    card.more_button.click()
    assert box.like == card.photo_id and card.photo_id not in box.results["photo_id"]
    # the choices come from the catalog
    assert "outdoor" in box.tag.options
    assert set(lib_copy.places()["country"].drop_nulls()) <= set(box.place.options)


def test_a_gallery_of_ten_thousand_photos_pages_quickly_in_bounded_memory(
        lib_copy: Library) -> None:
    """The corpus photos copied in the catalog to 10,000+ rows (same thumbnails): the first
    page and every later one come in well under a second each, and paging through 40 pages
    leaves no more live widgets than one page makes."""
    import time

    from ipywidgets.widgets.widget import _instances

    n0 = lib_copy.photos().height
    last = lib_copy.catalog.frame("SELECT max(photo_id) FROM photos").item()
    with lib_copy.catalog.transaction() as c:
        for copy in range(1, -(-10_000 // n0)):
            c.execute("INSERT INTO photos (path, path_raw, size_bytes, mtime_ns, content_hash, "
                      "status, first_seen, last_seen) SELECT path || ?, path_raw || ?, "
                      "size_bytes, mtime_ns, content_hash, status, first_seen, last_seen "
                      "FROM photos WHERE photo_id <= ?", (f"#{copy}", f"#{copy}".encode(), last))
    assert lib_copy.photos().height >= 10_000
    t = time.perf_counter()
    box = SearchBox(lib_copy)
    first = time.perf_counter() - t
    assert len(box.grid.children) == 24 and first < 5
    live = len(_instances)
    times = []
    for _ in range(40):
        t = time.perf_counter()
        box.next.click()
        times.append(time.perf_counter() - t)
    assert "page 41 of" in box.status.value and max(times) < 2
    assert len(_instances) <= live + 5  # old cards are closed, not kept in the kernel
    print(f"first page {first:.2f} s, next pages {sorted(times)[20]:.3f} s median")


def test_search_box_shows_a_missing_model_as_an_error(tmp_path: Path) -> None:
    with library_without_weights(tmp_path, ["dupes/fr_obama-240p.jpg"]) as lib:
        box = SearchBox(lib)
        box.text.value = "a face"  # no photo has the word; describing one needs CLIP
        assert box.status.value.startswith("No photo has every word of “a face”.")
        assert "hf download" in box.status.value and "color:#b00" in box.status.value
        assert box.grid.children == ()
