"""The served app's upload handler (`photolab.server.uploads`): a member's file streamed to
disk, stored once, ingested in the background; viewers, bad names and cut-off uploads keep
nothing. One server for the module (the cases share it: none restarts it)."""

from __future__ import annotations

import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from photolab import Library
from photolab.errors import PhotolabError

from .conftest import PHOTOLAB, corpus_file, env
from .serving import Server, serve, shot, wait_until
from .test_faces_by_hand import PIERRE, stripped_portrait

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path, dict]]:
    root = tmp_path_factory.mktemp("upload") / "lib"
    with Library(root) as lib:
        tokens = {"ada": lib.add_member("Ada", "editor"), "bo": lib.add_member("Bo", "viewer")}
        lib.settings.clip_cache_dir = str(root.parent / "empty-cache")
        lib.settings.save(root)
        stripped_portrait(root.parent / "p")  # a face the detector misses, for the viewer
        lib.ingest([root.parent / "p"], show_progress=False, skip=["semantic", "tags",
                                                                   "captions"])
    with serve(root, root.parent / "serve.log") as server:
        yield server, root, tokens


def put(server: Server, name: str, body: bytes, token: str) -> tuple[int, str]:
    req = urllib.request.Request(
        f"{server.base}/photolab/upload?name={urllib.request.quote(name)}", data=body,
        method="PUT", headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "uploads").rglob("*") if p.is_file() and p.name != ".lock")


def test_an_editor_uploads_a_photo_it_is_stored_once_and_ingested(served) -> None:
    server, root, tokens = served
    body = corpus_file("exif/ianare_Canon_40D.jpg").read_bytes()
    status, text = put(server, "IMG_0001.jpg", body, tokens["ada"])
    assert status == 200 and '"status": "added"' in text, text
    assert [f.relative_to(root / "uploads").as_posix() for f in files(root)] \
        == ["Ada/2008/05/IMG_0001.jpg"]
    with Library(root, read_only=True) as lib:
        assert lib.decisions("upload")["who"].to_list() == ["Ada"]

    def ingested() -> bool:
        with Library(root, read_only=True) as lib:
            p = lib.photos()
            p = p.filter(pl.col("path").str.contains("uploads"))
            if p.height != 1 or p["mime"][0] != "image/jpeg":
                return False
            try:
                return lib.thumbnail(int(p["photo_id"][0]), "small").exists()
            except PhotolabError:  # not yet made
                return False
    wait_until(ingested, "the upload ingested in the background", 180)
    status, text = put(server, "again.jpg", body, tokens["ada"])  # the same content
    assert status == 200 and '"status": "already"' in text
    status, _ = put(server, "owner.jpg", corpus_file("exif/ianare_gps_DSCN0010.jpg")
                    .read_bytes(), server.token)  # the owner adds too
    assert status == 200 and len(files(root)) == 2


def test_viewers_bad_names_and_cut_off_uploads_keep_nothing(served) -> None:
    server, root, tokens = served
    before = files(root)
    body = corpus_file("exif/ianare_Nikon_D70.jpg").read_bytes()
    assert put(server, "v.jpg", body, tokens["bo"])[0] == 403
    assert put(server, "../x.jpg", body, tokens["ada"])[0] == 400
    assert put(server, "x.jpg", body, "not-a-token")[0] == 403
    status, text = put(server, "notes.jpg", b"a shopping list", tokens["ada"])
    assert status == 200 and "not a photo or a video" in text
    # a tab closed midway: half the bytes sent, then the connection gone
    host, port = server.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as s:
        s.sendall((f"PUT /photolab/upload?name=cut.jpg HTTP/1.1\r\nHost: {host}\r\n"
                   f"Authorization: token {tokens['ada']}\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body[:len(body) // 2])
    wait_until(lambda: not list((root / "uploads" / ".partial").glob("*.part")),
               "the cut-off upload's part file removed", 30)
    assert files(root) == before
    with Library(root, read_only=True) as lib:
        assert not lib.photos().filter(pl.col("path").str.contains("cut")).height


def test_add_photos_from_a_phone_in_chromium(served, new_page, tmp_path: Path) -> None:
    """A phone-sized page: the editor picks three files (one already there, one not a
    photo); the new photo shows in the timeline without a reload; a viewer sees no control."""
    server, _, tokens = served
    picked = [corpus_file("exif/ianare_Pentax_K10D.jpg"), corpus_file("exif/ianare_Canon_40D.jpg")]
    assert put(server, "first.jpg", picked[1].read_bytes(), tokens["ada"])[0] == 200  # there
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a photo")
    phone = new_page(390, 844)
    phone.goto(server.page("home.ipynb", tokens["ada"]))
    tiles = phone.locator(".photolab-tile")
    tiles.first.wait_for(timeout=120_000)
    before = tiles.count()
    phone.locator("input.photolab-upload").set_input_files([*map(str, picked), str(notes)])
    try:
        phone.get_by_text("ianare_Pentax_K10D.jpg: added").wait_for(timeout=60_000)
    except Exception:
        phone.screenshot(path=str(shot("upload-phone-failed.png")))
        print(phone.locator(".photolab-upload-lines").inner_text())
        print(server.logged()[-3000:])
        raise
    phone.get_by_text("ianare_Canon_40D.jpg: already in the library").wait_for(timeout=60_000)
    phone.get_by_text("notes.jpg: not added: not a photo or a video").wait_for(timeout=60_000)
    wait_until(lambda: tiles.count() == before + 1, "the new photo in the timeline", 120)
    # photos first on a phone: the filters behind a touch, two rows of tiles on the first screen
    assert not phone.locator(".photolab-filters").first.is_visible()
    tops = {round(b["y"]) for b in (t.bounding_box() for t in tiles.all()) if b}
    assert len([y for y in tops if y < 844 - 40]) >= 2, tops
    phone.locator(".pv-image").wait_for(timeout=30_000)  # the photo already there is shown
    phone.locator(".pv-close").click()
    assert phone.locator(".photolab-upload-label").is_visible()  # within reach on a phone
    phone.screenshot(path=str(shot("upload-phone.png")))
    phone.get_by_role("button", name="Filters").click()
    phone.locator(".photolab-filters").first.wait_for(timeout=10_000)
    viewer = new_page(390, 844)
    viewer.goto(server.page("home.ipynb", tokens["bo"]))
    viewer.locator(".photolab-tile").first.wait_for(timeout=120_000)
    assert viewer.locator("input.photolab-upload").count() == 0


def test_a_face_drawn_in_the_viewer_is_named_kept_and_taken_out(served, new_page) -> None:
    """Pierre Curie's profile, missed by the detector, drawn over the photo with a mouse,
    named, kept through `photolab ingest` again, then taken out ("not a face")."""
    server, root, tokens = served
    with Library(root, read_only=True) as lib:
        pid = int(lib.photos().filter(pl.col("path").str.ends_with("immich_portrait.jpg"))
                  ["photo_id"][0])
    page = new_page(1280, 900)
    page.goto(server.page("photos.ipynb", tokens["ada"]))
    page.locator(f"img[alt='photo {pid}']").click(timeout=120_000)
    image = page.locator(".pv-image")
    image.wait_for(timeout=60_000)
    page.get_by_role("button", name="Faces").click()
    boxes = page.locator(".photolab-face-box")
    boxes.first.wait_for(timeout=10_000)
    assert boxes.count() == 1  # Marie; Pierre's profile missed
    page.get_by_role("button", name="Draw a face").click()
    r = image.bounding_box()
    t, right, b, left = PIERRE
    page.mouse.move(r["x"] + left / 840 * r["width"], r["y"] + t / 700 * r["height"])
    page.mouse.down()
    page.mouse.move(r["x"] + right / 840 * r["width"], r["y"] + b / 700 * r["height"], steps=8)
    page.mouse.up()
    page.get_by_placeholder("Who is this?").fill("Pierre Curie")
    page.get_by_role("button", name="Save name").click()
    page.get_by_text("face added as Pierre Curie").wait_for(timeout=60_000)
    page.locator(".photolab-face-box", has_text="Pierre Curie").wait_for(timeout=10_000)
    page.screenshot(path=str(shot("face-drawn.png")))
    with Library(root, read_only=True) as lib:
        drawn = lib.faces(encodings=False).filter(pl.col("source") == "user")
        assert drawn["person_name"].to_list() == ["Pierre Curie"]
        got = drawn.row(0, named=True)
        assert abs(got["top"] - t) < 15 and abs(got["left"] - left) < 15  # where it was drawn
        assert lib.people().filter(pl.col("name") == "Pierre Curie")["n_faces"].to_list() == [1]
    done = subprocess.run([*PHOTOLAB, "ingest", "--library", str(root), "--quiet"],
                          env=env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with Library(root, read_only=True) as lib:
        assert lib.faces(encodings=False).filter(pl.col("source") == "user").height == 1
    page.locator(".photolab-face-box", has_text="Pierre Curie").locator(
        ".pv-face-remove").click()
    page.get_by_text("not a face: taken out").wait_for(timeout=60_000)
    assert boxes.count() == 1
