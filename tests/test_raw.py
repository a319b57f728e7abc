"""Camera RAW files (photolab.media.raw, photolab.media.pairs) on Bayer-mosaic DNGs made here
from a corpus photo (tests/dngs.py): the embedded preview where it is large enough, else the
sensor data decoded (12 and 14 bits, RGGB and BGGR, turned upright), matching the photo; bad
RAWs as per-file errors; a RAW+JPEG pair as one photo, taken apart and back."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from photolab import Library
from photolab.media import pairs
from photolab.media.raw import load_raw
from photolab.media.thumbnails import make_thumbnails

from .conftest import corpus_file
from .dngs import grey_correlation, photo_rgb, set_tags, write_dng

#: a corpus photo with one face (a person of the labelled faces)
FACE_PHOTO = "faces/df_person03/img49.jpg"
SKIP = ["semantic", "tags", "captions"]


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    """The photo every RAW here is made from, 2400 px wide (3:2)."""
    return photo_rgb(corpus_file(FACE_PHOTO), 2400)


SLOW = pytest.mark.slow  # (the fast tier keeps one case of each path)


@pytest.mark.parametrize(("made", "source"), [
    ({"pattern": "RGGB", "bits": 14}, "raw-half"),  # only IFD0's 256 px thumbnail
    pytest.param({"pattern": "BGGR", "bits": 12}, "raw-half", marks=SLOW),
    pytest.param({"pattern": "GRBG", "bits": 14, "preview": 1200}, "raw-half",
                 marks=SLOW),  # a preview under 1440
    pytest.param({"pattern": "BGGR", "bits": 14, "preview": 2400}, "raw-preview",
                 marks=SLOW),  # 1600 px short side
    pytest.param({"pattern": "RGGB", "bits": 12, "orientation": 6}, "raw-half",
                 marks=SLOW),  # held upright
    ({"pattern": "RGGB", "bits": 14, "preview": 2400, "orientation": 8}, "raw-preview"),
])
def test_the_preview_or_the_sensor_data_gives_the_photo(
        tmp_path: Path, picture: np.ndarray, made: dict, source: str) -> None:
    path = write_dng(tmp_path / "x.dng", picture, **made)
    im, got = load_raw(str(path), 1080)
    assert got == source
    assert im.width > im.height  # upright: the stored mosaic of a turned camera is not
    assert min(im.width, im.height) >= 1080 * 2 // 3  # never the tiny thumbnail
    assert grey_correlation(im.numpy(), picture) >= 0.9
    assert grey_correlation(im.numpy(), picture[::-1, ::-1]) < 0.9  # (it can fail)


def test_a_small_raw_is_demosaiced_at_full_size_and_the_preview_rule_is_a_setting(
        tmp_path: Path, picture: np.ndarray) -> None:
    small = picture[::2, ::2].copy()  # 1200 px: half size would give 600, under 1080
    path = write_dng(tmp_path / "small.dng", small, pattern="BGGR", bits=12, preview=1000)
    im, got = load_raw(str(path), 1080)
    assert got == "raw-full" and (im.width, im.height) == (1200, 800)
    assert grey_correlation(im.numpy(), small) >= 0.9
    im, got = load_raw(str(path), 1080, min_preview_px=600)  # the 1000 x 667 preview will do
    assert got == "raw-preview" and im.width == 1000


def test_bad_raws_are_errors_of_their_own_and_the_stage_goes_on(
        tmp_path: Path, picture: np.ndarray) -> None:
    good = write_dng(tmp_path / "good.dng", picture[::4, ::4].copy())
    data = good.read_bytes()
    (tmp_path / "truncated.dng").write_bytes(data[: len(data) // 2])
    (tmp_path / "unknown.nef").write_bytes(b"II*\x00\x08\x00\x00\x00" + bytes(30_000))
    (tmp_path / "empty.dng").write_bytes(data[:20_000] + bytes(len(data) - 20_000))
    names = ["good.dng", "truncated.dng", "unknown.nef", "empty.dng"]
    files = pl.DataFrame({
        "photo_id": range(4), "path_raw": [str(tmp_path / n).encode() for n in names],
        "content_hash": [f"{i:032x}" for i in range(4)],
        "mime": ["image/x-adobe-dng", "image/x-adobe-dng", "image/x-nikon-nef",
                 "image/x-adobe-dng"]})
    out = make_thumbnails(files, tmp_path / "thumbs", workers=2)
    assert out["source"].to_list() == ["raw-full", None, None, None]
    errors = out["error"].to_list()
    assert errors[0] is None
    assert errors[1].startswith("damaged RAW file")
    for e in errors[2:]:
        assert e.startswith("no image data LibRaw") and "no embedded preview" in e
    assert len(list((tmp_path / "thumbs").rglob("*.webp"))) == 3  # the good one's sizes


def test_the_pairing_rule() -> None:
    rows = [  # photo_id, path, mime, taken_at
        (1, "/c/IMG_1.CR2", "image/x-canon-cr2", "2024-05-01T10:00:00"),
        (2, "/c/IMG_1.JPG", "image/jpeg", "2024-05-01T10:00:01.500"),  # within 2 s
        (3, "/c/IMG_2.nef", "image/x-nikon-nef", "2024-05-01T10:00:00"),
        (4, "/c/IMG_2.jpg", "image/jpeg", "2024-05-01T10:00:05"),  # 5 s: another shot
        (5, "/d/IMG_1.JPG", "image/jpeg", "2024-05-01T10:00:00"),  # another folder
        (6, "/c/IMG_3.dng", "image/x-adobe-dng", "2024-05-01T11:00:00"),
        (7, "/c/IMG_3.heic", "image/heic", "2024-05-01T11:00:00"),
        (8, "/c/IMG_3.jpg", "image/jpeg", "2024-05-01T11:00:00"),  # the JPEG over the HEIC
        (9, "/c/IMG_4.arw", "image/x-sony-arw", None),  # no date: no pair
        (10, "/c/IMG_4.jpg", "image/jpeg", None),
        (11, "/c/IMG_5.arw", "image/x-sony-arw", "2024-05-01T12:00:00"),
        (12, "/c/IMG_5.png", "image/png", "2024-05-01T12:00:00"),  # not what cameras write
    ]
    files = pl.DataFrame(rows, schema=pairs.FILES_SCHEMA, orient="row")
    found = pairs.find_pairs(files)
    assert found.rows() == [(1, 2), (6, 8)]
    apart = pl.DataFrame({"raw_id": [6], "jpeg_id": [8]}, schema=pairs.PAIRS_SCHEMA)
    assert pairs.find_pairs(files, apart).rows() == [(1, 2), (6, 7)]  # then the HEIC


# -- a library of RAWs: slow (an ingest with faces) ---------------------------------------

@pytest.fixture(scope="module")
def raw_lib(tmp_path_factory: pytest.TempPathFactory, picture: np.ndarray
            ) -> Iterator[Library]:
    """A card: a RAW+JPEG pair, a RAW alone (with GPS), a RAW and a JPEG of the same name
    taken 30 s apart, a DNG named .tif, a truncated RAW."""
    root = tmp_path_factory.mktemp("raw")
    card = root / "card"
    card.mkdir()
    write_dng(card / "IMG_0001.DNG", picture, preview=2400)
    jpeg = card / "IMG_0001.JPG"
    shutil.copy(corpus_file(FACE_PHOTO), jpeg)
    write_dng(card / "IMG_0002.dng", picture, pattern="BGGR", bits=12)
    write_dng(card / "IMG_0003.dng", picture)
    shutil.copy(corpus_file(FACE_PHOTO), card / "IMG_0003.jpg")
    write_dng(card / "scan.tif", picture[::2, ::2].copy())
    when = "2024:05:01 10:00:00"
    for name in ("IMG_0001.DNG", "IMG_0001.JPG", "IMG_0003.dng", "scan.tif"):
        set_tags(card / name, DateTimeOriginal=when)
    set_tags(card / "IMG_0003.jpg", DateTimeOriginal="2024:05:01 10:00:30")
    set_tags(card / "IMG_0002.dng", DateTimeOriginal="2024:06:02 09:30:00",
             GPSLatitude="48.8584", GPSLatitudeRef="N", GPSLongitude="2.2945",
             GPSLongitudeRef="E")
    data = (card / "IMG_0003.dng").read_bytes()
    (card / "broken.dng").write_bytes(data[: len(data) // 3])
    lib = Library(root / "lib")
    lib.ingest([card], skip=SKIP, show_progress=False)
    yield lib
    lib.close()


def by_name(lib: Library, name: str) -> int:
    f = lib.photos(include_missing=True)
    return int(f.filter(pl.col("path").str.ends_with("/" + name))["photo_id"].item())


def raw_id(lib: Library) -> int:
    return int(lib.catalog.frame("SELECT photo_id FROM photos WHERE path LIKE '%IMG_0001.DNG'")
               .item())


@pytest.mark.slow
def test_raws_ingest_with_their_metadata_faces_and_places(raw_lib: Library,
                                                          picture: np.ndarray) -> None:
    lib = raw_lib
    f = lib.photos()
    shown = {Path(p).name for p in f["path"]}
    assert shown == {"IMG_0001.JPG", "IMG_0002.dng", "IMG_0003.dng", "IMG_0003.jpg",
                     "scan.tif", "broken.dng"}
    alone = f.filter(pl.col("path").str.ends_with("IMG_0002.dng")).row(0, named=True)
    assert alone["mime"] == "image/x-adobe-dng" and alone["camera_make"] == "photolab"
    assert alone["taken_at"].isoformat() == "2024-06-02T09:30:00"
    assert alone["lat"] == pytest.approx(48.8584) and alone["thumb_source"] == "raw-half"
    assert alone["error"] is None
    assert grey_correlation(lib.thumbnail(alone["photo_id"], "big"), picture) >= 0.9
    assert lib.places([alone["photo_id"]])["country"].item() == "France"
    faces = lib.faces()
    assert faces.filter(pl.col("photo_id") == alone["photo_id"]).height == 1  # on the decode
    tif = f.filter(pl.col("path").str.ends_with("scan.tif")).row(0, named=True)
    assert tif["mime"] == "image/x-adobe-dng" and tif["thumb_source"] == "raw-full"
    broken = f.filter(pl.col("path").str.ends_with("broken.dng")).row(0, named=True)
    assert "damaged RAW file" in broken["error"]


@pytest.mark.slow
def test_a_raw_and_its_jpeg_are_one_photo(raw_lib: Library) -> None:
    lib = raw_lib
    raw, jpeg = raw_id(lib), by_name(lib, "IMG_0001.JPG")
    f = lib.photos()
    assert raw not in f["photo_id"].to_list()
    assert f.filter(pl.col("photo_id") == jpeg)["paired_with"].item() == raw
    assert lib.photos(photo_ids=[raw])["paired_with"].item() == jpeg
    assert lib.photos(photo_ids=[raw])["thumb_source"].item() == "raw-preview"
    assert lib.timeline_months()["n_photos"].sum() == f.height
    assert raw not in lib.faces()["photo_id"].to_list()  # the JPEG's face, once
    assert lib.faces().filter(pl.col("photo_id") == jpeg).height == 1
    events = lib.events()
    assert events["n_photos"].sum() == f.height  # the pair counted once
    dupes = lib.duplicates()
    assert raw not in dupes["photo_id"].to_list()
    # the RAW and JPEG of IMG_0003 were taken 30 s apart: two photos, maybe duplicates
    assert f.filter(pl.col("path").str.contains("IMG_0003"))["paired_with"].null_count() == 2
    details = lib.photo_details(jpeg)
    assert details["raw_id"] == raw and details["raw_path"].endswith("IMG_0001.DNG")


@pytest.mark.slow
def test_a_pair_taken_apart_and_back(raw_lib: Library) -> None:
    lib = raw_lib
    raw, jpeg = raw_id(lib), by_name(lib, "IMG_0001.JPG")
    n = lib.photos().height
    decision = lib.unpair(jpeg)
    f = lib.photos()
    assert f.height == n + 1 and f.filter(pl.col("photo_id") == raw)["paired_with"].item() \
        is None
    assert lib.faces().filter(pl.col("photo_id") == raw).height == 1  # its stages ran
    assert lib.ingest(skip=SKIP, show_progress=False).counts["pairs_done"] == 0  # it stays
    assert raw in lib.photos()["photo_id"].to_list()
    undo = lib.undo(decision)
    assert raw not in lib.photos()["photo_id"].to_list()
    assert lib.photos(photo_ids=[raw])["paired_with"].item() == jpeg
    assert json.loads(lib.decisions().filter(pl.col("decision_id") == undo)["value"].item()
                      ) == {"undoes": decision}
    with pytest.raises(Exception, match="not one of a RAW\\+JPEG pair"):
        lib.unpair(by_name(lib, "IMG_0002.dng"))
    # an ingest again: the same photos, no face twice
    before = lib.faces().height
    lib.ingest(skip=SKIP, show_progress=False)
    assert lib.photos().height == n and lib.faces().height == before


@pytest.mark.slow
def test_the_viewer_shows_a_raw_badge_and_downloads_the_raw(raw_lib: Library) -> None:
    from photolab.widgets.photos import PhotosApp

    lib = raw_lib
    raw, jpeg = raw_id(lib), by_name(lib, "IMG_0001.JPG")
    app = PhotosApp(lib)
    sent: list[tuple[dict, list]] = []
    app.viewer.send = lambda msg, buffers=None: sent.append((msg, buffers or []))
    app.show_photo(jpeg)
    msg = sent[-1][0]
    assert msg["raw"] is True and msg["raw_download"] is True and "IMG_0001.DNG" in \
        msg["details"]
    assert msg["paired"] is True  # "Unpair RAW" offered
    app._action("download", {"raw": True})
    msg, buffers = sent[-1]
    assert msg["type"] == "download" and msg["name"] == "IMG_0001.DNG"
    assert bytes(buffers[0]) == Path(lib.photos(photo_ids=[raw])["path"].item()).read_bytes()
    app._action("download", {})
    assert sent[-1][0]["name"] == "IMG_0001.JPG"
    app.show_photo(jpeg)
    app._action("unpair", {})  # from the viewer: a decision, the badge gone
    assert sent[-1][0]["raw"] is False and "photo of its own" in sent[-1][0]["notice"]
    assert raw in lib.photos()["photo_id"].to_list()
    lib.undo(int(lib.decisions().filter(pl.col("kind") == "unpair")["decision_id"][-1]))
    assert raw not in lib.photos()["photo_id"].to_list()
    app.show_photo(by_name(lib, "IMG_0003.jpg"))  # a JPEG alone: no badge
    assert sent[-1][0]["raw"] is False and sent[-1][0]["raw_download"] is False
    app.show_photo(by_name(lib, "IMG_0002.dng"))  # a RAW alone: the badge, one download
    assert sent[-1][0]["raw"] is True and sent[-1][0]["raw_download"] is False


@pytest.mark.slow
def test_the_raw_badge_and_download_in_chromium(raw_lib: Library, tmp_path: Path,
                                                new_page) -> None:
    """The photos page served: the pair's tile opens the JPEG with a "RAW" badge, and
    "Download RAW" saves the RAW file itself. Its own server: it serves this module's
    library of RAWs, which no shared server has (the browser is the session's)."""
    from .serving import serve, shot

    lib = raw_lib
    raw, jpeg = raw_id(lib), by_name(lib, "IMG_0001.JPG")
    with serve(lib.root, tmp_path / "serve.log") as server:
        page = new_page(1300, 900)
        page.goto(server.page("photos.ipynb"))
        page.get_by_alt_text(f"photo {jpeg}").click(timeout=120_000)
        page.wait_for_function(
            f"document.querySelector('.photolab-viewer').dataset.photo == '{jpeg}'")
        badge = page.locator(".photolab-viewer .photolab-raw")
        badge.wait_for(state="visible", timeout=30_000)
        page.screenshot(path=str(shot("raw-viewer.png")))
        with page.expect_download(timeout=60_000) as got:
            page.locator(".pv-download-raw").click()
        download = got.value
        assert download.suggested_filename == "IMG_0001.DNG"
        saved = tmp_path / "saved.dng"
        download.save_as(saved)
        assert saved.read_bytes() == Path(
            lib.photos(photo_ids=[raw])["path"].item()).read_bytes()
        assert raw not in [int(a.split()[-1]) for a in page.locator(".photolab-tile")
                           .evaluate_all("ts => ts.map(t => t.alt)")]
