"""Ingest as a user runs it: incremental, moves, deletes, bad input, kills, two writers."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import polars as pl
import pytest

from photolab import Library

from .conftest import PHOTOLAB, copy_files, corpus_file, env

SMALL = ["exif/ianare_Canon_40D.jpg", "exif/mde_Nexus_4.jpg", "heic/mde_IMG_1034.heic",
         "misc/mde_with-gps.mp4", "motion/PXL_20200710_061629144.MP.jpg"]


def stage_counts(lib: Library) -> dict[str, int]:
    return dict(lib.catalog.conn.execute(
        "SELECT stage, count(*) FROM stage_runs GROUP BY stage").fetchall())


def assert_complete(lib: Library, n: int) -> None:
    """n photos, each once, without errors, and every stage done for each."""
    photos = lib.photos()
    assert photos.height == n and photos["path"].is_unique().all()
    assert photos["error"].is_null().all()
    assert stage_counts(lib) == {s: n for s in ("metadata", "dates", "thumbnails", "hashes",
                                                "motion", "previews", "places", "faces")}


@pytest.mark.slow
def test_incremental_move_rename_delete_change(tmp_path: Path) -> None:
    src = tmp_path / "photos"
    copy_files(src, SMALL)
    with Library(tmp_path / "lib") as lib:
        r1 = lib.ingest([src], show_progress=False)
        assert r1.counts["new"] == 5 and r1.counts["thumbnails_done"] == 5
        before = lib.photos().select("photo_id", "path", "content_hash")
        runs = lib.catalog.conn.execute("SELECT photo_id, stage, ran_at FROM stage_runs").fetchall()

        r2 = lib.ingest([src], show_progress=False)  # nothing changed: nothing recomputed
        assert r2.counts["unchanged"] == 5 and r2.counts["new"] == 0
        assert all(r2.counts[f"{s}_done"] == 0 for s in ("metadata", "dates", "thumbnails"))
        assert lib.catalog.conn.execute(
            "SELECT photo_id, stage, ran_at FROM stage_runs").fetchall() == runs

        (src / "sub").mkdir()
        (src / "ianare_Canon_40D.jpg").rename(src / "sub" / "renamed.jpg")  # move + rename
        (src / "mde_with-gps.mp4").unlink()                                  # delete
        r3 = lib.ingest([src], show_progress=False)
        assert (r3.counts["moved"], r3.counts["missing"], r3.counts["new"]) == (1, 1, 0)
        after = lib.photos(include_missing=True)
        old = before.filter(pl.col("path").str.ends_with("ianare_Canon_40D.jpg")).row(
            0, named=True)
        moved = after.filter(pl.col("photo_id") == old["photo_id"]).row(0, named=True)
        assert moved["path"].endswith("sub/renamed.jpg") and moved["status"] == "present"
        assert moved["camera_make"] == "Canon"  # computed results follow the photo
        assert r3.counts["metadata_done"] == 0  # a move recomputes nothing
        gone = after.filter(pl.col("path").str.ends_with("mde_with-gps.mp4"))
        assert gone["status"].to_list() == ["missing"]
        assert lib.photos().height == 4  # missing photos are kept, not shown by default

        ultra = src / "mde_Nexus_4.jpg"
        ultra.write_bytes(corpus_file("exif/ianare_Nikon_D70.jpg").read_bytes())  # new content
        r4 = lib.ingest([src], show_progress=False)
        assert r4.counts["changed"] == 1 and r4.counts["metadata_done"] == 1
        assert r4.counts["thumbnails_done"] == 1
        changed = lib.photos().filter(pl.col("path") == str(ultra)).row(0, named=True)
        assert changed["camera_make"] == "NIKON CORPORATION"

        shutil_copy = src / "copy.jpg"  # a second copy of a present file is a new photo
        shutil_copy.write_bytes((src / "sub" / "renamed.jpg").read_bytes())
        r5 = lib.ingest([src], show_progress=False)
        assert r5.counts["new"] == 1 and r5.counts["moved"] == 0
        other = tmp_path / "other-root"  # moved to a root that is scanned on its own
        other.mkdir()
        heic = next(src.glob("*.heic"))
        heic_id = lib.photos().filter(pl.col("path") == str(heic))["photo_id"][0]
        heic.rename(other / "kept.heic")
        r6 = lib.ingest([other], show_progress=False)
        assert (r6.counts["moved"], r6.counts["new"]) == (1, 0)
        assert lib.photos().filter(pl.col("photo_id") == heic_id)["path"][0] == str(
            other / "kept.heic")
        jobs = lib.jobs()
        assert jobs.height == 6 and set(jobs["status"]) == {"done"}
        assert json.loads(jobs["counts"][2])["moved"] == 1


def _png_header_only(w: int, h: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


def test_bad_input_is_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    src = tmp_path / "bad"
    copy_files(src, ["exif/ianare_Canon_40D.jpg"])
    (src / "zero.jpg").write_bytes(b"")
    (src / "notes.jpg").write_text("this is a text file, not a photo\n")
    real = corpus_file("exif/ianare_Nikon_D70.jpg").read_bytes()
    (src / "truncated.jpg").write_bytes(real[: len(real) * 3 // 4])
    (src / "bomb.png").write_bytes(_png_header_only(40_000, 40_000))
    (src / os.fsdecode(b"caf\xe9-latin1.jpg")).write_bytes(real)
    (src / "loop").symlink_to(src)                      # folder loop
    (src / "self.jpg").symlink_to(src / "self.jpg")     # file symlink loop
    (src / "dangling.jpg").symlink_to(src / "nowhere.jpg")
    os.mkfifo(src / "fifo.jpg")
    (src / "folder.jpg").mkdir()
    (src / "folder.jpg" / "inner.jpg").write_bytes(real)

    with Library(tmp_path / "lib") as lib:
        report = lib.ingest([src], show_progress=False)
        photos = lib.photos()
    err = {Path(p).name: e for p, e in photos.select("path", "error").iter_rows()}
    assert err["ianare_Canon_40D.jpg"] is None
    assert err["inner.jpg"] is None
    assert "File is empty" in err["zero.jpg"]
    assert "not a photo or video: content is text/plain" in err["notes.jpg"]
    assert "damaged image data" in err["truncated.jpg"]
    assert "decompression bomb" in err["bomb.png"]
    assert "Too many levels of symbolic links" in err["self.jpg"]
    assert "No such file" in err["dangling.jpg"]
    assert err["fifo.jpg"] == "scan: not a regular file"
    latin = [p for p in photos["path"] if "caf" in p]
    assert latin == [str(src / "caf\\xe9-latin1.jpg")]
    assert err["caf\\xe9-latin1.jpg"] is None  # decoded, thumbnailed, dated
    assert photos.filter(pl.col("path") == latin[0])["camera_make"][0] == "NIKON CORPORATION"
    assert report.counts["files"] == photos.height == 10  # the loop was walked once


_LIST_ERRORS = """
import json, sys
from photolab import Library
with Library(sys.argv[2]) as lib:
    lib.ingest([sys.argv[1]], show_progress=False)
    print(json.dumps(dict(lib.photos().select("path", "error").iter_rows())))
"""


@pytest.mark.slow
def test_unreadable_file_is_an_error_row(tmp_path: Path) -> None:
    import site
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="photolab-perm-"))  # reachable by other users
    base.chmod(0o777)
    src = base / "p"
    locked, fine = copy_files(src, ["exif/ianare_Canon_40D.jpg", "exif/ianare_Nikon_D70.jpg"])
    src.chmod(0o755)
    locked.chmod(0)
    cmd, extra, e = [sys.executable], {}, env()
    if os.geteuid() == 0:
        # root reads every file, so run as nobody; this interpreter lives under /root,
        # which nobody cannot enter: use the system Python of the same version
        system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
        if not system.exists():
            pytest.skip(f"running as root and no {system} to run as nobody")
        cmd, extra = [str(system)], {"user": "nobody", "group": "nogroup"}
        e["PYTHONPATH"] = os.pathsep.join([e["PYTHONPATH"], *site.getsitepackages()])
    try:
        run = subprocess.run([*cmd, "-c", _LIST_ERRORS, str(src), str(base / "lib")], env=e,
                             capture_output=True, text=True, timeout=300, **extra)
    finally:
        locked.chmod(0o644)
        shutil.rmtree(base, ignore_errors=True)
    assert run.returncode == 0, run.stderr
    errors = json.loads(run.stdout)
    assert errors[str(locked)] == "scan: unreadable: permission denied"
    assert errors[str(fine)] is None


def _tree(dest: Path, n: int) -> Path:
    """n distinct large JPEGs (one real photo with a different trailer each)."""
    data = corpus_file("misc/immich_text_handwritten-notes.jpg").read_bytes()
    dest.mkdir(parents=True)
    for i in range(n):
        (dest / f"IMG_2019082{i % 10}_1430{i % 60:02d}_{i}.jpg").write_bytes(
            data + f"photolab-test-{i}".encode())
    return dest


def _ingest_cmd(root: Path, lib: Path) -> list[str]:
    return [*PHOTOLAB, "ingest", str(root), "--library", str(lib)]


@pytest.mark.slow
def test_killed_run_resumes_with_nothing_lost_or_duplicated(tmp_path: Path) -> None:
    """Over 20 s at times: 48 photos in batches of 4, a run killed midway and run again."""
    src, libdir = _tree(tmp_path / "big", 48), tmp_path / "lib"
    libdir.mkdir()
    (libdir / "photolab.toml").write_text("batch_size = 4\n")  # many small transactions
    proc = subprocess.Popen(_ingest_cmd(src, libdir), env=env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    db = libdir / "catalog.sqlite"
    deadline = time.monotonic() + 120
    thumbs = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as c:
                    thumbs = c.execute("SELECT count(*) FROM stage_runs "
                                       "WHERE stage = 'thumbnails'").fetchone()[0]
            except sqlite3.OperationalError:
                pass
        if thumbs >= 8:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 8 <= thumbs < 48

    run = subprocess.run(_ingest_cmd(src, libdir), env=env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "thumbnails:" in run.stderr  # plain progress lines when not on a terminal
    with Library(libdir) as lib:
        assert_complete(lib, 48)
        jobs = lib.jobs()
        assert jobs["status"].to_list() == ["interrupted", "done"]
        counts = json.loads(jobs["counts"][1])
        assert counts["thumbnails_done"] == 48 - thumbs  # only the rest was done
        assert len(list((libdir / "thumbs").rglob("*.webp"))) == 48 * 3


@pytest.mark.slow
def test_two_concurrent_ingests_leave_a_consistent_catalog(tmp_path: Path) -> None:
    """Over 20 s: three ingest processes at once on one catalog (each imports photolab and
    its models, and waits on the others' writes)."""
    a, b = _tree(tmp_path / "a", 16), tmp_path / "b"
    copy_files(b, SMALL)
    libdir = tmp_path / "lib"
    procs = [subprocess.Popen(_ingest_cmd(root, libdir), env=env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for root in (a, b, a)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    with Library(libdir) as lib:
        assert_complete(lib, 21)
        assert lib.jobs()["status"].to_list() == ["done"] * 3


@pytest.mark.slow
def test_cli_photos_formats_and_jobs(tmp_path: Path) -> None:
    src = tmp_path / "p"
    copy_files(src, SMALL)
    libdir = tmp_path / "lib"
    ran = subprocess.run([*_ingest_cmd(src, libdir)], env=env(), capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert "photos: 5 (5 fine, 0 with errors)" in ran.stdout
    assert "motion photos: 1" in ran.stdout
    assert "duplicates: 0 groups" in ran.stdout
    frames = {}
    for fmt in ("csv", "parquet", "json"):
        out = tmp_path / f"photos.{fmt}"
        r = subprocess.run([*PHOTOLAB, "photos", "--library", str(libdir), "--format", fmt,
                            "--output", str(out)], env=env(), capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        frames[fmt] = getattr(pl, f"read_{fmt}")(out)
    assert frames["csv"].height == frames["parquet"].height == frames["json"].height == 5
    assert frames["parquet"].schema["taken_at_utc"] == pl.Datetime("us", "UTC")
    assert sorted(frames["csv"]["path"]) == sorted(frames["parquet"]["path"])
    jobs = subprocess.run([*PHOTOLAB, "jobs", "--library", str(libdir)], env=env(),
                          capture_output=True, text=True)
    assert "done" in jobs.stdout
    bad = subprocess.run([*PHOTOLAB, "ingest", "--library", str(libdir), "--only", "nope"],
                         env=env(), capture_output=True, text=True)
    assert bad.returncode == 2


@pytest.mark.slow
def test_sample_photos_ship_in_a_dependency(tmp_path: Path) -> None:
    import skimage.data

    root = Path(skimage.data.__file__).parent
    with Library(tmp_path / "lib") as lib:
        lib.ingest([root], show_progress=False)
        photos = lib.photos()
    assert photos.height >= 20
    assert photos.filter(pl.col("path").str.ends_with("astronaut.png"))["error"][0] is None


def test_python_module_entry_point() -> None:
    r = subprocess.run([sys.executable, "-m", "photolab.cli", "--help"], env=env(),
                       capture_output=True, text=True)
    assert r.returncode == 0 and "ingest" in r.stdout


_SET_DATES = """
import sys
from photolab import Library
with Library(sys.argv[1], who=sys.argv[2]) as lib:
    ids = lib.photos()["photo_id"].to_list()
    for i in range(30):
        lib.set_date(ids[i % len(ids)], f"2001-01-{i + 1:02d}T12:00:00")
"""


@pytest.mark.slow
def test_decisions_from_several_writers_during_an_ingest_are_all_kept(tmp_path: Path) -> None:
    src, more = tmp_path / "p", _tree(tmp_path / "more", 12)
    copy_files(src, SMALL)
    libdir = tmp_path / "lib"
    with Library(libdir) as lib:
        lib.ingest([src], show_progress=False)
    procs = [subprocess.Popen(_ingest_cmd(more, libdir), env=env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)]
    procs += [subprocess.Popen([sys.executable, "-c", _SET_DATES, str(libdir), who], env=env(),
                               stderr=subprocess.PIPE, text=True) for who in ("ann", "bob")]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    with Library(libdir) as lib:
        d = lib.decisions("date")
        assert d.height == 60
        assert d.group_by("who").len().sort("who")["len"].to_list() == [30, 30]
        photos = lib.photos()
        assert photos.height == 17
        assert photos.filter(pl.col("path").str.starts_with(str(src)))[
            "taken_at_source"].to_list() == ["user"] * 5


def test_a_library_inside_a_scanned_root_is_not_ingested(tmp_path: Path) -> None:
    copy_files(tmp_path, ["exif/ianare_Canon_40D.jpg"])
    with Library(tmp_path / "library") as lib:
        lib.ingest([tmp_path], show_progress=False)
        lib.ingest([tmp_path], show_progress=False)  # thumbs/*.webp now exist in the root
        assert lib.photos()["path"].to_list() == [str(tmp_path / "ianare_Canon_40D.jpg")]


def test_identical_files_in_one_batch_share_their_thumbnails(tmp_path: Path) -> None:
    src = tmp_path / "p"
    data = corpus_file("exif/ianare_Canon_40D.jpg").read_bytes()
    src.mkdir()
    for i in range(24):  # many threads write the same content-addressed files at once
        (src / f"copy{i}.jpg").write_bytes(data)
    with Library(tmp_path / "lib") as lib:
        lib.ingest([src], show_progress=False)
        photos = lib.photos()
        assert photos.height == 24 and photos["error"].is_null().all()
    assert len(list((tmp_path / "lib" / "thumbs").rglob("*.webp"))) == 3
