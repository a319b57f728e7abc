"""`SearchBox` driven as a person would: type, filter, page, "more like this"."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from photolab import Library
from photolab.widgets import SearchBox

from .conftest import CORPUS, copy_files

OBAMA = [str(CORPUS / f"dupes/fr_obama-{r}.jpg") for r in ("240p", "480p", "720p", "1080p")]


def test_search_box_pages_filters_and_finds_more_like_this(lib_copy: Library) -> None:
    box = SearchBox(lib_copy, page_size=10, limit=50)
    assert box.grid.children == () and box.results.height == 0
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


def test_search_box_shows_a_missing_model_as_an_error(tmp_path: Path) -> None:
    src = tmp_path / "p"
    copy_files(src, ["dupes/fr_obama-240p.jpg"])
    with Library(tmp_path / "lib") as lib:
        lib.settings.clip_cache_dir = str(tmp_path / "empty")
        lib.settings.save(lib.root)
        lib.ingest([src], show_progress=False, skip=["faces", "people"])
        box = SearchBox(lib)
        box.text.value = "a face"
        assert "hf download" in box.status.value and "color:#b00" in box.status.value
        assert box.grid.children == ()
