"""Metadata from exiftool: the frame agrees with exiftool's own output and the manifest."""

from __future__ import annotations

import json
import re
import subprocess

import polars as pl
import pytest

from photolab.media.metadata import ExifReader, tag

from .conftest import CORPUS


def test_photos_frame_has_the_promised_columns(corpus_photos: pl.DataFrame) -> None:
    for col in ["photo_id", "path", "size_bytes", "mime", "width", "height", "taken_at",
                "taken_at_source", "lat", "lon", "camera_make", "camera_model", "orientation",
                "duration_s", "has_motion_video", "error"]:
        assert col in corpus_photos.columns
    assert corpus_photos["photo_id"].is_unique().all()
    assert corpus_photos.height == len([p for p in CORPUS.rglob("*")
                                        if p.is_file() and p.suffix.lower() not in
                                        (".md", ".tsv", ".xmp")])


def test_values_match_exiftool_itself(corpus_photos: pl.DataFrame) -> None:
    sample = corpus_photos.filter(pl.col("rel").str.starts_with("exif/")).head(40)
    paths = sample["path"].to_list()
    out = json.loads(subprocess.run(["exiftool", "-j", "-n", "-G", *paths],
                                    capture_output=True, check=True).stdout)
    by_path = {d["SourceFile"]: d for d in out}
    checked_gps = 0
    for row in sample.iter_rows(named=True):
        d = by_path[row["path"]]
        assert row["camera_make"] == (str(d["EXIF:Make"]).strip() if "EXIF:Make" in d else None)
        assert row["camera_model"] == (str(d["EXIF:Model"]).strip() or None
                                       if "EXIF:Model" in d else None)
        assert row["mime"] == d["File:MIMEType"]
        w, h = (int(v) for v in str(d["Composite:ImageSize"]).split())
        if d.get("EXIF:Orientation") in (5, 6, 7, 8):
            w, h = h, w
        assert (row["width"], row["height"]) == (w, h)
        if "Composite:GPSLatitude" in d and (d["Composite:GPSLatitude"], d[
                "Composite:GPSLongitude"]) != (0, 0):
            assert row["lat"] == pytest.approx(d["Composite:GPSLatitude"], abs=1e-9)
            assert row["lon"] == pytest.approx(d["Composite:GPSLongitude"], abs=1e-9)
            checked_gps += 1
        else:
            assert row["lat"] is None
    assert checked_gps >= 5


def test_gps_matches_manifest(corpus_photos: pl.DataFrame, manifest) -> None:
    n = 0
    for row in corpus_photos.iter_rows(named=True):
        notes = manifest[row["rel"]]["notes"]
        m = re.search(r"has GPS lat=([-\d.]+) lon=([-\d.]+)", notes)
        if "GPS only in" in notes:  # maker-note GPS is not a standard location
            assert row["lat"] is None
        elif m and (float(m[1]), float(m[2])) != (0.0, 0.0):
            assert row["lat"] == pytest.approx(float(m[1]), abs=1e-5), row["rel"]
            assert row["lon"] == pytest.approx(float(m[2]), abs=1e-5), row["rel"]
            n += 1
    assert n >= 20


def test_null_island_and_malformed_gps_are_no_location(corpus_photos: pl.DataFrame) -> None:
    rows = corpus_photos.filter(pl.col("rel").is_in(
        ["misc/mde_FLIR_Vue_Pro_640.jpg", "misc/pillow_exif_gps.jpg",
         "misc/pillow_empty_gps_ifd.jpg", "exif/immich_empty_gps.jpg"]))
    assert rows.height == 4
    assert rows["lat"].is_null().all() and rows["lon"].is_null().all()


def test_full_tag_set_is_kept_and_queryable(corpus_lib, corpus_photos) -> None:
    pid = corpus_photos.filter(pl.col("rel") == "exif/ianare_Canon_40D.jpg")["photo_id"][0]
    tags = corpus_lib.tags([pid])
    assert tags.height == 1
    d = json.loads(tags["tags"][0])
    assert len(d) > 100  # the whole set, maker notes included
    fnumber = tags.select(tag("EXIF:FNumber").cast(pl.Float64)).item()
    assert fnumber == d["EXIF:FNumber"]


def test_video_duration_and_mime(corpus_photos: pl.DataFrame) -> None:
    mov = corpus_photos.filter(pl.col("rel") == "misc/mde_with-gps.mov").row(0, named=True)
    assert mov["mime"] == "video/quicktime"
    assert mov["duration_s"] == pytest.approx(4.0017, abs=1e-3)
    assert (mov["width"], mov["height"]) == (320, 568)  # rotated 90 degrees for display
    assert corpus_photos.filter(pl.col("mime").str.starts_with("image/"))[
        "duration_s"].is_null().all()


def test_reader_survives_bad_files_in_a_batch(tmp_path) -> None:
    good = CORPUS / "exif/ianare_Canon_40D.jpg"
    (tmp_path / "empty.jpg").write_bytes(b"")
    with ExifReader() as et:
        out = et.read([bytes(good), b"/nonexistent/x.jpg", bytes(tmp_path / "empty.jpg"),
                       bytes(good)])
    assert out[0][0]["EXIF:Make"] == "Canon" and out[3][0]["EXIF:Make"] == "Canon"
    assert out[1] == (None, "exiftool: File not found")
    assert out[2][1] == "exiftool: File is empty"
