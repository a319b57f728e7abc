"""Guests change nothing: every public `Library` verb on a read-only library leaves the
library folder and the photo folders byte for byte as they were; resolving duplicates records
its decision before any file moves."""

from __future__ import annotations

import hashlib
import inspect
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from photolab import Library
from photolab.access import is_writing
from photolab.errors import PhotolabError, ReadOnlyError

from .conftest import copy_files, env

FILES = ["dupes/fr_obama-1080p.jpg", "dupes/fr_obama-720p.jpg", "dupes/fr_obama-480p.jpg",
         "faces/fr_obama/obama2.jpg", "motion/PXL_20200710_061629144.MP.jpg",
         "exif/ianare_gps_DSCN0010.jpg"]


def snapshot(*roots: Path) -> dict[str, tuple[int, int, str]]:
    """Every file and folder under `roots`: size, mtime and content hash."""
    out: dict[str, tuple[int, int, str]] = {}
    for root in roots:
        for dirpath, dirs, files in os.walk(root):
            for name in dirs:
                out[os.path.join(dirpath, name)] = (0, 0, "dir")
            for name in files:
                p = os.path.join(dirpath, name)
                st = os.stat(p)
                digest = hashlib.sha256(Path(p).read_bytes()).hexdigest()
                out[p] = (st.st_size, st.st_mtime_ns, digest)
    return out


@pytest.fixture(scope="module")
def owned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, int]]:
    """A library with duplicates, faces, a named person, a motion photo and decisions of
    every kind, closed (so its WAL is folded in); and the ids the verbs are called with."""
    tmp = tmp_path_factory.mktemp("guests")
    src = tmp / "photos"
    copy_files(src, FILES)
    with Library(tmp / "lib") as lib:
        lib.ingest([src], show_progress=False)
        photos = lib.photos()
        motion = int(photos.filter(pl.col("has_motion_video"))["photo_id"][0])
        face = int(lib.faces()["face_id"][0])
        person = lib.name_faces([face], "Barack")
        other = lib.name_faces([int(lib.faces()["face_id"][1])], "Someone")
        dupes = lib.duplicates()
        decision = lib.keep(int(dupes["photo_id"][0]))
        lib.tag([motion], "holiday")
        album = lib.create_album("Holiday", [motion])
        lib.add_member("Grandma")
        share = lib.share_album(album)
        events = lib.events()
        ids = {"album": album,
               "event": int(events["event_id"][0]) if events.height else 1,
               "photo": int(dupes["photo_id"][0]), "motion": motion, "face": face,
               "person": person, "other": other, "decision": decision,
               "cluster": int(lib.faces()["cluster_id"].drop_nulls()[0]),
               "share": int(share.split(".")[0].removeprefix("share-"))}
    return tmp / "lib", src, ids


#: every public Library method, called the way a guest's dashboard (or a script) could
VERBS: dict[str, Callable[[Library, dict[str, int]], Any]] = {
    "add_member": lambda lib, i: lib.add_member("Guest", "editor"),
    "add_to_album": lambda lib, i: lib.add_to_album(i["album"], [i["photo"]]),
    "album": lambda lib, i: lib.album(i["album"]),
    "album_members": lambda lib, i: lib.album_members(),
    "album_photos": lambda lib, i: lib.album_photos(i["album"]),
    "albums": lambda lib, i: lib.albums(),
    "best_photos": lambda lib, i: lib.best_photos(),
    "create_album": lambda lib, i: lib.create_album("Guest album", [i["photo"]]),
    "delete_album": lambda lib, i: lib.delete_album(i["album"]),
    "event": lambda lib, i: lib.event(i["event"]),
    "event_photos": lambda lib, i: lib.event_photos(i["event"]),
    "events": lambda lib, i: lib.events(),
    "events_left_out": lambda lib, i: lib.events_left_out(),
    "export": lambda lib, i: lib.export(Path(lib.root).parent / "guest-export",
                                        album=i["album"]),
    "members": lambda lib, i: lib.members(),
    "share_album": lambda lib, i: lib.share_album(i["album"], expires="7d"),
    "shares": lambda lib, i: lib.shares(),
    "revoke_share": lambda lib, i: lib.revoke_share(i["share"]),
    "photo_details": lambda lib, i: lib.photo_details(i["photo"]),
    "previews": lambda lib, i: lib.previews([i["motion"]]),
    "tiles": lambda lib, i: lib.tiles([i["photo"], i["motion"]]),
    "timeline_months": lambda lib, i: lib.timeline_months(),
    "named_by": lambda lib, i: lib.named_by(),
    "remove_member": lambda lib, i: lib.remove_member("Grandma"),
    "set_member_role": lambda lib, i: lib.set_member_role("Grandma", "editor"),
    "undo_member": lambda lib, i: lib.undo_member("Grandma"),
    "keep_event": lambda lib, i: lib.keep_event(i["event"], "Guest event"),
    "on_this_day": lambda lib, i: lib.on_this_day("2020-07-10", window_days=3),
    "remove_from_album": lambda lib, i: lib.remove_from_album(i["album"], [i["motion"]]),
    "rename_album": lambda lib, i: lib.rename_album(i["album"], "Guest"),
    "set_event_title": lambda lib, i: lib.set_event_title(i["event"], "Guest"),
    "suggest_event_titles": lambda lib, i: lib.suggest_event_titles(),
    "title_model": lambda lib, i: lib.title_model(),
    "accept_suggestions": lambda lib, i: lib.accept_suggestions(),
    "caption_params": lambda lib, i: lib.caption_params(),
    "captioner": lambda lib, i: lib.captioner(),
    "captions": lambda lib, i: lib.captions(),
    "clip_fingerprint": lambda lib, i: lib.clip_fingerprint(),
    "clip_model": lambda lib, i: lib.clip_model(),
    "clip_params": lambda lib, i: lib.clip_params(),
    "close": lambda lib, i: None,  # called at the end, by the fixture's `with`
    "cluster_faces": lambda lib, i: lib.cluster_faces(),
    "clusterer": lambda lib, i: lib.clusterer(),
    "curation": lambda lib, i: lib.photos(),  # photos() applies it to the raw rows
    "decisions": lambda lib, i: lib.decisions(),
    "duplicate_candidates": lambda lib, i: lib.duplicate_candidates(),
    "duplicates": lambda lib, i: lib.duplicates(),
    "embedding_pairs": lambda lib, i: lib.embedding_pairs(),
    "embeddings": lambda lib, i: lib.embeddings(),
    "face_crop": lambda lib, i: lib.face_crop(i["face"]),
    "face_params": lambda lib, i: lib.face_params(),
    "faces": lambda lib, i: lib.faces(),
    "favorite": lambda lib, i: lib.favorite([i["photo"]]),
    "filter_photos": lambda lib, i: lib.filter_photos(after="2000-01-01"),
    "ingest": lambda lib, i: lib.ingest(show_progress=False),
    "jobs": lambda lib, i: lib.jobs(),
    "keep": lambda lib, i: lib.keep(i["photo"]),
    "labels": lambda lib, i: lib.labels(),
    "merge_people": lambda lib, i: lib.merge_people(i["other"], i["person"]),
    "motion_video": lambda lib, i: lib.motion_video(i["motion"]),
    "move_faces": lambda lib, i: lib.move_faces([i["face"]], "Guest"),
    "name_cluster": lambda lib, i: lib.name_cluster(i["cluster"], "Guest"),
    "name_faces": lambda lib, i: lib.name_faces([i["face"]], "Guest"),
    "add_face": lambda lib, i: lib.add_face(i["photo"], (0, 10, 10, 0), "Guest"),
    "add_files": lambda lib, i: lib.add_files([lib.photos()["path"][0]]),
    "not_duplicate": lambda lib, i: lib.not_duplicate(i["photo"]),
    "people": lambda lib, i: lib.people(),
    "photos": lambda lib, i: lib.photos(include_missing=True),
    "place_hierarchy": lambda lib, i: lib.place_hierarchy(),
    "place_covers": lambda lib, i: lib.place_covers(),
    "place_photos": lambda lib, i: lib.place_photos("Italy"),
    "places": lambda lib, i: lib.places(),
    "rate": lambda lib, i: lib.rate([i["photo"]], 5),
    "recent": lambda lib, i: lib.recent(),
    "count_recent": lambda lib, i: lib.count_recent(),
    "named_in_photos": lambda lib, i: lib.named_in_photos(),
    "nearest_people": lambda lib, i: lib.nearest_people(),
    "face_encodings": lambda lib, i: pl.DataFrame({"face_id": lib.face_encodings()[0]}),
    "place_names": lambda lib, i: lib.place_names(),
    "scene_tag_names": lambda lib, i: lib.scene_tag_names(),
    "reject_faces": lambda lib, i: lib.reject_faces([i["face"]]),
    "remove_faces": lambda lib, i: lib.remove_faces([i["face"]]),
    "rename_person": lambda lib, i: lib.rename_person(i["person"], "Guest"),
    "resolve_duplicates": lambda lib, i: lib.resolve_duplicates(i["photo"]),
    "run_stage": lambda lib, i: lib.run_stage("thumbnails", [i["photo"]], False),
    "scene_tags": lambda lib, i: lib.scene_tags(),
    "search": lambda lib, i: lib.search("a man"),
    "search_captions": lambda lib, i: lib.search_captions("man"),
    "search_words": lambda lib, i: lib.search_words("holiday"),
    "word_texts": lambda lib, i: lib.word_texts(),
    "find": lambda lib, i: lib.find("a man"),
    "has_vectors": lambda lib, i: lib.has_vectors(),
    "set_date": lambda lib, i: lib.set_date(i["photo"], "2001-02-03T04:05:06"),
    "unpair": lambda lib, i: lib.unpair(i["photo"]),
    "set_description": lambda lib, i: lib.set_description([i["photo"]], "x"),
    "set_place": lambda lib, i: lib.set_place([i["photo"]], city="Paris"),
    "set_title": lambda lib, i: lib.set_title([i["photo"]], "x"),
    "similar": lambda lib, i: lib.similar(i["photo"]),
    "split_faces": lambda lib, i: lib.split_faces([i["face"]]),
    "stage": lambda lib, i: lib.stage("dates"),
    "stages": lambda lib, i: lib.stages(),
    "tag": lambda lib, i: lib.tag([i["photo"]], "guest"),
    "tags": lambda lib, i: lib.tags(),
    "tags_version": lambda lib, i: lib.tags_version(),
    "thumbnail": lambda lib, i: lib.thumbnail(i["photo"], "big"),
    "undo": lambda lib, i: lib.undo(i["decision"]),
    "untag": lambda lib, i: lib.untag([i["motion"]], "holiday"),
    "user_dates": lambda lib, i: lib.user_dates(),
    "vector_index": lambda lib, i: lib.vector_index(),
    "write_back": lambda lib, i: lib.write_back(),
}


def public_methods() -> set[str]:
    return {n for n, m in inspect.getmembers(Library, callable)
            if not n.startswith("_") and not isinstance(m, type)}


def test_every_public_verb_is_in_the_table() -> None:
    """A new verb must be added to `VERBS` (and so be tried read-only below)."""
    missing = public_methods() - set(VERBS)
    assert not missing, f"add these Library methods to VERBS: {sorted(missing)}"
    assert not set(VERBS) - public_methods()


def test_read_only_library_changes_nothing(owned) -> None:
    libdir, src, ids = owned
    before = snapshot(libdir, src)
    assert not any(p.endswith(("-wal", "-shm")) for p in before)
    refused, ran = [], []
    with Library(libdir, read_only=True) as lib:
        for name in sorted(VERBS):
            try:
                VERBS[name](lib, ids)
            except ReadOnlyError as e:
                assert is_writing(getattr(Library, name)), f"{name} refused but reads: {e}"
                assert str(libdir) not in str(e)  # no server path in what a guest sees
                refused.append(name)
            except PhotolabError:  # a missing model, say: not a write, still no change
                assert not is_writing(getattr(Library, name)), name
                ran.append(name)
            else:
                assert not is_writing(getattr(Library, name)), f"{name} ran read-only"
                ran.append(name)
            after = snapshot(libdir, src)
            assert after == before, f"{name} changed {set(after.items()) ^ set(before.items())}"
    assert {"ingest", "resolve_duplicates", "name_faces", "undo", "write_back", "set_date",
            "cluster_faces", "tag", "create_album", "add_to_album", "delete_album", "export",
            "keep_event", "set_event_title", "add_member", "remove_member",
            "undo_member", "share_album", "revoke_share"} <= set(refused)
    assert {"photos", "faces", "duplicates", "thumbnail", "motion_video", "events", "albums",
            "album_photos", "on_this_day"} <= set(ran)
    assert not (libdir.parent / "guest-export").exists()
    assert snapshot(libdir, src) == before


def test_read_only_reader_sees_a_writer_and_creates_nothing(owned, tmp_path: Path) -> None:
    """A guest's server reads the catalog while the owner writes: the guest sees the new
    decision, and makes no -wal/-shm files of its own (the writer's go with its close)."""
    import shutil

    libdir = tmp_path / "lib"
    shutil.copytree(owned[0], libdir)
    guest = Library(libdir, read_only=True)
    n = guest.decisions().height
    assert not (libdir / "catalog.sqlite-wal").exists()
    with Library(libdir) as owner:
        owner.tag([owned[2]["photo"]], "new")
        assert guest.decisions().height == n + 1  # seen through the writer's WAL
    assert guest.decisions().height == n + 1
    guest.close()
    Library(libdir).close()  # the writer's files: its next close folds them in
    assert not (libdir / "catalog.sqlite-wal").exists()
    assert not (libdir / "catalog.sqlite-shm").exists()


def _ids(libdir: Path) -> tuple[int, list[Path]]:
    with Library(libdir) as lib:
        groups = lib.duplicates()
        gid = groups.group_by("group_id").len().sort("len")["group_id"][-1]
        group = groups.filter(pl.col("group_id") == gid)
        return int(group["photo_id"][0]), [Path(p) for p in group["path"]]


@pytest.mark.slow
def test_resolve_killed_between_files_leaves_every_move_recorded(tmp_path: Path) -> None:
    src = tmp_path / "photos"
    copy_files(src, FILES[:3])
    with Library(tmp_path / "lib") as lib:
        lib.ingest([src], show_progress=False, skip=["faces", "people"])
    pid, paths = _ids(tmp_path / "lib")
    assert len(paths) == 3
    before = snapshot(src)
    # the resolve dies (SIGKILL-like, no clean-up) right after its first file moved
    code = f"""
import os, shutil
real = shutil.move
def move(a, b):
    real(a, b)
    os._exit(9)
shutil.move = move
from photolab import Library
Library({str(tmp_path / 'lib')!r}).resolve_duplicates({pid})
"""
    done = subprocess.run([sys.executable, "-c", code], env=env(), timeout=120)
    assert done.returncode == 9
    assert sum(p.exists() for p in paths) == 2  # one file left its folder ...
    with Library(tmp_path / "lib") as lib:
        resolves = lib.decisions("resolve")
        assert resolves.height == 1  # ... and the decision that moved it is there
        lib.undo(int(resolves["decision_id"][0]))
        assert lib.photos().height == 3
    assert snapshot(src) == before


def test_resolve_that_fails_midway_puts_everything_back(tmp_path: Path) -> None:
    src = tmp_path / "photos"
    copy_files(src, FILES[:3])
    with Library(tmp_path / "lib") as lib:
        lib.ingest([src], show_progress=False, skip=["faces", "people"])
        pid, _ = _ids(tmp_path / "lib")
        groups = lib.duplicates()
        others = groups.filter(~pl.col("is_keeper"))["photo_id"].to_list()
        (lib.root / "trash").mkdir()
        (lib.root / "trash" / str(others[-1])).write_text("in the way")  # mkdir fails there
        before = snapshot(src)
        with pytest.raises(PhotolabError, match="nothing was changed"):
            lib.resolve_duplicates(pid)
        assert snapshot(src) == before
        assert lib.photos()["status"].to_list() == ["present"] * 3
        kinds = lib.decisions()["kind"].to_list()
        assert kinds == ["resolve", "undo"]  # the attempt and its taking back, both recorded


def _tree(widget: Any) -> Iterator[Any]:
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _tree(child)


def test_guest_widgets_hide_changes_and_ignore_disabled_clicks(owned) -> None:
    import ipywidgets as w

    from photolab.widgets import ClusterReview, DuplicateReview, PersonLabeller
    from photolab.widgets._controls import Button

    libdir, _, _ = owned
    with Library(libdir, read_only=True) as lib:
        for view in (DuplicateReview(lib), ClusterReview(lib), PersonLabeller(lib)):
            buttons = [x for x in _tree(view) if isinstance(x, w.Button)]
            assert buttons and all(isinstance(b, Button) for b in buttons)
            hidden = [b for b in buttons if b.layout.display == "none"]
            assert hidden and all(b.disabled for b in hidden)
            html = " ".join(x.value for x in _tree(view) if isinstance(x, w.HTML))
            assert "View only" in html and str(libdir.parent) not in html
            # a click sent over the websocket to a disabled button runs nothing
            clicked: list[int] = []
            hidden[0].on_click(lambda _, hits=clicked: hits.append(1))
            hidden[0]._handle_button_msg(None, {"event": "click"}, [])
            assert clicked == []
