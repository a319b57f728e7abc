"""Verb results kept for the catalog's generation: the same answers as computing afresh,
after every kind of decision and stage write, across processes, never a stale one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from photolab import Library
from photolab.stages import DATES

from .conftest import env, library_without_weights

RELS = ["exif/ianare_gps_DSCN0010.jpg", "exif/ianare_Canon_40D.jpg",
        "exif/mde_Apple_iPhone_4.jpg", "dupes/fr_obama-240p.jpg", "dupes/fr_obama-480p.jpg"]

VERBS = {
    "photos": lambda lib: lib.photos(),
    "photos(include_missing)": lambda lib: lib.photos(include_missing=True),
    "faces": lambda lib: lib.faces(),
    "faces(no encodings)": lambda lib: lib.faces(encodings=False),
    "people": lambda lib: lib.people(),
    "duplicates": lambda lib: lib.duplicates(),
    "duplicates(8)": lambda lib: lib.duplicates(threshold=8),
    "duplicates(the setting's radius)": lambda lib: lib.duplicates(
        threshold=lib.settings.dupe_threshold),
    "timeline_months": lambda lib: lib.timeline_months(),
    "places": lambda lib: lib.places(),
    "place_hierarchy": lambda lib: lib.place_hierarchy(),
    "events": lambda lib: lib.events(),
    "events_left_out": lambda lib: pl.DataFrame(lib.events_left_out()),
    "albums": lambda lib: lib.albums(),
    "best_photos": lambda lib: lib.best_photos(),
    "on_this_day": lambda lib: lib.on_this_day("2020-07-10", window_days=30),
}


def fresh(lib: Library) -> dict[str, pl.DataFrame]:
    lib.materialised.enabled = False
    try:
        return {k: f(lib) for k, f in VERBS.items()}
    finally:
        lib.materialised.enabled = True


def assert_same(lib: Library, when: str) -> None:
    want = fresh(lib)
    for name, verb in VERBS.items():
        try:
            assert_frame_equal(verb(lib), want[name])
        except AssertionError as e:
            raise AssertionError(f"{name} after {when}: {e}") from None


@pytest.fixture
def small(tmp_path: Path) -> Library:
    lib = library_without_weights(tmp_path, RELS)
    lib.materialised.disk_min_seconds = 0.0  # every answer to disk too, however quick
    yield lib
    lib.close()


def test_every_verb_gives_what_computing_afresh_gives_after_each_kind_of_change(
        lib_copy: Library) -> None:
    lib = lib_copy
    lib.materialised.disk_min_seconds = 0.0
    assert_same(lib, "first read")
    assert_same(lib, "kept")
    other = Library(lib.root)  # a second process's view: reads the kept files
    assert_same(other, "from cache/")
    other.close()
    photos = lib.photos()
    first = int(photos["photo_id"][0])
    face = lib.faces(encodings=False).filter(pl.col("cluster_id").is_not_null()).row(0, named=True)
    gps = photos.filter(pl.col("lat").is_not_null())["photo_id"].to_list()[:2]
    pair = lib.duplicates().filter(pl.col("group_id") == pl.col("group_id").min())
    changes = [
        ("rate", lambda: lib.rate([first], 4)),
        ("favorite", lambda: lib.favorite([first])),
        ("keywords", lambda: lib.tag([first], "kept-answer")),
        ("title", lambda: lib.set_title([first], "A kept answer")),
        ("name a face", lambda: lib.name_faces([int(face["face_id"])], "Kept Person")),
        ("not duplicate", lambda: lib.not_duplicate(int(pair["photo_id"][0]),
                                                    int(pair["photo_id"][1]))),
        ("set place", lambda: lib.set_place(gps, city="Nowhere", country="Elsewhere")),
        ("album", lambda: lib.create_album("Kept", [first, *gps])),
        ("set date", lambda: lib.set_date(first, "1999-12-31T23:00:00")),
        ("undo", lambda: lib.undo(lib.decisions()["decision_id"][-1])),
    ]
    for what, change in changes:
        change()
        assert_same(lib, what)


def test_a_decision_keeps_the_tables_part_and_a_stage_write_does_not(small: Library) -> None:
    lib = small
    calls = []
    rows = lib._photo_rows
    lib._photo_rows = lambda *a: calls.append(a) or rows(*a)  # type: ignore[method-assign]
    before = lib.photos()
    assert lib.photos() is before and len(calls) == 1
    pid = int(before["photo_id"][0])
    lib.rate([pid], 3)
    after = lib.photos()
    # a rating is applied to its photo alone: its rows read, not every photo's
    assert [c[1] for c in calls[1:]] == [[pid]], "a decision recomputed every photo"
    assert after.filter(pl.col("photo_id") == pid)["rating"].item() == 3
    assert after.drop("rating").equals(before.drop("rating"))
    # an album is about many photos: the decisions applied again to the kept tables' part
    lib.create_album("Kept", [pid])
    assert lib.photos().filter(pl.col("photo_id") == pid)["albums"].item().to_list() == [
        "Kept"]
    assert len(calls) == 2, "an album's decision recomputed the catalog's tables part"
    # a stage's write (the dates stage run again for one photo) is a new computed generation
    lib.catalog.invalidate(DATES.name, [pid])
    lib.run_stage(DATES.name, [pid], show_progress=False)
    lib.photos()
    assert len(calls) == 3 and calls[2][1] is None


def test_a_write_while_computing_keeps_nothing(small: Library) -> None:
    lib = small
    pid = int(lib.photos(photo_ids=None)["photo_id"][0])
    lib.materialised.clear()
    made = []

    def make() -> pl.DataFrame:
        made.append(1)
        lib.rate([pid], len(made))  # another kernel's decision lands meanwhile
        return pl.DataFrame({"n": [len(made)]})

    assert lib.materialised.get("probe", None, None, make)["n"].item() == 1
    assert lib.materialised.get("probe", None, None, make)["n"].item() == 2
    assert not list((lib.root / "cache").glob("probe-*"))


def test_another_process_reads_the_kept_answer_and_a_guest_writes_nothing(
        small: Library) -> None:
    lib = small
    want = lib.photos()
    kept = sorted(p.name for p in (lib.root / "cache").iterdir())
    assert any(n.startswith("photos-") for n in kept) and not any(n.endswith(".tmp")
                                                                    for n in kept)
    lib.catalog.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    script = f"""
import sys
from photolab import Library
g = Library({str(lib.root)!r}, read_only=True)
def refuse(*a):
    raise SystemExit("recomputed: the kept answer was not read")
g._photo_rows = refuse
g.curation = refuse
g.photos().write_ipc(sys.argv[1])
"""
    out = lib.root.parent / "guest.arrow"
    subprocess.run([sys.executable, "-c", script, str(out)], env=env(), check=True,
                   timeout=120)
    assert_frame_equal(pl.read_ipc(out), want)
    assert sorted(p.name for p in (lib.root / "cache").iterdir()) == kept
    # the guest, after the curator's next decision, sees it (and keeps it in memory only)
    guest = Library(lib.root, read_only=True)
    lib.favorite([int(want["photo_id"][0])])
    assert guest.photos()["favorite"][0] is True
    assert sorted(p.name for p in (lib.root / "cache").iterdir()) == kept
    guest.close()


def test_source_and_settings_are_part_of_the_key(small: Library) -> None:
    lib = small
    lib.photos()
    slots = {p.name.rsplit("-", 1)[0] for p in (lib.root / "cache").glob("photos-*")}
    lib.settings.folder_albums = not lib.settings.folder_albums
    lib.photos()
    after = {p.name.rsplit("-", 1)[0] for p in (lib.root / "cache").glob("photos-*")}
    assert len(after) == 2 and slots < after


def test_an_unchanged_rescan_keeps_every_answer_and_ingest_keeps_the_first_reads(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import photolab.materialised as m

    monkeypatch.setattr(m, "KEEP_AFTER_INGEST_PHOTOS", 0)  # as a large library would
    monkeypatch.setattr(m, "DISK_MIN_SECONDS", 0.0)
    lib = library_without_weights(tmp_path, RELS)
    gen = lib.catalog.generation()
    report = lib.ingest([tmp_path / "p"], show_progress=False, skip=["faces", "people"])
    assert report.counts["unchanged"] == len(RELS)
    assert lib.catalog.generation() == gen, "an unchanged rescan moved the generation"
    assert report.kept_reads_s is not None and "first reads kept" in str(report)
    lib.close()
    # another process's first reads are the kept ones: computing any of them fails here
    other = Library(tmp_path / "lib", read_only=True)

    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("recomputed after the ingest kept it")

    for name in ("_photo_rows", "curation", "_faces", "_places", "_duplicates",
                 "_compute_events", "_albums", "_best_photos"):
        monkeypatch.setattr(other, name, refuse)
    for name in m.DASHBOARD_READS:
        getattr(other, name)(**({"encodings": False} if name == "faces" else {}))
    other.duplicates(threshold=other.settings.dupe_threshold)  # as the review asks
    other.close()
