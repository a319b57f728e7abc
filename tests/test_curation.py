"""Curation from files and sidecars (keywords, rating, title, people), the verbs that decide
over them, and sidecars edited between ingests."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import polars as pl
import pytest

from photolab import Library
from photolab.errors import PhotolabError

from .conftest import copy_files


def _row(lib: Library, name: str) -> dict:
    return lib.photos().filter(pl.col("path").str.ends_with(name)).row(0, named=True)


def test_what_files_say_in_the_corpus(corpus_lib: Library) -> None:
    p = corpus_lib.photos()
    assert p.schema["keywords"] == pl.List(pl.String) and p.schema["people"] == pl.List(pl.String)
    picasa = _row(corpus_lib, "immich_tags_picasa.jpg")
    assert picasa["keywords"] == ["Frost", "Yard"]
    assert _row(corpus_lib, "immich_rating_mongolels.jpg")["rating"] == 3
    goalie = _row(corpus_lib, "ianare_xmp_no_exif.jpg")
    assert goalie["title"] == "Der Goalie bin ig" and goalie["keywords"] == ["tag"]
    assert "Alex Lacamoire" in _row(corpus_lib, "alex_lacamoire1.jpg")["people"]
    assert p["favorite"].sum() == 0 and p["albums"].list.len().sum() == 0


def _exiftool(*args: str) -> None:
    subprocess.run(["exiftool", "-q", "-overwrite_original", *args], check=True)


def test_sidecars_win_and_an_edit_is_picked_up(tmp_path: Path) -> None:
    src = tmp_path / "p"
    photo, other = copy_files(src, ["exif/immich_tags_picasa.jpg", "exif/ianare_Canon_40D.jpg"])
    before = hashlib.sha256(photo.read_bytes()).hexdigest()
    car = Path(f"{photo}.xmp")  # as digiKam writes it
    _exiftool("-XMP-dc:Subject=Garden", "-XMP-dc:Subject=Winter", "-XMP-xmp:Rating=4",
              "-XMP-dc:Title=Frosty morning", "-XMP-iptcExt:PersonInImage=Ada Lovelace",
              "-XMP-lr:HierarchicalSubject=Places|France|Paris",
              "-XMP-lr:HierarchicalSubject=Family|Kids", "-XMP-digiKam:TagsList=Trips/Alps",
              "-o", str(car), str(photo))
    lib = Library(tmp_path / "lib")
    lib.ingest([src], skip=["faces", "people", "semantic", "tags", "captions"],
               show_progress=False)
    r = _row(lib, photo.name)
    assert r["keywords"] == ["Alps", "Garden", "Kids", "Winter"]  # the sidecar's, not Frost
    assert r["rating"] == 4 and r["title"] == "Frosty morning"
    assert r["people"] == ["Ada Lovelace"]
    # an edit to the sidecar: only that photo's metadata is read again
    _exiftool("-XMP-xmp:Rating=1", str(car))
    report = lib.ingest(show_progress=False, skip=["faces", "people", "semantic", "tags",
                                                   "captions"])
    assert report.counts["metadata_done"] == 1 and report.counts["unchanged"] == 2
    assert _row(lib, photo.name)["rating"] == 1
    stamp = car.stat().st_mtime_ns  # an edit that keeps the mtime (rsync -t) is seen too
    _exiftool("-XMP-xmp:Rating=2", str(car))
    os.utime(car, ns=(stamp, stamp))
    lib.ingest(show_progress=False, skip=["faces", "people", "semantic", "tags", "captions"])
    assert _row(lib, photo.name)["rating"] == 2
    car.unlink()  # gone: back to what the file says
    (src / "deleted-photo.jpg.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    report = lib.ingest(show_progress=False, skip=["faces", "people", "semantic", "tags",
                                                   "captions"])
    assert report.orphans == [str(src / "deleted-photo.jpg.xmp")]
    assert _row(lib, photo.name)["keywords"] == ["Frost", "Yard"]
    assert hashlib.sha256(photo.read_bytes()).hexdigest() == before
    assert _row(lib, other.name)["error"] is None
    lib.close()


def test_a_sidecar_exiftool_rejects_is_an_error_for_that_photo(tmp_path: Path) -> None:
    src = tmp_path / "p"
    photo, other = copy_files(src, ["exif/ianare_Canon_40D.jpg", "exif/ianare_Nikon_D70.jpg"])
    Path(f"{photo}.xmp").write_bytes(b"\x00\x01 not xml at all")
    with Library(tmp_path / "lib") as lib:
        lib.ingest([src], skip=["faces", "people", "semantic", "tags", "captions"],
                   show_progress=False)
        assert "sidecar ianare_Canon_40D.jpg.xmp" in _row(lib, photo.name)["error"]
        assert _row(lib, other.name)["error"] is None
        assert _row(lib, photo.name)["camera_make"] == "Canon"  # the file itself was read


def test_curation_verbs_decide_over_the_files(lib_copy: Library) -> None:
    lib = lib_copy
    pid = _row(lib, "immich_tags_picasa.jpg")["photo_id"]
    other = _row(lib, "ianare_Canon_40D.jpg")["photo_id"]
    lib.tag([pid, other], "holiday", "snow ")
    lib.untag([pid], "Frost")  # a keyword the file carries
    lib.rate([pid], 5)
    lib.set_title([pid], "The yard")
    lib.set_description([other], "Test shot")
    lib.favorite([other])
    r, o = _row(lib, "immich_tags_picasa.jpg"), _row(lib, "ianare_Canon_40D.jpg")
    assert r["keywords"] == ["Yard", "holiday", "snow"] and o["keywords"] == ["holiday", "snow"]
    assert r["rating"] == 5 and r["title"] == "The yard"
    assert o["description"] == "Test shot" and o["favorite"] and not r["favorite"]
    untag = lib.untag([other], "snow")[0]
    assert _row(lib, "ianare_Canon_40D.jpg")["keywords"] == ["holiday"]
    lib.undo(untag)
    assert _row(lib, "ianare_Canon_40D.jpg")["keywords"] == ["holiday", "snow"]
    lib.tag([pid], "Frost")  # the newest decision wins
    assert "Frost" in _row(lib, "immich_tags_picasa.jpg")["keywords"]
    assert set(lib.decisions()["kind"]) >= {"keywords", "rating", "title", "description",
                                            "favorite"}
    with pytest.raises(PhotolabError, match="0 to 5"):
        lib.rate([pid], 6)
    with pytest.raises(PhotolabError, match="no photos"):
        lib.tag([10**9], "x")
