"""Family members as themselves: their own tokens, their names on their decisions, viewers
refused in the library, one member's changes undone, and a removed member out at once."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from photolab import Library, PhotolabError, ReadOnlyError
from photolab.cli import EXIT_OK, EXIT_USAGE, main
from photolab.members import MemberNotFoundError, member_for_token

from .conftest import copy_files

FACES = ["faces/fr_obama/obama.jpg", "faces/fr_obama/obama2.jpg", "faces/fr_obama/obama3.jpg",
         "faces/fr_biden/biden.jpg", "faces/fr_biden/biden2.jpg"]


@pytest.fixture(scope="module")
def faces_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("members")
    copy_files(tmp / "p", FACES)
    with Library(tmp / "lib") as lib:
        lib.ingest([tmp / "p"], show_progress=False, skip=["semantic", "tags", "captions"])
    return tmp / "lib"


@pytest.fixture
def libdir(faces_dir: Path, tmp_path: Path) -> Path:
    import shutil

    shutil.copytree(faces_dir, tmp_path / "lib")
    return tmp_path / "lib"


def test_members_are_kept_hashed_in_the_library(libdir: Path) -> None:
    with Library(libdir) as owner:
        alice = owner.add_member("Alice", "editor")
        bob = owner.add_member("  Bob ")
        with pytest.raises(PhotolabError, match="already"):
            owner.add_member("Alice")
        with pytest.raises(PhotolabError, match="empty"):
            owner.add_member("  ")
        with pytest.raises(PhotolabError, match="role"):
            owner.add_member("Carol", "admin")
        m = owner.members()
        assert m.select("name", "role").rows() == [("Alice", "editor"), ("Bob", "viewer")]
        assert "secret" not in " ".join(m.columns)
        assert member_for_token(owner.catalog, alice)["name"] == "Alice"
        assert member_for_token(owner.catalog, bob)["role"] == "viewer"
        for wrong in (alice[:-1] + ("x" if alice[-1] != "x" else "y"), "", "1.short",
                      bob.split(".")[1], "../../etc/passwd"):
            assert member_for_token(owner.catalog, wrong) is None
        stored = owner.catalog.frame("SELECT * FROM members")
        assert alice.split(".")[1] not in json.dumps(stored.rows())  # only the hash is kept
        owner.set_member_role("Bob", "editor")
        assert member_for_token(owner.catalog, bob)["role"] == "editor"
        owner.remove_member("Bob")
        assert member_for_token(owner.catalog, bob) is None
        with pytest.raises(MemberNotFoundError):
            owner.remove_member("Bob")
        assert owner.add_member("Bob") != bob  # the name is free again, with a new link


def test_a_member_decides_as_themself_and_a_viewer_is_refused(libdir: Path) -> None:
    with Library(libdir) as owner:
        owner.add_member("Alice", "editor")
        owner.add_member("Bob", "viewer")
    faces = Library(libdir).faces(encodings=False)["face_id"].to_list()
    with Library(libdir, member="Alice") as alice, Library(libdir, member="Bob") as bob:
        alice.name_faces(faces[:2], "Barack")
        with pytest.raises(ReadOnlyError, match="Bob may look"):
            bob.name_faces(faces[2:3], "Joe")
        with pytest.raises(ReadOnlyError, match="owner"):
            alice.add_member("Mallory", "editor")
        assert alice.decisions("face_person")["who"].to_list() == ["Alice"]
        with Library(libdir) as owner:  # the owner makes Alice a viewer: at once
            owner.set_member_role("Alice", "viewer")
        with pytest.raises(ReadOnlyError, match="Alice may look"):
            alice.create_album("Mine")
        with Library(libdir) as owner:
            owner.set_member_role("Alice", "editor")
            owner.remove_member("Alice")
        with pytest.raises(ReadOnlyError, match="no longer a member"):
            alice.tag(faces[:1], "x")
    assert Library(libdir).decisions(who="Bob").height == 0


def test_undo_member_takes_back_one_members_changes(libdir: Path) -> None:
    with Library(libdir) as owner:
        owner.add_member("Alice", "editor")
        owner.add_member("Bob", "editor")
    with Library(libdir, member="Alice") as alice, Library(libdir, member="Bob") as bob:
        f = alice.faces(encodings=False).sort("face_id")["face_id"].to_list()
        photo = int(alice.photos()["photo_id"][0])
        bob.name_faces(f[:1], "Barack")                       # Bob first
        start = alice.decisions()["at"].max()
        barack = alice.name_faces(f[1:3], "Barack")           # Alice names more faces as him
        bob.name_faces(f[3:4], "Joe")                         # interleaved
        alice.move_faces(f[:1], "Obama Sr")                   # Alice moves Bob's face
        alice.rate([photo], 5)
        bob.tag([photo], "family")
        undone = bob.undo_member("Alice", since=start)
        # her naming; the move (a new person, its faces, the face out of Bob's); the rating
        assert len(undone) == 5 and bob.decisions("undo")["who"].unique().to_list() == ["Bob"]
        named = bob.faces(encodings=False).filter(pl.col("assigned_by") == "user")
        by_face = dict(zip(named["face_id"], named["person_name"], strict=True))
        assert by_face == {f[0]: "Barack", f[3]: "Joe"}       # Bob's, as he left them
        row = bob.photos().filter(pl.col("photo_id") == photo).row(0, named=True)
        assert row["rating"] != 5 and "family" in row["keywords"]
        assert bob.people().filter(pl.col("person_id") == barack)["n_faces"][0] == 1
        assert alice.undo_member("Nobody") == []
        got = bob.named_by().filter(pl.col("person_id") == barack)
        assert got["who"].to_list() == ["Bob"]


def test_members_cli(libdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lib = ["--library", str(libdir)]
    assert main(["members", "add", "Alice", "--editor", *lib,
                 "--url", "http://photos.local:8866/"]) == EXIT_OK
    out = capsys.readouterr().out
    link = out.split(": ", 1)[1].split()[0]
    assert link.startswith("http://photos.local:8866/voila/render/home.ipynb?token=")
    token = link.split("token=")[1]
    with Library(libdir) as owner:
        assert member_for_token(owner.catalog, token)["name"] == "Alice"
    assert main(["members", "add", "Grandpa", *lib]) == EXIT_OK
    assert main(["members", "list", *lib]) == EXIT_OK
    out = capsys.readouterr().out
    assert "Alice" in out and "Grandpa" in out and "viewer" in out and token not in out
    assert main(["members", "set-role", "Grandpa", "editor", *lib]) == EXIT_OK
    assert main(["members", "remove", "Alice", *lib]) == EXIT_OK
    assert main(["members", "remove", "Alice", *lib]) == EXIT_USAGE
    assert "no member called 'Alice'" in capsys.readouterr().err
    with Library(libdir) as owner:
        assert member_for_token(owner.catalog, token) is None
        assert owner.members()["role"].to_list() == ["editor"]


def test_widgets_say_who_named_a_person(libdir: Path) -> None:
    from photolab.widgets import ClusterReview

    with Library(libdir) as owner:
        owner.add_member("Alice", "editor")
    with Library(libdir, member="Alice") as alice:
        review = ClusterReview(alice)
        alice.name_faces(review.current()["face_id"].to_list(), "Barack")
        review.refresh()
        review.show(0)
        assert "Barack (named by Alice, " in review.position.value


def test_a_server_started_without_members_lets_none_in(libdir: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`photolab serve` for a library with no members runs its first pages ahead as the
    owner's; a member added meanwhile must not get the owner's page: their link works once
    the server is started again."""
    from photolab.server import members as served
    from photolab.server.voila import PREHEAT_CONFIG, voila_config_dir

    with Library(libdir) as owner:
        token = owner.add_member("Alice", "viewer")
    monkeypatch.setenv("PHOTOLAB_LIBRARY", str(libdir))
    monkeypatch.setattr(served, "_CATALOG", None)  # this library's, for this test only
    monkeypatch.delenv(served.NO_MEMBERS_ENV, raising=False)
    assert served._member_for(token)["name"] == "Alice"
    monkeypatch.setenv(served.NO_MEMBERS_ENV, "1")
    assert served._member_for(token) is None and not served.members_served()
    assert (voila_config_dir(preheat=True) / "voila.py").read_text() == PREHEAT_CONFIG
    assert "prelaunch_hook" in (voila_config_dir() / "voila.py").read_text()
