"""Write-back to XMP sidecars with exiftool, read back by exiftool and by a fresh library."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import polars as pl
import pytest

from photolab import Library

from .conftest import PHOTOLAB, copy_files, env

SKIP = ["semantic", "tags", "captions"]


def _exif(path: Path) -> dict:
    out = subprocess.run(["exiftool", "-j", "-G", "-n", "-struct", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]


def _list(v: object) -> list:
    return v if isinstance(v, list) else [v]


def _sha(paths: list[Path]) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


@pytest.mark.slow
def test_write_back_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "p"
    files = copy_files(src, ["faces/fr_obama/obama.jpg", "exif/mde_Apple_iPhone_4.jpg",
                             "dupes/fr_obama-240p.jpg"])
    originals = _sha(files)
    lib = Library(tmp_path / "a")
    lib.ingest([src], skip=SKIP, show_progress=False)
    ids = dict(lib.photos().select(pl.col("path").str.split("/").list.last(), "photo_id")
               .iter_rows())
    face = lib.faces(encodings=False).filter(pl.col("photo_id") == ids["obama.jpg"])
    lib.name_faces(face["face_id"].to_list(), "Barack Obama")
    lib.tag(list(ids.values()), "family", "2024 trip")
    lib.rate([ids["obama.jpg"]], 4)
    lib.set_title([ids["mde_Apple_iPhone_4.jpg"]], "Seattle")
    lib.set_date(ids["fr_obama-240p.jpg"], "2019-07-04T12:30:00")
    lib.set_date(ids["mde_Apple_iPhone_4.jpg"], "2011-02-03T04:05:06")  # over its EXIF date

    plan = lib.write_back(dry_run=True)
    assert plan.height == 3 and set(plan["status"]) == {"planned"}
    assert not list(src.glob("*.xmp"))  # a dry run writes nothing
    done = lib.write_back()
    assert set(done["status"]) == {"written"}, done["error"].to_list()
    assert _sha(files) == originals  # the photos' bytes never changed
    job = lib.jobs().filter(pl.col("kind") == "write-back")
    assert job.height == 1

    car = _exif(Path(f"{src}/obama.jpg.xmp"))
    assert set(car["XMP:Subject"]) == {"family", "2024 trip", "Barack Obama"}
    assert car["XMP:Rating"] == 4 and _list(car["XMP:PersonInImage"]) == ["Barack Obama"]
    region = car["XMP:RegionInfo"]["RegionList"][0]
    assert region["Name"] == "Barack Obama" and region["Type"] == "Face"
    assert 0 < region["Area"]["W"] < 1
    seattle = _exif(Path(f"{src}/mde_Apple_iPhone_4.jpg.xmp"))
    assert seattle["XMP:Title"] == "Seattle"
    assert any(h == "Places|Italy|Lazio|Rome"
               for h in _list(seattle["XMP:HierarchicalSubject"]))
    lib.close()

    fresh = Library(tmp_path / "b")  # a new library reads back what photolab wrote
    fresh.ingest([src], skip=SKIP, show_progress=False)
    a = Library(tmp_path / "a").photos().sort("path")
    b = fresh.photos().sort("path")
    for col in ("keywords", "rating", "title"):
        assert a[col].to_list() == b[col].to_list(), col
    obama = b.filter(pl.col("path").str.ends_with("/obama.jpg"))
    assert obama["people"][0].to_list() == ["Barack Obama"]
    assert "Barack Obama" not in obama["keywords"][0].to_list()
    named = fresh.faces(encodings=False).filter(pl.col("photo_id") == obama["photo_id"][0])
    assert named["person_name"].to_list() == ["Barack Obama"]  # the region matched the face
    moved = b.filter(pl.col("path").str.ends_with("fr_obama-240p.jpg"))
    assert str(moved["taken_at"][0]) == "2019-07-04 12:30:00"
    corrected = b.filter(pl.col("path").str.ends_with("mde_Apple_iPhone_4.jpg"))
    assert str(corrected["taken_at"][0]) == "2011-02-03 04:05:06"
    assert corrected["taken_at_source"][0] == "exif_original"  # read from the sidecar
    fresh.close()


def test_write_back_cli_and_a_failed_file(tmp_path: Path) -> None:
    src = tmp_path / "p"
    good, bad = copy_files(src, ["exif/mde_Apple_iPhone_4.jpg", "exif/ianare_Canon_40D.jpg"])
    (src / f"{bad.name}.xmp").mkdir()  # a directory where the sidecar would go
    with Library(tmp_path / "lib") as lib:
        lib.ingest([src], skip=["faces", "people", *SKIP], show_progress=False)
        lib.tag(lib.photos()["photo_id"].to_list(), "x")
    dry = subprocess.run([*PHOTOLAB, "write-back", "-l", str(tmp_path / "lib"), "--dry-run"],
                         capture_output=True, text=True, env=env())
    assert dry.returncode == 0 and "planned" in dry.stdout
    run = subprocess.run([*PHOTOLAB, "write-back", "-l", str(tmp_path / "lib")],
                         capture_output=True, text=True, env=env())
    assert run.returncode == 1 and "failed" in run.stdout and "written" in run.stdout
    assert Path(f"{good}.xmp").is_file()  # the run went on past the failure


def test_in_place_only_when_asked_with_a_backup(tmp_path: Path) -> None:
    src = tmp_path / "p"
    (photo,) = copy_files(src, ["exif/ianare_Canon_40D.jpg"])
    before = _sha([photo])
    with Library(tmp_path / "lib") as lib:
        lib.ingest([src], skip=["faces", "people", *SKIP], show_progress=False)
        pid = int(lib.photos()["photo_id"][0])
        lib.tag([pid], "in the file")
        lib.rate([pid], 2)
        done = lib.write_back(target="inplace", fields=["keywords", "rating"])
        assert done["status"].to_list() == ["written"]
        backup = tmp_path / "lib" / "backups" / str(pid) / photo.name
        assert _sha([backup]) == before != _sha([photo])  # the original is kept aside
        tags = _exif(photo)
        assert "in the file" in _list(tags["XMP:Subject"]) and tags["XMP:Rating"] == 2
        assert not Path(f"{photo}.xmp").exists()
