"""Adding photos from elsewhere (`Library.add_files`): checked by content, stored once by
their own date under the member's uploads, ingested, recorded, undone; refusals keep
nothing; two members adding the same file at once store it once."""

from __future__ import annotations

import threading
from pathlib import Path

import polars as pl
import pytest

from photolab import Library
from photolab.errors import ReadOnlyError

from .conftest import copy_files

SKIP = ["faces", "people", "semantic", "tags", "captions"]


@pytest.fixture
def lib(tmp_path: Path) -> Library:
    lib = Library(tmp_path / "lib", member=None, who="ada")
    yield lib
    lib.close()


def stored(lib: Library) -> list[Path]:
    return sorted(p for p in (lib.root / "uploads").rglob("*")
                  if p.is_file() and p.name != ".lock")


def test_files_are_checked_by_content_stored_by_date_once_and_ingested(
        lib: Library, tmp_path: Path) -> None:
    src = tmp_path / "phone"
    canon, video, plain = copy_files(src, ["exif/ianare_Canon_40D.jpg",
                                           "misc/mde_with-gps.mp4",
                                           "exif/ianare_gps_DSCN0010.jpg"])
    (src / "notes.jpg").write_text("a shopping list, not a photo")
    (src / "empty.jpg").write_bytes(b"")
    renamed = src / "IMG_0001.txt"  # a JPEG under another name: its content decides
    renamed.write_bytes(plain.read_bytes())
    lib.settings.max_upload_mb = 1
    big = src / "big.jpg"
    big.write_bytes(canon.read_bytes() + bytes(2 * 2**20))
    out = lib.add_files([canon, video, src / "notes.jpg", src / "empty.jpg", renamed, big,
                         plain, canon], show_progress=False, skip=SKIP)
    by = dict(zip(out["name"], out["status"], strict=False))
    assert out["status"].to_list() == ["added", "added", "refused", "refused", "added",
                                       "refused", "already", "already"], out
    assert by["IMG_0001.txt"] == "added"
    reasons = out.filter(pl.col("status") == "refused")["reason"].to_list()
    assert "not a photo or a video" in reasons[0] and "empty" in reasons[1]
    assert "max_upload_mb" in reasons[2]
    # the copies point at what was stored first, in this call
    assert out["photo_id"][6] == out["photo_id"][4] and out["photo_id"][7] == out["photo_id"][0]
    files = stored(lib)
    assert [f.relative_to(lib.root / "uploads").as_posix() for f in files if "Canon" in f.name] \
        == ["ada/2008/05/ianare_Canon_40D.jpg"]
    assert any(f.name == "IMG_0001.jpg" for f in files)  # its content's extension
    assert len(files) == 3  # nothing refused, nothing twice
    photos = lib.photos()
    assert set(out["photo_id"].drop_nulls()) <= set(photos["photo_id"])
    assert photos.filter(pl.col("photo_id") == out["photo_id"][1])["mime"][0].startswith("video/")
    assert lib.thumbnail(int(out["photo_id"][0]), "small").exists()  # every stage ran
    ups = lib.decisions("upload")
    assert ups.height == 3 and set(ups["who"]) == {"ada"}
    assert str(lib.root / "uploads") in lib.settings.sources  # a source of the library
    # the same file again, later: already in the library, nothing stored
    again = lib.add_files([canon], show_progress=False, skip=SKIP)
    assert again["status"].to_list() == ["already"] and len(stored(lib)) == 3


def test_names_with_folders_are_refused_and_part_files_are_never_scanned(
        lib: Library, tmp_path: Path) -> None:
    (photo,) = copy_files(tmp_path / "p", ["exif/ianare_Canon_40D.jpg"])
    out = lib.add_files([photo, photo, photo], names=["../x.jpg", ".hidden.jpg", "a/b.jpg"],
                        show_progress=False, skip=SKIP)
    assert out["status"].to_list() == ["refused"] * 3
    assert all("not a file name" in r for r in out["reason"])
    # an upload cut off midway: its part file stays out of the library
    part = lib.root / "uploads" / ".partial" / "cut.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(photo.read_bytes()[:5000])
    lib.ingest([lib.root / "uploads"], show_progress=False, skip=SKIP)
    assert lib.photos(include_missing=True).height == 0 and stored(lib) == [part]


def test_two_members_adding_one_file_at_once_store_it_once(lib: Library,
                                                           tmp_path: Path) -> None:
    (photo,) = copy_files(tmp_path / "p", ["exif/ianare_Canon_40D.jpg"])
    other = Library(lib.root, who="bo")
    results = {}

    def add(who: str, library: Library) -> None:
        results[who] = library.add_files([photo], member=who, show_progress=False,
                                          skip=SKIP)

    threads = [threading.Thread(target=add, args=a) for a in (("ada", lib), ("bo", other))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    statuses = sorted(r["status"][0] for r in results.values())
    assert statuses == ["added", "already"], results
    assert len(stored(lib)) == 1 and lib.photos().height == 1


def test_an_upload_is_undone_to_the_trash_and_guests_add_nothing(lib: Library,
                                                                 tmp_path: Path) -> None:
    (photo,) = copy_files(tmp_path / "p", ["exif/ianare_Canon_40D.jpg"])
    guest = Library(lib.root, read_only=True)
    with pytest.raises(ReadOnlyError):
        guest.add_files([photo])
    guest.close()
    assert not (lib.root / "uploads").exists()
    out = lib.add_files([photo], show_progress=False, skip=SKIP)
    pid = int(out["photo_id"][0])
    lib.undo(int(lib.decisions("upload")["decision_id"][0]))
    assert pid not in lib.photos(include_missing=True)["photo_id"].to_list()
    assert stored(lib) == []
    assert (lib.root / "trash" / str(pid) / Path(out["path"][0]).name).exists()
    # added again after the undo: a new photo
    assert lib.add_files([photo], show_progress=False, skip=SKIP)["status"].to_list() == ["added"]
