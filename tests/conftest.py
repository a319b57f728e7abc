"""Shared fixtures: the real corpus from ../shared/corpus and a library ingested from it."""

from __future__ import annotations

import csv
import os
import shutil
import sys
from pathlib import Path

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


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny random open_clip model saved to a folder: the `clip_model` setting naming it."""
    from .tiny_clip import save_tiny_clip

    return f"local-dir:{save_tiny_clip(tmp_path_factory.mktemp('tiny-clip'))}"


@pytest.fixture(scope="session")
def corpus_lib(tmp_path_factory: pytest.TempPathFactory, tiny_clip: str) -> Library:
    """The whole corpus ingested once (about 20 s), CLIP vectors from the tiny model."""
    if not CORPUS.is_dir():
        pytest.fail(f"the test corpus is missing at {CORPUS}")
    lib = Library(tmp_path_factory.mktemp("corpus-lib"))
    lib.settings.clip_model = tiny_clip
    lib.settings.save(lib.root)
    lib.ingest([CORPUS], show_progress=False)
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


#: fixtures that ingest the whole corpus (about two minutes on 2 cores, once a session)
CORPUS_FIXTURES = {"corpus_lib", "corpus_photos", "lib_copy"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on the whole ingested corpus are slow: `pytest -m "not slow"` leaves them out."""
    for item in items:
        if CORPUS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
