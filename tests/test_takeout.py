"""Google Takeout trees built from corpus photos, metadata stripped with exiftool, with the
naming quirks of real exports."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import polars as pl

from photolab import Library
from photolab.media.takeout import candidates

from .conftest import CORPUS

SKIP = ["faces", "people", "semantic", "tags", "captions"]
JULY_4 = 1562243400  # 2019-07-04 12:30:00 UTC
LONG = "A_very_long_file_name_that_goes_on_and_on_forever"  # + ".jpg": 53 characters


def _sidecar(path: Path, taken: int = JULY_4, **extra: object) -> None:
    data = {"title": "x", "photoTakenTime": {"timestamp": str(taken)}, **extra}
    path.write_text(json.dumps(data))


def _stripped(src: str, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(CORPUS / src, dest)
    subprocess.run(["exiftool", "-q", "-all=", "-overwrite_original", str(dest)], check=True)
    return dest


def test_sidecar_names_as_exports_write_them() -> None:
    assert b"IMG_1.jpg.json" in candidates(b"IMG_1.jpg")
    assert candidates(b"IMG_1.jpg")[0] == b"IMG_1.jpg.supplemental-metadata.json"
    assert b"IMG_1.jpg.supplemental-metadata(1).json" in candidates(b"IMG_1(1).jpg")
    assert b"IMG_1.jpg(1).json" in candidates(b"IMG_1(1).jpg")
    assert b"IMG_1.jpg.supplemental-metadata.json" in candidates(b"IMG_1-edited.jpg")
    assert b"IMG_1.jpg.supplemental-metadata.json" in candidates(
        b"IMG_1-bearbeitet.jpg")
    long = candidates(f"{LONG}.jpg".encode())
    assert f"{LONG}.jpg.supplemental-metadata"[:46].encode() + b".json" in long
    assert all(len(c.decode()) <= 51 for c in long)


def test_a_takeout_tree_gives_dates_places_people_albums(tmp_path: Path) -> None:
    root = tmp_path / "Takeout" / "Google Photos"
    year, album = root / "Photos from 2019", root / "Summer trip"
    a = _stripped("exif/ianare_Canon_40D.jpg", year / "IMG_0001.jpg")
    _sidecar(year / "IMG_0001.jpg.json", description="At the lake", favorited=True,
             people=[{"name": "Ada Lovelace"}],
             geoData={"latitude": 48.8584, "longitude": 2.2945, "altitude": 0.0})
    b = _stripped("exif/ianare_Nikon_D70.jpg", year / "IMG_0002.jpg")
    _sidecar(year / "IMG_0002.jpg.supplemental-metadata.json", taken=JULY_4 + 3600,
             geoData={"latitude": 0.0, "longitude": 0.0})
    album.mkdir(parents=True)
    shutil.copy(b, album / "IMG_0002.jpg")  # the same photo in an album folder
    _sidecar(album / "IMG_0002.jpg.supplemental-metadata.json", taken=JULY_4 + 3600)
    (album / "metadata.json").write_text(json.dumps({"title": "Summer trip"}))
    c1 = _stripped("exif/mde_Apple_iPhone_4.jpg", year / "IMG_0003(1).jpg")
    _sidecar(year / "IMG_0003.jpg.supplemental-metadata(1).json", taken=JULY_4 + 7200)
    e = _stripped("exif/mde_Nokia_Lumia_800.jpg", year / "IMG_0004-edited.jpg")
    _sidecar(year / "IMG_0004.jpg.supplemental-metadata.json", taken=JULY_4 + 10800)
    long = _stripped("exif/ianare_Pentax_K10D.jpg", year / f"{LONG}.jpg")
    _sidecar(year / (f"{LONG}.jpg.supplemental-metadata"[:46] + ".json"), taken=JULY_4 + 60)
    bad = _stripped("exif/ianare_Nikon_D70.jpg", year / "bad.jpg")
    (year / "bad.jpg.json").write_text("{ not json")
    two = _stripped("exif/ianare_Canon_40D.jpg", year / "two.jpg")
    _sidecar(year / "two.jpg.json", taken=JULY_4 + 120)
    _sidecar(year / "two.jpg.supplemental-metadata.json", taken=JULY_4 + 180)
    kept = year / "kept.jpg"  # the file kept its own local EXIF date: the zone comes from JSON
    shutil.copy(CORPUS / "exif/ianare_Canon_40D.jpg", kept)
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-all=",
                    "-DateTimeOriginal=2019:07:04 14:30:00", str(kept)], check=True)
    _sidecar(year / "kept.jpg.json")
    (year / "orphan.jpg.json").write_text(json.dumps({"title": "orphan.jpg"}))

    with Library(tmp_path / "lib") as lib:
        report = lib.ingest([tmp_path / "Takeout"], skip=SKIP, show_progress=False)
        p = lib.photos().with_columns(name=pl.col("path").str.split("/").list.last())

        def row(path: Path) -> dict:
            return p.filter(pl.col("path") == str(path)).row(0, named=True)

        ra = row(a)
        assert ra["taken_at_source"] == "takeout" and str(ra["taken_at_utc"]).startswith(
            "2019-07-04 12:30:00")
        assert ra["tz_offset"] == "+02:00"  # from the sidecar's position (Paris)
        assert (round(ra["lat"], 4), round(ra["lon"], 4)) == (48.8584, 2.2945)
        assert ra["people"] == ["Ada Lovelace"] and ra["description"] == "At the lake"
        assert ra["favorite"] and ra["albums"] == []
        assert lib.places().filter(pl.col("photo_id") == ra["photo_id"])["city"][0] == "Paris"
        rb = row(b)
        assert rb["lat"] is None  # (0, 0) is no position
        assert rb["albums"] == ["Summer trip"] == row(album / "IMG_0002.jpg")["albums"]
        summer = lib.album("Summer trip")  # an album of its own, read from the export
        assert (summer["source"], summer["n_photos"]) == ("takeout", 1)
        copies = (rb["photo_id"], row(album / "IMG_0002.jpg")["photo_id"])
        assert summer["album_id"] < 0 and summer["cover_photo_id"] in copies
        assert lib.album_photos("Summer trip").height == 1  # one copy of the same photo
        assert str(row(c1)["taken_at_utc"]).startswith("2019-07-04 14:30:00")
        assert str(row(e)["taken_at_utc"]).startswith("2019-07-04 15:30:00")
        assert str(row(long)["taken_at_utc"]).startswith("2019-07-04 12:31:00")
        rk = row(kept)
        assert rk["taken_at_source"] == "exif_original" and rk["tz_offset"] == "+02:00"
        assert str(rk["taken_at"]) == "2019-07-04 14:30:00"
        assert "takeout sidecar bad.jpg.json" in row(bad)["error"]
        assert row(bad)["taken_at_source"] != "takeout"
        rt = row(two)
        assert "several sidecars" in rt["error"] and rt["taken_at_source"] == "takeout"
        assert report.counts["files"] == p.height == 9  # the orphan sidecar is no photo
        assert report.orphans == [str(year / "orphan.jpg.json")]  # but it is reported
        assert "1 name no photo here" in str(report)
        # an edited sidecar is picked up by the next ingest
        _sidecar(year / "IMG_0001.jpg.json", taken=JULY_4 - 86400)
        again = lib.ingest(show_progress=False, skip=SKIP)
        assert again.counts["metadata_done"] == 1
        assert str(lib.photos().filter(pl.col("path") == str(a))["taken_at_utc"][0]
                   ).startswith("2019-07-03 12:30:00")


def test_takeout_people_name_a_lone_face(tmp_path: Path) -> None:
    """One face and one name in the sidecar: that face is the person; two faces: nobody."""
    folder = tmp_path / "Takeout" / "Google Photos" / "Photos from 2019"
    one = _stripped("faces/fr_obama/obama.jpg", folder / "one.jpg")
    _sidecar(folder / "one.jpg.json", people=[{"name": "Barack Obama"}])
    two = _stripped("faces_group/fr_two_people.jpg", folder / "two.jpg")
    _sidecar(folder / "two.jpg.json", people=[{"name": "A"}, {"name": "B"}])
    with Library(tmp_path / "lib") as lib:
        lib.ingest([tmp_path / "Takeout"], skip=["semantic", "tags", "captions"],
                   show_progress=False)
        faces = lib.faces(encodings=False).join(lib.photos().select("photo_id", "path"),
                                                on="photo_id")
        lone = faces.filter(pl.col("path") == str(one))
        assert lone["person_name"].to_list() == ["Barack Obama"]
        assert lone["assigned_by"].to_list() == ["user"]  # a decision by "file"
        assert set(lib.decisions("face_person")["who"]) == {"file"}
        pair = faces.filter(pl.col("path") == str(two))
        # two faces, two names: no face is named from the file (clusters may still suggest)
        assert pair.height == 2 and (pair["assigned_by"] == "user").sum() == 0
        assert lib.photos().filter(pl.col("path") == str(two))["people"][0].to_list() == [
            "A", "B"]  # still the photo's people
