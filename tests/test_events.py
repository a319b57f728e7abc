"""Events, albums, memories and export on a photo tree with known events (exiftool-written
dates and GPS), ingested for real."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from photolab import AlbumNotFoundError, EventNotFoundError, Library, PhotolabError
from photolab.errors import ModelNotFoundError
from photolab.events.group import group_events, pairwise_scores

from .conftest import PHOTOLAB, corpus_file, env, private_copy
from .event_tree import SEATTLE, build_tree, exif_args, write_exif

#: corpus photos of one face at two sizes, dated into the Fourth of July: the larger is the
#: event's cover (a face, and the better of two copies)
FACE_COPIES = ["dupes/fr_obama-720p.jpg", "dupes/fr_obama-480p.jpg"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("events") / "photos"
    truth = build_tree(root)
    folder = root / "fourth_of_july"
    copies = []
    for i, rel in enumerate(FACE_COPIES):
        dest = folder / f"face_{i}.jpg"
        shutil.copyfile(corpus_file(rel), dest)
        copies.append((dest, exif_args(datetime(2020, 7, 4, 12, 45 + i), SEATTLE)))
        truth[dest.name] = "fourth of july"
    write_exif(copies)
    return root, truth


@pytest.fixture(scope="module")
def events_lib(tree, tmp_path_factory: pytest.TempPathFactory) -> Library:
    root, _ = tree
    lib = Library(tmp_path_factory.mktemp("events-lib") / "lib")
    lib.settings.clip_cache_dir = str(root.parent / "no-weights")
    lib.settings.save(lib.root)
    lib.ingest([root], show_progress=False, skip=["semantic", "tags", "captions"])
    yield lib
    lib.close()


@pytest.fixture
def own_lib(events_lib: Library, tmp_path: Path) -> Library:
    """A private copy of the events library, for tests that record decisions."""
    lib = private_copy(events_lib, tmp_path / "lib")
    yield lib
    lib.close()


def _found(lib: Library) -> pl.DataFrame:
    """`name` (file name), `event` (event_id) of every photo in an event."""
    rows = [lib.event_photos(e).select("photo_id", "path", event=pl.lit(e))
            for e in lib.events()["event_id"]]
    return pl.concat(rows).with_columns(name=pl.col("path").str.extract(r"([^/]+)$"))


def test_events_follow_time_and_place(events_lib: Library, tree) -> None:
    _, truth = tree
    events = events_lib.events().sort("start")
    titles = events["title"].to_list()
    assert titles == [
        "Seattle, 2 March 2019", "Seattle, 2 March 2019",
        "Rome and Florence, 12-18 May 2019",      # days away are one trip; the airport joins
        "Seattle, 31 December 2019",              # past midnight: the same night
        "Seattle, 1 January 2020",
        "10 February 2020",                       # no place: the dates alone
        "Paris, 1-3 June 2020",
        "Seattle, 4 July 2020", "Seattle, 5 July 2020", "Seattle, 14 May 2021"]
    assert events["trip"].to_list() == [False, False, True, False, False, False, True,
                                        False, False, False]
    italy = events.row(2, named=True)
    assert italy["n_photos"] == 1 + 9 + 2 + 9
    assert italy["cities"] == ["Seattle", "Rome", "Florence"]
    assert italy["countries"] == ["United States", "Italy"]
    assert italy["start"] == datetime(2019, 5, 12, 7) and italy["end"] == datetime(2019, 5, 18, 19)
    assert events_lib.events_left_out() == {"file_time_only": 2, "undated": 0}
    assert events["n_photos"].sum() == len(truth) - 2


def test_events_match_the_known_ones(events_lib: Library, tree) -> None:
    """Pairwise precision and recall of "same event" against the tree's own events."""
    _, truth = tree
    labels = pl.DataFrame({"name": list(truth), "label": list(truth.values())}).filter(
        pl.col("label") != "")
    found = _found(events_lib).join(labels, on="name")
    assert found.height == labels.height
    scores = pairwise_scores(found.select("photo_id", "event"),
                             found.select("photo_id", event=pl.col("label").rank("dense")))
    assert scores["precision"] >= 0.95 and scores["recall"] >= 0.95, scores
    assert scores == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_cover_is_a_face_and_the_better_copy(events_lib: Library) -> None:
    july = events_lib.events().filter(pl.col("title") == "Seattle, 4 July 2020").row(0, named=True)
    cover = events_lib.event_photos(july["event_id"]).filter(
        pl.col("photo_id") == july["cover_photo_id"])
    assert cover["path"][0].endswith("face_0.jpg")   # 720p, not its 480p copy nor a noise JPEG
    faces = events_lib.faces(encodings=False)
    assert faces.filter(pl.col("photo_id") == july["cover_photo_id"]).height >= 1


def test_a_sharp_photo_is_chosen_over_a_blurred_one(tmp_path: Path) -> None:
    from .event_tree import _image

    src = tmp_path / "p"
    src.mkdir()
    files = []
    for i, blur in enumerate([True, False, True]):
        path = src / f"IMG_{i}.jpg"
        _image(100 + i, blur=blur).save(path, quality=92)
        files.append((path, exif_args(datetime(2022, 8, 1, 10, i), SEATTLE)))
    write_exif(files)
    with Library(tmp_path / "lib") as lib:
        lib.ingest([src], show_progress=False, only=["scan", "metadata", "dates",
                                                     "thumbnails", "hashes", "places"])
        e = lib.events().row(0, named=True)
        photos = lib.photos()
        assert photos.filter(pl.col("photo_id") == e["cover_photo_id"])["path"][0].endswith(
            "IMG_1.jpg")
        lib.favorite([int(photos.filter(pl.col("path").str.ends_with("IMG_2.jpg"))
                          ["photo_id"][0])])
        fav = lib.events()["cover_photo_id"][0]  # a favourite beats sharpness
        assert photos.filter(pl.col("photo_id") == fav)["path"][0].endswith("IMG_2.jpg")


def test_event_ids_are_stable_and_events_recompute(own_lib: Library) -> None:
    lib = own_lib
    before = lib.events()
    assert lib.events()["event_id"].to_list() == before["event_id"].to_list()
    paris = before.filter(pl.col("title") == "Paris, 1-3 June 2020").row(0, named=True)
    lib.set_event_title(paris["event_id"], "  Our Paris  weekend ")
    # move one evening photo into the morning: the two 2 March events become one
    evening = before.filter(pl.col("title") == "Seattle, 2 March 2019").sort("start")
    moved = int(lib.event_photos(evening["event_id"][1])["photo_id"][0])
    lib.set_date(moved, "2019-03-02T12:00:00")
    after = lib.events()
    assert after.height == before.height  # 2 March evening keeps one photo... or merges
    unchanged = set(before["event_id"]) & set(after["event_id"])
    assert len(unchanged) >= before.height - 1
    titled = after.filter(pl.col("event_id") == paris["event_id"]).row(0, named=True)
    assert titled["title"] == "Our Paris weekend" and titled["title_by"] == "user"
    mine = lib.decisions("event_title")
    assert mine.height == 1 and json.loads(mine["value"][0])["event_id"] == paris["event_id"]
    lib.undo(int(mine["decision_id"][0]))
    assert lib.events().filter(pl.col("event_id") == paris["event_id"])["title"][0] == \
        "Paris, 1-3 June 2020"
    with pytest.raises(EventNotFoundError):
        lib.event_photos(10**9)
    with pytest.raises(PhotolabError, match="empty"):
        lib.set_event_title(paris["event_id"], "   ")


def test_home_and_gap_settings(own_lib: Library) -> None:
    lib = own_lib
    lib.settings.home = "Italy"  # now Seattle is away: Italy is no trip
    ev = lib.events().sort("start")
    italy = ev.filter(pl.col("title").str.contains("Rome"))
    assert not italy["trip"].any()
    lib.settings.home = ""
    lib.settings.event_gap_hours = 48  # the two days of July join; so do 2 March's
    titles = lib.events()["title"].to_list()
    assert "Seattle, 4-5 July 2020" in titles
    assert titles.count("Seattle, 2 March 2019") == 1


def test_group_events_pure() -> None:
    """A frame in, a frame out: the undated are left out, a jump in place splits."""
    f = pl.DataFrame({
        "photo_id": [1, 2, 3, 4],
        "taken_at": [datetime(2020, 1, 1, 10), datetime(2020, 1, 1, 11),
                     datetime(2020, 1, 1, 12), None],
        "lat": [47.6, 47.6, 45.5, None], "lon": [-122.3, -122.3, -122.7, None]})
    g = group_events(f)
    assert g["photo_id"].to_list() == [1, 2, 3]
    assert g["event"].to_list() == [0, 0, 1]  # Seattle to Portland in an hour


def test_on_this_day(own_lib: Library) -> None:
    lib = own_lib
    day = lib.on_this_day("2021-05-14")
    assert day["year"].unique().to_list() == [2019]
    assert day.height == 2 and day["years_ago"].to_list() == [2, 2]
    wide = lib.on_this_day("2021-05-14", window_days=1)
    assert wide.height == 2 + 3 + 3
    fav = int(wide.filter(pl.col("rank") == 8)["photo_id"][0])
    lib.favorite([fav])
    assert lib.on_this_day("2021-05-14", window_days=1)["photo_id"][0] == fav
    # New Year: the window crosses into the year before
    ny = lib.on_this_day("2021-01-01", window_days=1)
    assert set(ny["taken_at"].dt.date().cast(str)) == {"2019-12-31", "2020-01-01"}
    assert ny["year"].to_list() == sorted(ny["year"].to_list(), reverse=True)
    assert lib.on_this_day("2021-08-30").height == 0
    with pytest.raises(PhotolabError, match="YYYY-MM-DD"):
        lib.on_this_day("tomorrow")


def test_albums_are_decisions(own_lib: Library) -> None:
    lib = own_lib
    ids = lib.photos().sort("photo_id")["photo_id"].to_list()
    a = lib.create_album("Best of 2020", ids[:3], who="alice")
    with pytest.raises(PhotolabError, match="already"):
        lib.create_album(" best of  2020")
    with pytest.raises(PhotolabError, match="empty"):
        lib.create_album("  ")
    with pytest.raises(PhotolabError, match="no photos"):
        lib.create_album("Ghosts", [10**9])
    d_add = lib.add_to_album("Best of 2020", ids[3:5], who="bob")
    lib.remove_from_album(a, [ids[0]])
    assert lib.album_photos(a)["photo_id"].sort().to_list() == ids[1:5]
    row = lib.album(a)
    assert (row["n_photos"], row["source"], row["created_by"]) == (4, "photolab", "alice")
    assert row["cover_photo_id"] in ids[1:5]
    lib.undo(d_add)  # bob's two photos leave again
    assert lib.album_photos(a)["photo_id"].sort().to_list() == ids[1:3]
    lib.rename_album(a, "2020")
    assert lib.album("2020")["album_id"] == a
    with pytest.raises(AlbumNotFoundError):
        lib.album("Best of 2020")
    photos = lib.photos()
    assert photos.filter(pl.col("photo_id") == ids[1])["albums"][0].to_list() == ["2020"]
    d_del = lib.delete_album(a)
    with pytest.raises(AlbumNotFoundError):
        lib.album_photos(a)
    lib.undo(d_del)
    assert lib.album(a)["n_photos"] == 2
    who = lib.decisions("album")["who"].to_list()
    assert who[:2] == ["alice", "bob"]


def test_keep_event_as_album_and_folder_albums(own_lib: Library) -> None:
    lib = own_lib
    paris = lib.events().filter(pl.col("title") == "Paris, 1-3 June 2020").row(0, named=True)
    a = lib.keep_event(paris["event_id"])
    assert lib.album(a)["name"] == "Paris, 1-3 June 2020"
    assert lib.album(a)["n_photos"] == paris["n_photos"] == 6
    with pytest.raises(PhotolabError, match="already"):
        lib.keep_event(paris["event_id"])
    assert lib.albums().filter(pl.col("source") == "folder").height == 0
    lib.settings.folder_albums = True
    folders = lib.albums().filter(pl.col("source") == "folder")
    assert set(folders["name"]) >= {"paris", "italy", "new_year", "fourth_of_july"}
    assert folders.filter(pl.col("name") == "italy")["n_photos"][0] == 21
    assert (folders["album_id"] < 0).all()
    with pytest.raises(PhotolabError, match="read from folder"):
        lib.add_to_album("italy", [paris["cover_photo_id"]])
    got = lib.photos().filter(pl.col("photo_id") == paris["cover_photo_id"])["albums"][0].to_list()
    assert got == ["Paris, 1-3 June 2020", "paris"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_writes_dates_and_places_into_copies(own_lib: Library, tmp_path: Path) -> None:
    lib = own_lib
    italy = lib.events().filter(pl.col("title").str.starts_with("Rome")).row(0, named=True)
    originals = {p: _sha(Path(p)) for p in lib.event_photos(italy["event_id"])["path"]}
    dest = tmp_path / "share"
    done = lib.export(dest, event=italy["event_id"])
    assert (done["status"] == "exported").all() and done.height == 21
    names = sorted(p.name for p in dest.iterdir())
    assert names[0] == "2019-05-12_07-00-00.jpg" and names[-1] == "2019-05-18_19-00-00.jpg"
    read = json.loads(subprocess.run(
        ["exiftool", "-j", "-n", "-DateTimeOriginal", "-GPSLatitude", "-GPSLongitude",
         "-XMP-photoshop:City", "-XMP-photoshop:Country", str(dest / "2019-05-13_09-00-00.jpg")],
        capture_output=True, text=True, check=True).stdout)[0]
    assert read["DateTimeOriginal"] == "2019:05:13 09:00:00"
    assert abs(read["GPSLatitude"] - 41.9028) < 1e-4 and abs(read["GPSLongitude"] - 12.4964) < 1e-4
    assert read["City"] == "Rome" and read["Country"] == "Italy"
    assert {p: _sha(Path(p)) for p in originals} == originals  # the originals untouched
    assert not list(tmp_path.glob(".share.partial-*"))
    # a folder that is not empty is refused, and nothing in it changes
    before = sorted(dest.iterdir())
    with pytest.raises(PhotolabError, match="not an empty folder"):
        lib.export(dest, event=italy["event_id"])
    assert sorted(dest.iterdir()) == before
    big = lib.export(tmp_path / "big", album=lib.keep_event(italy["event_id"]), size="big")
    assert big.height == 21
    import pyvips

    sizes = [max(pyvips.Image.new_from_file(f).width, pyvips.Image.new_from_file(f).height)
             for f in big["file"]]
    assert max(sizes) <= 1080
    with pytest.raises(PhotolabError, match="one of"):
        lib.export(tmp_path / "x", album="2020", event=1)
    with pytest.raises(PhotolabError, match="nobody"):
        lib.export(tmp_path / "x", person="Nobody At All")
    assert not (tmp_path / "x").exists()


def test_export_refuses_an_unwritable_folder(own_lib: Library, tmp_path: Path) -> None:
    ids = own_lib.photos()["photo_id"].head(2).to_list()
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    # root may write into any folder: /proc takes no folder from anyone
    target = locked / "out" if os.geteuid() != 0 else Path("/proc/photolab-export")
    try:
        with pytest.raises(PhotolabError, match="cannot"):
            own_lib.export(target, photo_ids=ids)
    finally:
        locked.chmod(0o700)
    assert not target.exists()
    with pytest.raises(PhotolabError, match="not a folder"):
        own_lib.export(tmp_path / "no" / "such" / "out", photo_ids=ids)


def test_export_of_a_broken_file_is_an_error_for_it_alone(own_lib: Library,
                                                          tmp_path: Path) -> None:
    lib = own_lib
    photos = lib.photos().sort("photo_id")
    ids = photos["photo_id"].head(3).to_list()
    victim = Path(photos["path"][1])
    saved = victim.read_bytes()
    victim.write_bytes(saved[:200])  # truncated after the ingest
    try:
        done = lib.export(tmp_path / "out", photo_ids=ids, size="big")
    finally:
        victim.write_bytes(saved)
    by_id = dict(zip(done["photo_id"], done["status"], strict=True))
    assert by_id[ids[1]] == "failed" and by_id[ids[0]] == by_id[ids[2]] == "exported"
    assert len(list((tmp_path / "out").iterdir())) == 2


def test_titles_by_a_local_model(own_lib: Library, tmp_path: Path) -> None:
    from .tiny_vlm import save_text_model

    lib = own_lib
    with pytest.raises(PhotolabError, match="title_model"):
        lib.suggest_event_titles()
    lib.settings.title_model = str(tmp_path / "missing.gguf")
    with pytest.raises(ModelNotFoundError, match="hf download"):
        lib.suggest_event_titles()
    lib.settings.title_model = str(save_text_model(tmp_path / "tiny.gguf"))
    ids = lib.events()["event_id"].head(2).to_list()
    got = lib.suggest_event_titles(ids)
    assert got["event_id"].to_list() == ids
    assert got["suggestion"].str.len_chars().min() > 0
    assert got["suggestion"].to_list() == lib.suggest_event_titles(ids)["suggestion"].to_list()
    lib.set_event_title(ids[0], got["suggestion"][0])
    assert lib.event(ids[0])["title"] == got["suggestion"][0]


@pytest.mark.slow  # several processes: the photolab command run eight times
def test_cli_events_albums_memories_export(own_lib: Library, tmp_path: Path) -> None:
    lib = own_lib
    paris = lib.events().filter(pl.col("title") == "Paris, 1-3 June 2020")["event_id"][0]
    lib.keep_event(paris, name="Paris")
    lib.close()
    run = [*PHOTOLAB]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*run, *args, "--library", str(lib.root)], capture_output=True,
                              text=True, env=env(), timeout=120)

    out = cli("events")
    assert out.returncode == 0, out.stderr
    assert "Rome and Florence, 12-18 May 2019" in out.stdout
    assert "2 dated only by their file's time" in out.stdout
    out = cli("albums")
    assert out.returncode == 0 and "Paris" in out.stdout
    out = cli("summary")
    assert "events: 10 (2 trips), 52 photos; the largest: Rome and Florence" in out.stdout
    out = cli("memories", "--day", "2021-05-14", "--window", "1")
    assert out.returncode == 0 and "2 years ago (2019): 8 photos" in out.stdout
    out = cli("export", str(tmp_path / "paris"), "--album", "Paris")
    assert out.returncode == 0, out.stderr
    assert "6 photos exported" in out.stdout and len(list((tmp_path / "paris").iterdir())) == 6
    out = cli("export", str(tmp_path / "paris"), "--album", "Paris")
    assert out.returncode == 2 and "not an empty folder" in out.stderr
    out = cli("export", str(tmp_path / "nope"), "--album", "No Such Album")
    assert out.returncode == 2 and "no album" in out.stderr


@pytest.mark.slow
def test_07_events_notebook(events_lib: Library, tmp_path: Path) -> None:
    import papermill as pm

    from .conftest import REPO

    out = tmp_path / "07.out.ipynb"
    pm.execute_notebook(REPO / "notebooks/07_events.ipynb", out, kernel_name="python3",
                        parameters={"library": str(events_lib.root), "day": "2021-05-14"},
                        progress_bar=False)
    nb = json.loads(out.read_text())
    text = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert ("10 events of 52 photos, 2 of them trips; in no event: 2 dated only by their "
            "file's time, 0 undated") in text
    assert "2 photos from this day in 1 earlier years" in text
    plotly = "application/vnd.plotly.v1+json"
    figures = [o["data"][plotly] for c in nb["cells"] for o in c.get("outputs", [])
               if plotly in o.get("data", {})]
    assert figures[0]["data"][0]["type"] == "bar"
    tables = [o["data"]["text/html"] for c in nb["cells"] for o in c.get("outputs", [])
              if "text/html" in o.get("data", {})]
    assert "Rome and Florence, 12-18" in "".join(tables[0])  # (long strings are cut)
