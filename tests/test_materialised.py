"""Verb results kept for the catalog's generation: the same answers as computing afresh,
after every kind of decision and stage write, across processes, never a stale one."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from photolab import Library
from photolab.materialised import Reads
from photolab.media import pairs
from photolab.stages import DATES

from .conftest import corpus_file, env, library_without_weights
from .kept import kept_calls

RELS = ["exif/ianare_gps_DSCN0010.jpg", "exif/ianare_Canon_40D.jpg",
        "exif/mde_Apple_iPhone_4.jpg", "dupes/fr_obama-240p.jpg", "dupes/fr_obama-480p.jpg"]

#: the public reads made of kept answers, checked beside every kept answer of the registry
#: (`tests/kept.py`)
PUBLIC = {
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
    "place_covers": lambda lib: lib.place_covers(),
    "events": lambda lib: lib.events(),
    "events_left_out": lambda lib: pl.DataFrame(lib.events_left_out()),
    "albums": lambda lib: lib.albums(),
    "best_photos": lambda lib: lib.best_photos(),
    "on_this_day": lambda lib: lib.on_this_day("2020-07-10", window_days=30),
}


def verbs(lib: Library) -> dict[str, Callable[[], pl.DataFrame]]:
    """Every kept answer (with each of its argument lists), and the public reads."""
    return kept_calls(lib) | {k: functools.partial(f, lib) for k, f in PUBLIC.items()}


def fresh(lib: Library) -> dict[str, pl.DataFrame]:
    lib.materialised.enabled = False
    try:
        return {k: f() for k, f in verbs(lib).items()}
    finally:
        lib.materialised.enabled = True


def assert_same(lib: Library, when: str) -> None:
    want = fresh(lib)
    for name, verb in verbs(lib).items():
        try:
            assert_frame_equal(verb(), want[name])
        except AssertionError as e:
            raise AssertionError(f"{name} after {when}: {e}") from None


@pytest.fixture
def small(tmp_path: Path) -> Library:
    lib = library_without_weights(tmp_path, RELS)
    lib.materialised.disk_min_seconds = 0.0  # every answer to disk too, however quick
    yield lib
    lib.close()


#: a small library with a bit of everything: two people's faces (clusters to name, split and
#: merge), a duplicate trio, GPS photos, dated photos (events); its files are copies, so a
#: resolved group can move them to the trash
DIFF_RELS = ([f"faces/df_person01/{n}" for n in ("img1.jpg", "img2.jpg", "img4.jpg",
                                                   "img5.jpg", "img6.jpg")]
             + [f"faces/df_person02/{n}" for n in ("img3.jpg", "img12.jpg", "img53.jpg",
                                                     "img54.jpg")]
             + ["dupes/fr_obama-240p.jpg", "dupes/fr_obama-480p.jpg",
                "dupes/fr_obama-720p.jpg", "dupes/ianare_landscape_1.jpg",
                "exif/ianare_gps_DSCN0010.jpg", "exif/mde_Apple_iPhone_4.jpg",
                "exif/ianare_Canon_40D.jpg"])


def raw_jpeg_pair(folder: Path) -> None:
    """IMG_9000.dng and IMG_9000.jpg, one shot: a RAW+JPEG pair (tests/dngs.py)."""
    from .dngs import photo_rgb, set_tags, write_dng

    folder.mkdir(parents=True)
    src = corpus_file("faces/df_person03/img49.jpg")
    shutil.copy(src, folder / "IMG_9000.jpg")
    write_dng(folder / "IMG_9000.dng", photo_rgb(src, 800))
    for name in ("IMG_9000.jpg", "IMG_9000.dng"):
        set_tags(folder / name, DateTimeOriginal="2021:07:04 12:00:00")


@pytest.fixture
def varied(tmp_path: Path, tiny_clip: str) -> Library:
    """Over 20 s: ingests 17 photos with faces and the tiny CLIP model."""
    from .conftest import copy_files

    copy_files(tmp_path / "p", DIFF_RELS)
    raw_jpeg_pair(tmp_path / "p" / "card")
    lib = Library(tmp_path / "lib")
    lib.settings.clip_model = tiny_clip
    lib.settings.cluster_min_size = 2
    lib.settings.save(lib.root)
    lib.ingest([tmp_path / "p"], show_progress=False)
    lib.materialised.disk_min_seconds = 0.0
    yield lib
    lib.close()


def decision_steps(lib: Library) -> dict[str, Callable[[], object]]:
    """One way to record each kind of decision (`photolab.ledger.KINDS`), in an order where
    each finds what it needs."""
    photos = lib.photos()
    first = int(photos["photo_id"][0])
    gps = photos.filter(pl.col("lat").is_not_null())["photo_id"].to_list()[:2]
    faces = lib.faces(encodings=False)
    clustered = faces.filter(pl.col("cluster_id").is_not_null())
    big = clustered.group_by("cluster_id").len().sort("len", descending=True)["cluster_id"]
    one = clustered.filter(pl.col("cluster_id") == big[0])["face_id"].to_list()
    two = clustered.filter(pl.col("cluster_id") == big[1])["face_id"].to_list()
    groups = lib.duplicates()
    pair = groups.filter(pl.col("group_id") == groups["group_id"].min())["photo_id"].to_list()
    person = lambda name: int(lib.people().filter(pl.col("name") == name)["person_id"][0])  # noqa: E731
    return {
        "rating": lambda: lib.rate([first], 4),
        "favorite": lambda: lib.favorite([first]),
        "keywords": lambda: lib.tag([first], "kept-answer"),
        "title": lambda: lib.set_title([first], "A kept answer"),
        "description": lambda: lib.set_description([first], "Kept, then checked"),
        "date": lambda: lib.set_date(first, "1999-12-31T23:00:00"),
        "place": lambda: lib.set_place(gps, city="Nowhere", country="Elsewhere"),
        "album": lambda: lib.create_album("Kept", [first, *gps]),
        "face_add": lambda: lib.add_face(int(faces["photo_id"][0]), (0, 40, 40, 0)),
        "upload": lambda: lib.add_files([corpus_file("exif/ianare_gps_DSCN0012.jpg")],
                                        show_progress=False),
        "event_title": lambda: lib.set_event_title(int(lib.events()["event_id"][0]),
                                                   "A kept event"),
        "face_person": lambda: (lib.name_cluster(big[0], "Ada"),
                                lib.name_cluster(big[1], "Grace")),
        "person_name": lambda: lib.rename_person(person("Grace"), "Grace H"),
        "face_unassign": lambda: lib.remove_faces(one[-1:]),
        "face_split": lambda: lib.split_faces(two[:1]),
        "person_merge": lambda: lib.merge_people(person("Grace H"), person("Ada")),
        "face_ignore": lambda: lib.reject_faces(one[:1]),
        "unpair": lambda: lib.unpair(int(photos.filter(
            pl.col("paired_with").is_not_null())["photo_id"][0])),
        "not_duplicate": lambda: lib.not_duplicate(pair[0], pair[1]),
        "keep": lambda: lib.keep(pair[-1]),
        "resolve": lambda: lib.resolve_duplicates(pair[-1]),
        "undo": lambda: lib.undo(int(lib.decisions()["decision_id"][-1])),
    }


@pytest.mark.slow
def test_every_kept_verb_equals_computing_afresh_after_each_kind_of_decision(
        varied: Library) -> None:
    """Over 20 s: the ingest of `varied`, then every kept verb computed afresh after each of
    each kind of decision. The kinds come from `photolab.ledger.KINDS`: a new kind fails
    here until it has a step."""
    from photolab.ledger import KINDS

    lib = varied
    assert_same(lib, "first read")
    assert_same(lib, "kept")
    other = Library(lib.root)  # a second process's view: reads the kept files
    assert_same(other, "from cache/")
    other.close()
    steps = decision_steps(lib)
    assert set(steps) == set(KINDS)
    for kind, step in steps.items():
        before = lib.catalog.generations([f"decision:{kind}"])
        step()
        assert lib.catalog.generations([f"decision:{kind}"]) > before, kind
        assert_same(lib, f"a decision of kind {kind}")


@pytest.mark.slow
def test_every_kept_verb_equals_computing_afresh_after_each_stage_writes(
        varied: Library) -> None:
    """Over 20 s: the ingest of `varied`, then every kept verb computed afresh after each
    stage of the registry (`photolab.stages.STAGES`) writes: a per-photo stage failing on a
    photo (its row gone, its error recorded, as a failed run leaves them), a rescan that
    finds a file gone, a reclustering."""
    from photolab.stages import STAGES

    lib = varied
    assert_same(lib, "first read")
    photos = lib.photos()
    for i, spec in enumerate(STAGES):
        if spec.name == "scan":
            gone = Path(photos.filter(pl.col("paired_with").is_null())["path"][-1])
            gone.unlink()
            lib.ingest([gone.parent], only=["scan"], show_progress=False)
        elif spec.name == "people":
            lib.cluster_faces(min_cluster_size=3)
        elif spec.name == "pairs":  # a pair ends (its JPEG gone), then is made again
            with lib.catalog.transaction() as c:
                c.execute("UPDATE photos SET paired_to = NULL")
            assert_same(lib, "a pair ended")
            assert pairs.update(lib.catalog) == 1
            assert_same(lib, "a pair made")
        else:
            table = spec.table or spec.name  # the faces stage writes `faces` itself
            ran = lib.catalog.frame(
                "SELECT photo_id FROM stage_runs WHERE stage = ? AND error IS NULL "
                "ORDER BY photo_id LIMIT 1 OFFSET ?", [spec.name, i])
            if ran.height == 0:  # a stage whose model is off here (captions): it wrote nothing
                assert spec.prepare is not None, f"the {spec.name} stage ran on no photo"
                continue
            pid = int(ran.item())
            tables = set(lib.catalog.frame("SELECT name FROM sqlite_master "
                                           "WHERE type = 'table'")["name"])
            # each write alone: a kept answer must see either
            for sql in ([f"DELETE FROM {table} WHERE photo_id = ?"] if table in tables
                        else []) + ["UPDATE stage_runs SET error = 'a failed run' "
                                    f"WHERE photo_id = ? AND stage = '{spec.name}'"]:
                gen = lib.catalog.generation()
                with lib.catalog.transaction() as c:
                    c.execute(sql, (pid,))
                assert lib.catalog.generation()[0] > gen[0], sql
                assert_same(lib, f"the {spec.name} stage: {sql}")
            continue
        assert_same(lib, f"the {spec.name} stage")


def test_a_decision_keeps_the_tables_part_and_a_stage_write_does_not(small: Library) -> None:
    lib = small
    calls = []
    rows = lib.photos._photo_rows
    lib.photos._photo_rows = lambda *a: calls.append(a) or rows(*a)  # type: ignore[method-assign]
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

    reads = Reads(decisions=frozenset({"rating"}))
    assert lib.materialised.get("probe", None, reads, None, make)["n"].item() == 1
    assert lib.materialised.get("probe", None, reads, None, make)["n"].item() == 2
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
        monkeypatch.setattr(service_with(other, name), name, refuse)
    for name in m.DASHBOARD_READS:
        getattr(other, name)(**({"encodings": False} if name == "faces" else {}))
    other.duplicates(threshold=other.settings.dupe_threshold)  # as the review asks
    other.close()


def service_with(lib: Library, name: str) -> object:
    """The service of `lib` that has the method `name` (a private one the test replaces)."""
    from photolab.library import SERVICES

    return next(getattr(lib, s) for s in SERVICES
                if any(name in vars(c) for c in type(getattr(lib, s)).__mro__))


def counted(monkeypatch: pytest.MonkeyPatch, lib: Library, *names: str) -> dict[str, int]:
    """How often each of these computing methods of `lib`'s services runs from now on."""
    calls = dict.fromkeys(names, 0)
    for name in names:
        service = service_with(lib, name)
        real = getattr(service, name)

        def wrap(*a: object, _real=real, _name=name, **k: object) -> object:
            calls[_name] += 1
            return _real(*a, **k)
        monkeypatch.setattr(service, name, wrap)
    return calls


def test_a_decision_of_another_kind_keeps_faces_people_places_and_duplicates(
        small: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = small
    reads = {"faces": lambda x: x.faces(encodings=False), "people": lambda x: x.people(),
             "places": lambda x: x.places(), "place_hierarchy": lambda x: x.place_hierarchy(),
             "duplicates": lambda x: x.duplicates()}
    before = {k: f(lib) for k, f in reads.items()}
    calls = counted(monkeypatch, lib, "_faces", "_places", "_duplicates")
    pid = int(lib.photos()["photo_id"][0])
    lib.rate([pid], 5)
    lib.tag([pid], "kept")
    lib.create_album("Kept", [pid])
    for k, f in reads.items():
        assert_frame_equal(f(lib), before[k])
    assert calls == {"_faces": 0, "_places": 0, "_duplicates": 0}, calls
    other = Library(lib.root, read_only=True)  # another process reads what was kept
    counts = counted(monkeypatch, other, "_faces", "_places", "_duplicates")
    for k, f in reads.items():
        assert_frame_equal(f(other), before[k])
    assert counts == {"_faces": 0, "_places": 0, "_duplicates": 0}, counts
    other.close()
    # their own decisions are seen
    lib.set_place([pid], city="Nowhere", country="Elsewhere")
    assert lib.places().filter(pl.col("photo_id") == pid)["city"].item() == "Nowhere"
    assert "Elsewhere" in lib.place_hierarchy()["country"].to_list()
    assert calls["_places"] == 1


def test_names_moves_and_removals_update_the_kept_faces_as_computing_afresh_would(
        lib_copy: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    lib = lib_copy
    faces = lib.faces(encodings=False)
    lib.faces()
    lib.people()
    clustered = faces.filter(pl.col("cluster_id").is_not_null())
    ids = faces.filter(~pl.col("low_quality"))["face_id"].to_list()
    rnd = random.Random(18)
    calls = counted(monkeypatch, lib, "_faces")

    def some() -> list[int]:
        return rnd.sample(ids, rnd.randint(1, 3))

    def person() -> int:
        return int(rnd.choice(lib.people()["person_id"].to_list()))

    local = [
        ("name faces", lambda: lib.name_faces(some(), rnd.choice(["Ada", "Bo", "Cy"]))),
        ("name a cluster", lambda: lib.name_cluster(
            int(rnd.choice(clustered["cluster_id"].unique().to_list())), "Dee")),
        ("move faces", lambda: lib.move_faces(some(), person())),
        ("remove faces", lambda: lib.remove_faces(some())),
        ("rename", lambda: lib.rename_person(person(), f"Renamed {rnd.random():.6f}")),
        ("undo", lambda: lib.undo(lib.decisions()["decision_id"][-1])),
        ("accept suggestions", lambda: lib.accept_suggestions(min_confidence=0.5)),
    ]
    for step in range(24):
        what, change = local[step % len(local)] if step < len(local) else rnd.choice(local)
        change()
        got = {"faces": lib.faces(encodings=False), "faces with encodings": lib.faces(),
               "people": lib.people()}
        lib.materialised.enabled = False
        want = {"faces": lib.faces(encodings=False), "faces with encodings": lib.faces(),
                "people": lib.people()}
        lib.materialised.enabled = True
        for k in got:
            try:
                assert_frame_equal(got[k], want[k])
            except AssertionError as e:
                raise AssertionError(f"{k} after {what} (step {step}): {e}") from None
    # every computation above was the fresh one each step asked for (3 a step: faces twice,
    # people once): the kept answers were brought up to date without one
    assert calls["_faces"] == 24 * 3, calls
    # what changes the clusters is computed again, and right
    lib.reject_faces([ids[0]])
    n = calls["_faces"]
    assert_same(lib, "a rejection")
    assert calls["_faces"] > n + 3
    # another process holding the kept answer brings it up to date too
    other = Library(lib.root, read_only=True)
    other.faces(encodings=False)
    seen = counted(monkeypatch, other, "_faces")
    lib.name_faces([ids[1]], "From Another Kernel")
    assert_frame_equal(other.faces(encodings=False), lib.faces(encodings=False))
    assert seen["_faces"] == 0
    other.close()


def test_a_cluster_whose_vote_moves_is_brought_up_to_date(small: Library) -> None:
    """A face of a cluster whose nearest person stays the same and who was nobody (taken
    from the cluster's person): moving the cluster's named face to someone else makes it
    that someone."""
    import numpy as np

    from photolab.faces import store

    lib = small
    files = lib.catalog.files().sort("photo_id")
    ids = files["photo_id"].to_list()[:4]
    hashes = dict(zip(files["photo_id"], files["content_hash"], strict=True))
    base = np.zeros(128, np.float32)
    enc = {ids[0]: base, ids[1]: base + 0.03, ids[2]: base + 0.025, ids[3]: base + 0.3}
    face = {"top": 10, "right": 90, "bottom": 90, "left": 10, "image_width": 100,
            "image_height": 100, "source": "detected", "file_name": None, "side_px": 80,
            "sharpness": 900.0, "detector_score": 1.0}
    frame = pl.DataFrame({"photo_id": ids, "faces": [[{**face, "encoding": enc[i].tobytes()}]
                                                      for i in ids], "error": None},
                         schema_overrides={"error": pl.String})
    lib.catalog.write_stage("faces", lib.stage("faces").version, frame, hashes)
    got = lib.catalog.frame("SELECT face_id, photo_id FROM faces ORDER BY photo_id")
    a, b, d, far = got["face_id"].to_list()
    store.write_clusters(lib.catalog, pl.DataFrame(
        {"face_id": [a, b, d, far], "cluster_id": [0, 0, 1, None],
         "probability": [1.0, 1.0, 1.0, None]}))
    lib.name_faces([a], "Pat")
    lib.name_faces([d], "Rae")
    b_row = lib.faces(encodings=False).filter(pl.col("face_id") == b).row(0, named=True)
    assert (b_row["person_name"], b_row["assigned_by"]) == ("Pat", "cluster")
    lib.remove_faces([b])
    assert lib.faces(encodings=False).filter(pl.col("face_id") == b)["person_id"].item() is None
    lib.move_faces([a], "Quin")
    after = lib.faces(encodings=False)
    lib.materialised.enabled = False
    assert_frame_equal(after, lib.faces(encodings=False))
    assert after.filter(pl.col("face_id") == b)["person_name"].item() == "Quin"


def test_every_write_moves_the_generations_by_itself_even_from_outside(small: Library) -> None:
    """The schema moves the generations (triggers on every table but the unkept ones), so no
    writer declares what it invalidates: a write from the sqlite3 shell makes a kept answer
    computed again; seeing an unchanged file, or writing a value a row already has, keeps
    every answer; an undo moves the undone decision's kind."""
    import sqlite3

    from photolab.migrations import TRIGGER_PREFIX, UNKEPT_TABLES

    lib = small
    path = lib.root / "catalog.sqlite"
    with sqlite3.connect(path) as con:
        tables = {n for (n,) in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'captions_fts%'")}
        triggers = {n for (n,) in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE ?",
            (TRIGGER_PREFIX + "%",))}
    assert tables - set(UNKEPT_TABLES) and all(
        {f"{TRIGGER_PREFIX}{t}_{op}" for op in ("insert", "update", "delete")} <= triggers
        for t in tables - set(UNKEPT_TABLES))

    places = lib.places()
    gen = lib.catalog.generation()
    pid = int(places.filter(pl.col("city").is_not_null())["photo_id"][0])
    with sqlite3.connect(path) as con:  # nothing changes: the same value, a last-seen time
        con.execute("UPDATE places SET city = city WHERE photo_id = ?", (pid,))
        con.execute("UPDATE photos SET last_seen = 'now' WHERE photo_id = ?", (pid,))
    assert lib.catalog.generation() == gen and lib.places() is places
    with sqlite3.connect(path) as con:
        con.execute("UPDATE places SET city = 'Shellville' WHERE photo_id = ?", (pid,))
    assert lib.catalog.generation()[0] > gen[0]
    assert lib.places().filter(pl.col("photo_id") == pid)["city"].item() == "Shellville"

    rated = lib.catalog.generations(["decision:rating"])
    d = lib.rate([pid], 2)[0]
    faces = lib.catalog.generations(["decision:face_person", "table:faces"])
    lib.undo(d)
    assert lib.catalog.generations(["decision:rating"]) == rated + 2  # the rating, its undo
    assert lib.catalog.generations(["decision:face_person", "table:faces"]) == faces
