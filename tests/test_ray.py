"""The same ingest on Ray (a local Ray on this machine's cores): same answers, faults cost a
retry, a stopped driver resumes."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from photolab import Library
from photolab.errors import PhotolabError, ReadOnlyError

from .conftest import CORPUS, PHOTOLAB, env, free_port

pytestmark = pytest.mark.slow  # servers, browsers, papermill or Ray

pytest.importorskip("ray", reason="the ray extra is part of the test set-up")
QUICK = ["faces", "people", "semantic", "tags", "captions"]


@pytest.fixture(scope="module", autouse=True)
def ray_shutdown():
    yield
    import ray

    ray.shutdown()


def _faces(lib: Library) -> pl.DataFrame:
    """Faces keyed by photo and box (face ids depend on the order batches finish)."""
    return (lib.faces().sort("photo_id", "top", "left")
            .select("photo_id", "top", "right", "bottom", "left", "encoding", "source",
                    "cluster_id", "person_name"))


def _partition(faces: pl.DataFrame) -> set[frozenset[tuple[int, ...]]]:
    key = pl.concat_list("photo_id", "top", "right", "bottom", "left")
    groups = faces.filter(pl.col("cluster_id").is_not_null()).group_by("cluster_id").agg(key)
    return {frozenset(tuple(k) for k in ks) for ks in groups["photo_id"]}


def _sample(dest: Path) -> Path:
    """A quarter of the corpus with every kind of file in it (group photos, damaged files,
    HEIC, motion photos, videos, duplicates, camera samples, two people's faces)."""
    import shutil

    picks: list[Path] = []
    for folder, n in (("faces_group", None), ("corrupt", None), ("motion", None),
                      ("heic", 6), ("misc", 8), ("dupes", 8), ("exif", 6),
                      ("faces/fr_obama", None), ("faces/fr_biden", None)):
        files = sorted(p for p in (CORPUS / folder).iterdir() if p.is_file())
        picks += files[:n] if n else files
    for p in picks:
        (dest / p.parent.relative_to(CORPUS)).mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, dest / p.relative_to(CORPUS))
    return dest


def test_ray_gives_the_same_answers_as_local(tmp_path: Path, tiny_clip: str) -> None:
    """Over 20 s: a quarter of the corpus ingested twice, every stage, locally and on Ray."""
    src = _sample(tmp_path / "photos")
    libs = []
    for engine in ("local", "ray"):
        lib = Library(tmp_path / f"{engine}-lib")
        lib.settings.clip_model = tiny_clip
        lib.settings.save(lib.root)
        report = lib.ingest([src], engine=engine, show_progress=False)
        libs.append(lib)
    local, lib = libs
    assert report.counts["files"] == local.photos().height >= 70
    # the same error text for the same damaged file (libvips' shared error buffer: failed
    # decodes rerun alone), so the frames are equal, errors included
    ours, theirs = lib.photos(), local.photos()
    assert theirs["error"].drop_nulls().len() >= 8  # the corrupt folder's files
    assert ours.equals(theirs)
    for frame in ("places", "duplicates", "duplicate_candidates", "scene_tags"):
        ours, theirs = getattr(lib, frame)(), getattr(local, frame)()
        assert ours.equals(theirs), frame
    a, b = _faces(lib), _faces(local)
    assert a.height >= 15
    assert a.drop("encoding", "cluster_id").equals(b.drop("encoding", "cluster_id"))
    np.testing.assert_allclose(a["encoding"].to_numpy(), b["encoding"].to_numpy(), atol=1e-5)
    assert _partition(a) == _partition(b)
    ea, eb = lib.embeddings(), local.embeddings()
    assert ea["photo_id"].equals(eb["photo_id"])
    np.testing.assert_allclose(ea["vector"].to_numpy(), eb["vector"].to_numpy(), atol=1e-5)
    assert lib.jobs()["params"][0].count('"engine": "ray"') == 1
    lib.close()
    local.close()


def test_a_killed_worker_costs_a_retry_not_the_run(tmp_path: Path) -> None:
    import psutil

    killed: list[int] = []
    stop = threading.Event()

    def killer() -> None:
        while not stop.is_set() and not killed:
            for p in psutil.process_iter(["pid", "cmdline"]):
                cmd = " ".join(p.info["cmdline"] or [])
                if cmd.startswith("ray::run_stage_batch"):
                    p.kill()
                    killed.append(p.info["pid"])
                    break
            time.sleep(0.02)

    lib = Library(tmp_path / "lib")
    t = threading.Thread(target=killer)
    t.start()
    try:
        report = lib.ingest([CORPUS / "exif", CORPUS / "dupes"], engine="ray", skip=QUICK,
                            show_progress=False)
    finally:
        stop.set()
        t.join()
    assert killed, "no worker was caught running a batch"
    files = report.counts["files"]
    photos = lib.photos()
    assert photos.height == files == photos["path"].n_unique()
    for stage in lib.stages():
        if stage.name not in QUICK:
            assert lib.catalog.stale(stage.name, stage.version).height == 0, stage.name
    runs = lib.catalog.frame("SELECT stage, count(*) AS n FROM stage_runs GROUP BY stage")
    assert set(runs["n"]) == {files}
    lib.close()


def test_a_stopped_driver_resumes_on_the_next_run(tmp_path: Path) -> None:
    """Over 20 s: two CLI runs on Ray (each starts a local Ray), the first stopped midway."""
    libdir = tmp_path / "lib"
    cmd = [*PHOTOLAB, "ingest", str(CORPUS / "exif"), str(CORPUS / "faces"), "--library",
           str(libdir), "--engine", "ray", "-q", *[a for s in QUICK for a in ("--skip", s)]]
    proc = subprocess.Popen(cmd, env=env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if (libdir / "catalog.sqlite").exists():
            try:
                with Library(libdir, read_only=True) as lib:
                    done = lib.catalog.frame("SELECT count(*) FROM stage_runs "
                                             "WHERE stage = 'thumbnails'").item()
            except ReadOnlyError:  # the ingest has created the catalog, not yet migrated it
                continue
            if done:
                break
    proc.send_signal(signal.SIGINT)
    proc.wait(60)
    assert done > 0
    with Library(libdir) as lib:
        n = lib.photos().height
        before = lib.catalog.frame("SELECT count(*) FROM stage_runs WHERE stage = 'hashes'"
                                   ).item()
        assert before < n  # stopped part way
        report = lib.ingest(engine="ray", skip=QUICK, show_progress=False)
        assert report.counts["new"] == 0 and report.counts["unchanged"] == n
        assert report.counts["hashes_done"] == n - before
        assert lib.catalog.frame("SELECT count(*) FROM stage_runs WHERE stage = 'hashes'"
                                 ).item() == n


def test_engine_ray_without_ray_names_the_extra(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with Library(tmp_path / "lib") as lib, pytest.raises(PhotolabError, match=r"photolab\[ray\]"):
        lib.ingest([CORPUS / "heic"], engine="ray", show_progress=False)


def test_the_local_engine_never_imports_ray(tmp_path: Path) -> None:
    code = ("import sys; from photolab import Library; "
            f"Library({str(tmp_path / 'lib')!r}).ingest([{str(CORPUS / 'heic')!r}], "
            "skip=['faces', 'people'], show_progress=False); "
            "assert 'ray' not in sys.modules, 'ray was imported'")
    subprocess.run([sys.executable, "-c", code], env=env(), check=True, capture_output=True)


def test_a_cluster_started_with_ray_start(tmp_path: Path) -> None:
    """The README's recipe on one machine: `ray start --head`, then the driver connects by
    address (Ray's token authentication on). Over 20 s: a Ray cluster of its own."""
    import ray

    ray.shutdown()  # this process's own Ray, from the tests above
    port = free_port()
    ray_bin = str(Path(sys.executable).with_name("ray"))
    subprocess.run([ray_bin, "start", "--head", f"--port={port}", "--num-cpus=2",
                    "--include-dashboard=false"], check=True, capture_output=True, env=env())
    try:
        ip = ray.util.get_node_ip_address()
        cmd = [*PHOTOLAB, "ingest", str(CORPUS / "heic"), "--library", str(tmp_path / "lib"),
               "--engine", "ray", "--ray-address", f"{ip}:{port}", "-q",
               *[a for s in QUICK for a in ("--skip", s)]]
        done = subprocess.run(cmd, capture_output=True, text=True,
                              env=env() | {"RAY_AUTH_MODE": "token"})
        assert done.returncode == 0, done.stderr[-2000:]
        with Library(tmp_path / "lib") as lib:
            assert lib.photos().height == len(list((CORPUS / "heic").iterdir()))
            assert '"engine": "ray"' in lib.jobs()["params"][0]
    finally:
        subprocess.run([ray_bin, "stop", "--force"], capture_output=True, env=env())


def test_workers_that_cannot_see_the_library_get_thumbnails_as_bytes(tmp_path: Path,
                                                                     tiny_clip: str) -> None:
    """`ray_shared_library = false`: workers run in private temporary libraries; the driver
    ships each batch's thumbnails and stores the ones workers make. Same answers as local.
    Over 20 s: the same third of the corpus ingested on Ray."""
    roots = [CORPUS / "faces" / "fr_obama", CORPUS / "dupes", CORPUS / "heic"]
    libs = {}
    for engine in ("local", "ray"):
        lib = Library(tmp_path / engine)
        lib.settings.clip_model = tiny_clip
        lib.settings.ray_shared_library = engine == "local"
        lib.settings.save(lib.root)
        lib.ingest(roots, show_progress=False, engine=engine, skip=["captions"])
        libs[engine] = lib
    local, ray_lib = libs["local"], libs["ray"]
    assert not ray_lib.settings.ray_shared_library
    failed = pl.col("error").str.extract_all(r"(?:^|; )\\w+:")
    a, b = ray_lib.photos(), local.photos()
    assert a.drop("error").equals(b.drop("error")) and a.select(failed).equals(b.select(failed))
    assert ray_lib.duplicates().equals(local.duplicates())
    assert _faces(ray_lib).drop("encoding", "cluster_id").equals(
        _faces(local).drop("encoding", "cluster_id"))
    np.testing.assert_allclose(ray_lib.embeddings()["vector"].to_numpy(),
                               local.embeddings()["vector"].to_numpy(), atol=1e-5)
    assert ray_lib.scene_tags().equals(local.scene_tags())
    # the thumbnails the workers made are in the library, as the local engine's are
    made = sorted(p.relative_to(ray_lib.thumbs_dir) for p in ray_lib.thumbs_dir.rglob("*.webp"))
    assert made == sorted(p.relative_to(local.thumbs_dir)
                          for p in local.thumbs_dir.rglob("*.webp"))
    pid = int(a.filter(pl.col("path").str.contains("heic"))["photo_id"][0])
    ray_lib.set_date(pid, "2001-02-03T04:05:06")  # a person's date reaches the workers
    ray_lib.run_stage("dates", [pid], show_progress=False)
    ray_lib.catalog.invalidate("dates", [pid])
    ray_lib.ingest(show_progress=False, engine="ray", only=["dates"])
    assert str(ray_lib.photos().filter(pl.col("photo_id") == pid)["taken_at"][0]) == \
        "2001-02-03 04:05:06"
    for lib in libs.values():
        lib.close()
