"""Faces the detector missed, drawn by a person (`Library.add_face`): encoded as detected
faces are, named, clustered, kept through re-detection, undone; bad boxes refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from photolab import Library
from photolab.errors import PhotolabError, ReadOnlyError

from .conftest import copy_files

#: Pierre Curie's profile in the portrait (its file's own MWG region, in pixels): the HOG
#: detector misses it
PIERRE = (83, 618, 252, 537)


def stripped_portrait(src: Path) -> Path:
    """A copy of the Curies' portrait without its face regions (so only the detector
    speaks: it finds Marie, not Pierre's profile)."""
    (photo,) = copy_files(src, ["faces_group/immich_portrait.jpg"])
    photo.chmod(0o644)  # the corpus's files are read-only, and so their copies
    subprocess.run(["exiftool", "-q", "-q", "-overwrite_original", "-XMP-mwg-rs:all=",
                    "-XMP-MP:all=", str(photo)], check=True)
    return photo


@pytest.fixture(scope="module")
def portrait(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """The stripped portrait and a damaged photo (one library for the module: each test
    leaves its faces as it found them)."""
    tmp_path = tmp_path_factory.mktemp("portrait")
    src = tmp_path / "p"
    stripped_portrait(src)
    copy_files(src, ["corrupt/pillowheif_corrupted.heic"])
    lib = Library(tmp_path / "lib")
    lib.ingest([src], show_progress=False, skip=["semantic", "tags", "captions"])
    yield lib
    lib.close()


def _pid(lib: Library, name: str) -> int:
    return int(lib.photos().filter(pl.col("path").str.ends_with(name))["photo_id"][0])


def test_a_drawn_face_is_named_clustered_kept_through_redetection_and_undone(
        portrait: Library) -> None:
    lib = portrait
    pid = _pid(lib, "immich_portrait.jpg")
    before = lib.faces().filter(pl.col("photo_id") == pid)
    assert before.height == 1 and before["source"][0] == "detected"  # Marie; Pierre missed
    face_id = lib.add_face(pid, PIERRE, name="Pierre Curie")
    f = lib.faces().filter(pl.col("face_id") == face_id)
    assert f["source"][0] == "user" and f["person_name"][0] == "Pierre Curie"
    assert (f["top"][0], f["right"][0], f["bottom"][0], f["left"][0]) == PIERRE
    code = f["encoding"].to_numpy()[0]
    assert code.shape == (128,) and np.linalg.norm(code) > 0.5  # a real dlib encoding
    assert f["side_px"][0] > 0 and f["sharpness"][0] > 0
    # a different person from Marie: far from her encoding, as two people's faces are
    assert np.linalg.norm(code - before["encoding"].to_numpy()[0]) > 0.6
    people = lib.people()
    assert people.filter(pl.col("name") == "Pierre Curie")["n_faces"].to_list() == [1]
    decision = lib.decisions("face_add")
    assert decision.height == 1 and decision["who"][0] == lib.who
    # the faces stage again (as a new face model would): the drawn face stays, once
    lib.ingest.run_stage("faces", [pid], show_progress=False)
    lib.cluster_faces()
    again = lib.faces(encodings=False).filter(pl.col("photo_id") == pid)
    assert again["source"].to_list().count("user") == 1 and again.height == 2
    assert again.filter(pl.col("source") == "user")["person_name"].to_list() == ["Pierre Curie"]
    lib.undo(int(decision["decision_id"][0]))
    assert lib.faces().filter(pl.col("photo_id") == pid).height == 1
    assert lib.people().filter(pl.col("name") == "Pierre Curie")["n_faces"].to_list() in ([], [0])


def test_boxes_outside_empty_or_on_no_pixels_are_refused_and_guests_change_nothing(
        portrait: Library) -> None:
    lib = portrait
    pid = _pid(lib, "immich_portrait.jpg")
    for bad in [(0, 900, 100, 800), (10, 10, 10, 10), (-5, 50, 50, 0), (50, 40, 60, 60)]:
        with pytest.raises(PhotolabError, match="not a non-empty box inside"):
            lib.add_face(pid, bad)
    broken = _pid(lib, "pillowheif_corrupted.heic")
    with pytest.raises(PhotolabError, match=r"no pixels|cannot be read"):
        lib.add_face(broken, (0, 10, 10, 0))
    with pytest.raises(PhotolabError, match="no present photo"):
        lib.add_face(10_000, PIERRE)
    decided, faces = lib.decisions().height, lib.faces().height
    guest = Library(lib.root, read_only=True)
    with pytest.raises(ReadOnlyError):
        guest.add_face(pid, PIERRE, name="Pierre Curie")
    guest.close()
    assert (lib.decisions().height, lib.faces().height) == (decided, faces)
