"""Shared fixtures: the real corpus from ../shared/corpus and a library ingested from it, one
Chromium per worker with a context per test, and what marks a test slow.

The suite runs under pytest-xdist (`-n auto --dist loadfile`): each file on one worker, so a
module's fixtures (its libraries, its server) are built once. What every worker needs and
costs much (the corpus ingested, the tiny CLIP model) is built once per run by whichever worker
asks first (`built_once`), the others waiting for it, and each worker works on a copy.
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from photolab import Library

REPO = Path(__file__).resolve().parent.parent
CORPUS = (REPO / "../shared/corpus").resolve()
PHOTOLAB = [sys.executable, "-m", "photolab.cli"]


def corpus_file(rel: str) -> Path:
    path = CORPUS / rel
    if not path.exists():
        pytest.skip(f"corpus file {rel} not present")
    return path


@pytest.fixture(scope="session")
def manifest() -> dict[str, dict[str, str]]:
    with (CORPUS / "MANIFEST.tsv").open() as f:
        return {r["relpath"]: r for r in csv.DictReader(f, delimiter="\t")}


def built_once(factory: pytest.TempPathFactory, name: str,
               build: Callable[[Path], object]) -> Path:
    """The folder `name`, built by `build(folder)` once per test run: by the first xdist
    worker that asks, while the others wait on a file lock (a folder left half-built by a
    failed build is built again)."""
    from filelock import FileLock

    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by every worker of this run
    folder = root / name
    with FileLock(str(root / f"{name}.lock")):
        if not (root / f"{name}.built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            build(folder)
            (root / f"{name}.built").touch()
    return folder


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny random open_clip model saved to a folder: the `clip_model` setting naming it."""
    from .tiny_clip import save_tiny_clip

    return f"local-dir:{built_once(tmp_path_factory, 'tiny-clip', save_tiny_clip)}"


def _ingest_corpus(folder: Path, clip_model: str) -> None:
    with Library(folder) as lib:
        lib.settings.clip_model = clip_model
        lib.settings.save(lib.root)
        lib.ingest([CORPUS], show_progress=False)


@pytest.fixture(scope="session")
def corpus_lib(tmp_path_factory: pytest.TempPathFactory, tiny_clip: str) -> Library:
    """The whole corpus ingested once per run (about 50 s on 2 cores), CLIP vectors from the
    tiny model; each worker opens a copy of its own."""
    if not CORPUS.is_dir():
        pytest.fail(f"the test corpus is missing at {CORPUS}")
    built = built_once(tmp_path_factory, "corpus-lib",
                       lambda folder: _ingest_corpus(folder, tiny_clip))
    own = tmp_path_factory.mktemp("corpus") / "lib"
    shutil.copytree(built, own)
    lib = Library(own)
    yield lib
    lib.close()


@pytest.fixture(scope="session")
def corpus_photos(corpus_lib: Library):
    import polars as pl

    rel = pl.col("path").str.replace(f"^{CORPUS}/", "")
    return corpus_lib.photos().with_columns(rel=rel)


def copy_files(dest: Path, rels: list[str]) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for rel in rels:
        target = dest / Path(rel).name
        shutil.copy2(corpus_file(rel), target)
        out.append(target)
    return out


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO)
    return e


def private_copy(lib: Library, dest: Path) -> Library:
    """A copy of a library's folder (its WAL folded in first), opened read/write."""
    lib.catalog.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copytree(lib.root, dest)
    return Library(dest)


@pytest.fixture
def columnar(monkeypatch: pytest.MonkeyPatch) -> None:
    """Libraries opened in the test read through the columnar helper, however small."""
    import photolab.catalog

    monkeypatch.setattr(photolab.catalog, "COLUMNAR_MIN_PHOTOS", 0)


@pytest.fixture
def lib_copy(corpus_lib: Library, tmp_path: Path) -> Library:
    """A private copy of the corpus library, for tests that record decisions."""
    lib = private_copy(corpus_lib, tmp_path / "lib")
    yield lib
    lib.close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc, timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    """Wait until a server process listens on 127.0.0.1:port (fail if it exits first)."""
    import socket
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.2)
    raise AssertionError(f"nothing listened on port {port} within {timeout_s:.0f} s")


def library_without_weights(tmp_path: Path, rels: list[str], **ingest: object) -> Library:
    """A library of a few corpus files whose CLIP weights cannot be found (an empty cache)."""
    src = tmp_path / "p"
    copy_files(src, rels)
    lib = Library(tmp_path / "lib")
    lib.settings.clip_cache_dir = str(tmp_path / "empty-cache")
    lib.settings.save(lib.root)
    lib.ingest([src], show_progress=False, **({"skip": ["faces", "people"]} | ingest))
    return lib


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium (Debian's, driven by playwright) per worker; each test opens
    contexts of its own (`new_page`), so cookies and storage never cross tests."""
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "scripts/setup.sh installs Debian's chromium"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """`new_page(width, height)`: a page in a browser context of its own, closed after the
    test."""
    contexts: list[Any] = []

    def make(width: int = 1280, height: int = 720) -> Any:
        contexts.append(browser.new_context(viewport={"width": width, "height": height}))
        return contexts[-1].new_page()

    yield make
    for context in contexts:
        context.close()


#: fixtures that make a test slow: the whole corpus ingested (about 50 s on 2 cores, once a
#: run), a browser, a server shared by a module's tests
SLOW_FIXTURES = {"corpus_lib", "corpus_photos", "lib_copy", "browser", "new_page"}


#: the files that take longest (seconds on 2 cores, one worker: Ray 185, dashboards 142,
#: ingest 99, the server guard 95, notebooks 87, the photos app 71), started first so that no
#: worker is left alone with a long file at the end (xdist hands out files in this order)
HEAVY_FIRST = ("test_ray.py", "test_dashboards.py", "test_ingest.py", "test_serve_guard.py",
               "test_notebooks.py", "test_photos_app.py",
               # and the fast tier's longest (seconds on 2 busy cores: 22, 19, 12, 10, 9)
               "test_catalog_reads.py", "test_dedupe.py", "test_events.py", "test_kept.py",
               "test_faces_by_hand.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on the whole ingested corpus, in a browser or on a server are slow:
    `pytest -m "not slow"` leaves them out. A fixture whose name starts with `served_`
    starts a server. The heaviest files come first (`HEAVY_FIRST`)."""
    heavy = {name: rank for rank, name in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: heavy.get(item.path.name, len(heavy)))
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if SLOW_FIXTURES & used or any(f.startswith("served_") for f in used):
            item.add_marker(pytest.mark.slow)
