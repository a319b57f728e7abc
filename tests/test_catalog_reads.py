"""Reading a library the way a million photos need: columnar reads that give the same frames
as row reads, galleries paged by key, people's decisions folded in as they come."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import photolab.catalog
import photolab.columnar
from photolab import Library
from photolab.stages import DATES

from .conftest import library_without_weights

#: (file, capture time) with ties and undated photos: the order a gallery must keep
DATED = [("a", "2020-05-01T10:00:00"), ("b", "2020-05-01T10:00:00"), ("c", "2019-01-02T08:00:00"),
         ("d", None), ("e", "2021-12-31T23:59:59"), ("f", "2020-05-01T10:00:00"), ("g", None),
         ("h", "2019-01-02T08:00:00.5"), ("i", "2018-07-07T07:07:07")]


@pytest.fixture
def dated(tmp_path: Path) -> Library:
    """A library of small files whose dates the dates stage's own write path stored."""
    src = tmp_path / "src"
    src.mkdir()
    for name, _ in DATED:
        (src / f"{name}.jpg").write_bytes(b"\xff\xd8 not decoded " + name.encode())
    lib = Library(tmp_path / "lib")
    lib.ingest([src], only=["scan"], show_progress=False)
    files = lib.catalog.files().with_columns(
        name=pl.col("path_raw").map_elements(lambda b: Path(b.decode()).stem, pl.String))
    when = dict(DATED)
    rows = files.select("photo_id", taken_at=pl.col("name").replace_strict(when, default=None),
                        taken_at_utc=None, tz_offset=None, taken_at_source=pl.lit("exif"),
                        error=pl.lit(None, pl.String))
    lib.catalog.write_stage(DATES.name, lib.stage(DATES.name).version, rows,
                            dict(zip(files["photo_id"], files["content_hash"], strict=True)))
    return lib


def test_pages_by_key_give_every_photo_once_newest_first(dated: Library) -> None:
    everything = dated.photos().sort(["taken_at", "photo_id"], descending=True,
                                     nulls_last=True)["photo_id"].to_list()
    assert dated.recent()["photo_id"].to_list() == everything
    assert dated.count_recent() == len(everything) == len(DATED)
    for k in (1, 2, 4, 20):
        seen: list[int] = []
        while page := dated.recent(k, after_photo=seen[-1] if seen else None)[
                "photo_id"].to_list():
            assert len(page) <= k
            seen += page
        assert seen == everything, k
    # a date filter pages the same way and leaves the undated out
    in_2020 = dated.recent(after="2020-01-01", before="2020-12-31")
    assert in_2020["taken_at"].dt.year().to_list() == [2020] * 3
    assert dated.count_recent(after="2020-01-01", before="2020-12-31") == 3
    rest = dated.recent(10, after_photo=in_2020["photo_id"][0], after="2020-01-01",
                        before="2020-12-31")
    assert rest["photo_id"].to_list() == in_2020["photo_id"][1:].to_list()


def test_columnar_reads_equal_row_reads_and_fall_back(dated: Library, columnar,
                                                      monkeypatch) -> None:
    assert dated.catalog._reader is None  # a small library reads through sqlite3
    dated = Library(dated.root)  # opened again, the helper starts (COLUMNAR_MIN_PHOTOS 0)
    assert dated.catalog.columnar_ready(30)
    queries = [("SELECT * FROM photos ORDER BY photo_id", None),
               ("SELECT photo_id, taken_at FROM dates ORDER BY photo_id", None),
               ("SELECT photo_id, path_raw FROM photos WHERE photo_id > ?", None),
               ("SELECT photo_id FROM photos WHERE photo_id < 0", {"photo_id": pl.Int64})]
    for sql, schema in queries:
        params = [2] if "?" in sql else []
        fast = dated.catalog.frame(sql, params, schema)
        dated.catalog.columnar = False
        slow = dated.catalog.frame(sql, params, schema)
        dated.catalog.columnar = True
        assert fast.schema == slow.schema and fast.equals(slow), sql
    # a column null through the first batch and text after it: the driver typed it from
    # the first batch and fails; the row reader answers instead, the same frame
    monkeypatch.setattr(photolab.columnar, "BATCH_ROWS", 4)
    dated = Library(dated.root)
    assert dated.catalog.columnar_ready(30)
    sql = ("SELECT p.photo_id, d.taken_at FROM photos p LEFT JOIN dates d USING (photo_id) "
           "ORDER BY d.taken_at IS NOT NULL, p.photo_id")
    got = dated.catalog.frame(sql, schema={"photo_id": pl.Int64, "taken_at": pl.String})
    assert got["taken_at"].null_count() == 2 and got["taken_at"].drop_nulls().len() == 7
    assert got.schema["taken_at"] == pl.String


def test_labels_fold_in_other_writers_decisions_and_undo(tmp_path: Path) -> None:
    lib = library_without_weights(tmp_path, [f"faces/fr_obama/{n}.jpg"
                                             for n in ("obama", "obama2", "obama3")],
                                  skip=["semantic", "tags", "captions"])
    other = Library(lib.root)  # a second kernel on the same library
    faces = lib.faces(encodings=False)["face_id"].to_list()
    assert len(faces) >= 3 and lib.labels().names == {}
    other.name_faces(faces[:2], "Ada")
    assert set(lib.labels().names.values()) == {"Ada"}  # folded in, not replayed
    _, grace = other.faces.assign(faces[2:3], "Grace")
    assert lib.labels().person_of.keys() == set(faces[:3])
    assert set(lib.named_in_photos()["named"].explode()) == {"Ada", "Grace"}
    for d in grace:  # an undo: replayed from the start
        other.undo(d)
    labels = lib.labels()
    assert labels.person_of.keys() == set(faces[:2])
    fresh = Library(lib.root).labels()
    assert (fresh.person_of, fresh.names) == (labels.person_of, labels.names)


def test_a_new_process_starts_from_the_kept_labels_and_folds_in_what_came_since(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that replayed every decision keeps the labels beside the cached answers;
    the next one starts from them and folds in the decisions since (no replay), and is
    replayed from the start when the kept labels are not of this catalog."""
    import json

    from photolab.faces import labels as labels_mod

    lib = library_without_weights(tmp_path, [f"faces/fr_obama/{n}.jpg"
                                             for n in ("obama", "obama2", "obama3")],
                                  skip=["semantic", "tags", "captions"])
    faces = lib.faces(encodings=False)["face_id"].to_list()
    lib.name_faces(faces[:2], "Ada")
    Library(lib.root).labels()  # replayed from the start: kept
    kept = list((lib.root / "cache").glob("labels-*.json"))
    assert len(kept) == 1 and json.loads(kept[0].read_text())["upto"] > 0
    lib.name_faces(faces[2:3], "Grace")
    lib.rename_person(lib.people().filter(pl.col("name") == "Ada")["person_id"][0], "Ada L.")
    full = labels_mod.replay(lib.catalog.active_decisions(*labels_mod.FACE_KINDS))
    replays: list[int] = []  # decisions replayed: > 0 from the start, <= 0 folded in
    real = labels_mod.replay

    def counted(decisions: pl.DataFrame, into: labels_mod.Labels | None = None
                ) -> labels_mod.Labels:
        replays.append(decisions.height if into is None else -decisions.height)
        return real(decisions, into)

    monkeypatch.setattr(labels_mod, "replay", counted)
    two = Library(lib.root).labels()
    assert replays and all(n <= 0 for n in replays), replays  # only what came since
    assert (two.person_of, two.names, two.ignored) == (full.person_of, full.names,
                                                       full.ignored)
    assert set(two.names.values()) == {"Ada L.", "Grace"}

    def not_this_catalogs() -> str:  # the kept labels' last decision is another's
        data = json.loads(kept[0].read_text())
        data["mark"] = json.dumps(["face_person", "{}", "1999-01-01"])
        kept[0].write_text(json.dumps(data))
        replays.clear()
        return kept[0].read_text()

    not_this_catalogs()
    three = Library(lib.root).labels()
    assert replays and replays[0] > 0, replays  # replayed from the start, and kept again
    assert (three.person_of, three.names) == (full.person_of, full.names)
    assert json.loads(kept[0].read_text())["mark"] != json.dumps(
        ["face_person", "{}", "1999-01-01"])
    before = not_this_catalogs()
    guest = Library(lib.root, read_only=True)  # a guest replays too, and writes nothing
    assert guest.labels().person_of == full.person_of and replays[0] > 0
    assert kept[0].read_text() == before


def test_every_read_verb_answers_the_same_with_row_reads(corpus_lib: Library,
                                                         columnar) -> None:
    """The whole corpus: what each read verb gives through columnar reads (the helper
    process), it gives through sqlite3's rows (the path small libraries take). Over 20 s:
    every read verb on the whole corpus, twice."""
    corpus_lib = Library(corpus_lib.root)
    assert corpus_lib.catalog.columnar_ready(30)
    verbs = {"photos": lambda lib: lib.photos(include_missing=True),
             "faces": lambda lib: lib.faces(), "people": lambda lib: lib.people(),
             "duplicates": lambda lib: lib.duplicates(), "places": lambda lib: lib.places(),
             "decisions": lambda lib: lib.decisions(), "recent": lambda lib: lib.recent(),
             "jobs": lambda lib: lib.jobs().drop("pid", strict=False),
             "scene_tags": lambda lib: lib.scene_tags(), "tags": lambda lib: lib.tags()}
    for name, verb in verbs.items():
        fast = verb(corpus_lib)
        corpus_lib.catalog.columnar = False
        try:
            slow = verb(corpus_lib)
        finally:
            corpus_lib.catalog.columnar = True
        assert fast.height > 0 or name == "decisions", name
        assert fast.schema == slow.schema and fast.equals(slow), name
    assert corpus_lib.catalog.columnar_ready()  # the helper answered all along


def test_kept_nearest_people_equal_a_full_measure_after_each_decision(tmp_path: Path) -> None:
    """Each face's nearest named person is kept and updated by what changed; after every
    kind of decision it equals measuring every face against every centroid again."""
    rels = [f"faces/{p}.jpg" for p in ("df_person01/img1", "df_person01/img2", "df_person01/img4",
                                       "df_person02/img3", "df_person02/img12",
                                       "df_person02/img53", "df_person03/img8",
                                       "df_person03/img9", "fr_biden/biden")]
    lib = library_without_weights(tmp_path, rels, skip=["semantic", "tags", "captions"])
    faces = lib.faces(encodings=False).sort("face_id")
    ids = faces["face_id"].to_list()
    assert len(ids) >= 8

    def check() -> pl.DataFrame:
        kept = lib.nearest_people()
        with lib.catalog.transaction() as c:  # forget what is kept: measure everything
            saved = c.execute("SELECT count(*) FROM face_nearest").fetchone()[0]
            c.execute("DELETE FROM face_nearest")
            c.execute("DELETE FROM person_centroids")
        full = lib.nearest_people()
        assert saved == full.height
        assert kept["face_id"].to_list() == full["face_id"].to_list()
        assert kept["person_id"].to_list() == full["person_id"].to_list()
        assert kept["dist"].to_numpy() == pytest.approx(full["dist"].to_numpy(), abs=1e-9)
        return full

    assert lib.nearest_people().height == 0  # nobody named yet
    lib.name_faces(ids[:2], "One")
    check()
    lib.name_faces(ids[3:5], "Two")  # a new person appears
    check()
    lib.name_faces(ids[5:6], "One")  # a person's centroid moves
    guest = Library(lib.root, read_only=True)  # a guest brings it up to date in memory
    assert guest.nearest_people().equals(lib.nearest_people())
    check()
    one = lib.people().filter(pl.col("name") == "One")["person_id"][0]
    lib.remove_faces(ids[5:6], one)  # moves back
    check()
    lib.merge_people(lib.people().filter(pl.col("name") == "Two")["person_id"][0], one)
    full = check()  # a person gone
    assert full["person_id"].n_unique() == 1


def test_nearest_people_held_by_a_process_equal_a_full_measure_after_each_decision(
        lib_copy: Library) -> None:
    """A process that measured once keeps what it measured and its centroids, and sums
    again only the people whose named faces changed: after every kind of decision, one
    after another in one process, each face's nearest person and distance are what
    measuring every face against centroids summed afresh gives."""
    import random

    from photolab.faces import nearest, store
    from photolab.faces.cluster import decode
    from photolab.faces.cluster import nearest as measure

    lib = lib_copy
    every = nearest.encodings_of(lib.catalog, None)
    ids = lib.faces(encodings=False).filter(
        ~pl.col("low_quality") & pl.col("face_id").is_in(every["face_id"].implode())
    )["face_id"].to_list()
    rnd = random.Random(7)
    matrix = decode(every["encoding"])

    def full() -> pl.DataFrame:
        a = lib.labels().assignments()
        named = store.encoded_faces(lib.catalog, a["face_id"]).join(a, on="face_id")
        people, cents = nearest.centroids(lib.catalog, named)  # from the catalog's blobs
        best, dist = measure(matrix, cents)
        return pl.DataFrame({"face_id": every["face_id"], "person_id": people[best],
                             "dist": dist})

    def person() -> int:
        return int(rnd.choice(lib.people()["person_id"].to_list()))

    steps = [
        ("name", lambda: lib.name_faces(rnd.sample(ids, 2), rnd.choice(["Ada", "Bo", "Cy"]))),
        ("move", lambda: lib.move_faces(rnd.sample(ids, 2), person())),
        ("remove", lambda: lib.remove_faces(rnd.sample(ids, 1))),
        ("merge", lambda: lib.merge_people(*rnd.sample(lib.people()["person_id"].to_list(), 2))),
        ("undo", lambda: lib.undo(lib.decisions()["decision_id"][-1])),
    ]
    lib.name_faces(ids[:2], "First")
    lib.nearest_people()
    for i in range(15):
        what, step = steps[i % len(steps)]
        step()
        got = lib.nearest_people()
        assert lib.faces._near_held is not None and lib.faces._near_held.named is not None, what
        want = full()
        assert got["face_id"].to_list() == want["face_id"].to_list(), what
        assert got["person_id"].to_list() == want["person_id"].to_list(), (i, what)
        assert got["dist"].to_numpy() == pytest.approx(want["dist"].to_numpy(), abs=1e-9), what


def test_filter_choices_come_from_distinct_names_with_corrections(lib_copy: Library) -> None:
    """The search box's place and scene choices, read as distinct names, are what the whole
    frames hold, a person's place correction included."""
    located = lib_copy.places().filter(pl.col("city").is_not_null())
    lib_copy.set_place(located["photo_id"].head(1).to_list(), city="Atlantis",
                       country="Neverland")

    def names() -> list[str]:
        p = lib_copy.places()
        return sorted({v for c in ("country", "region", "city") for v in p[c].drop_nulls()})

    assert "Atlantis" in lib_copy.place_names() and lib_copy.place_names() == names()
    tags = sorted(lib_copy.scene_tags()["tag"].unique())
    assert tags and lib_copy.scene_tag_names() == tags


@pytest.mark.parametrize("reader", ["rows", "columnar"])
def test_a_library_dropped_without_close_leaves_later_reads_fresh(dated: Library, reader: str,
                                                                  monkeypatch) -> None:
    """ADBC links its own copy of SQLite: mixed with Python's sqlite3 in one process on a
    catalog in WAL mode, closing one library's ADBC connection reset the -wal file under
    another's open sqlite3 connection, whose later decisions then went where no other reader
    (nor another process) saw them. The columnar reader now runs in a process of its own."""
    import gc

    if reader == "columnar":
        monkeypatch.setattr(photolab.catalog, "COLUMNAR_MIN_PHOTOS", 0)
        dated = Library(dated.root)
        assert dated.catalog.columnar_ready(30)
    root = dated.root
    ids = dated.photos()["photo_id"].to_list()
    dated.tag(ids[:1], "first")   # a write, then reads through both connections
    dated.photos()
    del dated
    gc.collect()
    lib = Library(root)
    assert lib.catalog.columnar_ready(30) == (reader == "columnar")
    for n in range(1, 4):
        lib.photos()  # a columnar read
        lib.tag(ids[n:n + 1], f"tag {n}")
        assert lib.decisions("keywords").height == n + 1
        assert lib.photos().filter(pl.col("photo_id") == ids[n])["keywords"][0].to_list() == \
            [f"tag {n}"]
    other = Library(root)  # a second library open beside it, then closed
    other.photos()
    other.close()
    lib.tag(ids[:1], "after")
    assert lib.decisions("keywords").height == 5
    seen = subprocess.run(  # another process sees every decision too
        [sys.executable, "-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("
         "\"SELECT count(*) FROM decisions WHERE kind = 'keywords'\").fetchone()[0])",
         str(root / "catalog.sqlite")], capture_output=True, text=True, check=True).stdout
    assert seen.strip() == "5"
    lib.close()
