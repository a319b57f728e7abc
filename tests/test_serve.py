"""`photolab serve`: Voilà on 127.0.0.1 with a token; read-only mode refuses changes."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from pathlib import Path

import polars as pl
import pytest

from photolab import Library
from photolab.errors import ReadOnlyError
from photolab.widgets import PersonLabeller

from .conftest import copy_files
from .serving import serve

pytestmark = pytest.mark.slow  # servers, browsers, papermill or Ray


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, ""


@pytest.fixture
def faces_lib(tmp_path: Path) -> Path:
    src = tmp_path / "p"
    copy_files(src, ["faces/fr_obama/obama.jpg", "faces/fr_obama/obama2.jpg",
                     "faces/fr_obama/obama3.jpg"])
    with Library(tmp_path / "lib") as lib:
        lib.ingest([src], show_progress=False)
    return tmp_path / "lib"


def test_serve_needs_the_token_and_binds_to_localhost(faces_lib: Path) -> None:
    """Its own server: what it prints as it starts, and its token."""
    log = faces_lib.parent / "serve.log"
    with serve(faces_lib, log, token="s3cret") as server:
        base = server.base
        port = int(base.rsplit(":", 1)[1])
        for path in ("/", "/voila/render/places.ipynb"):
            status, body = _get(f"{base}{path}")
            assert status == 403 or "login" in body.lower(), path  # refused without it
        status, body = _get(f"{base}/voila/render/places.ipynb?token=wrong")
        assert status == 403 or "login" in body.lower()
        status, body = _get(f"{base}/?token=s3cret")
        assert status == 200 and "Voil" in body
        status, body = _get(f"{base}/voila/render/places.ipynb?token=s3cret")
        assert status == 200 and "from photolab import" not in body  # rendered, code hidden
        # no route reaches files: not the notebooks, not the library, not the system
        for path in ("/voila/files/home.ipynb", f"/voila/files/{faces_lib}/catalog.sqlite",
                     "/voila/files/..%2f..%2f..%2fetc%2fpasswd", "/files/home.ipynb",
                     "/voila/render/..%2f..%2fetc%2fpasswd"):
            status, body = _get(f"{base}{path}?token=s3cret")
            assert status in (403, 404) and "root:" not in body, path
        # only on the loopback address
        other = [a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None)
                 if a[4][0] not in ("127.0.0.1", "::1") and ":" not in a[4][0]]
        for ip in other[:1]:
            with pytest.raises(OSError):
                socket.create_connection((ip, port), timeout=2).close()
    assert f"http://127.0.0.1:{port}/?token=s3cret" in log.read_text()


def test_read_only_refuses_every_decision(faces_lib: Path, monkeypatch) -> None:
    monkeypatch.setenv("PHOTOLAB_READONLY", "1")
    with Library(faces_lib) as lib:
        assert lib.read_only and lib.faces().height == 3  # reading works
        face = int(lib.faces()["face_id"][0])
        for verb in (lambda: lib.name_faces([face], "Guest"), lambda: lib.reject_faces([face]),
                     lambda: lib.set_place([1], city="X"), lambda: lib.keep(1),
                     lambda: lib.cluster_faces(), lambda: lib.ingest(show_progress=False)):
            with pytest.raises(ReadOnlyError):
                verb()
        labeller = PersonLabeller(lib)
        labeller.name.value = "Guest"
        labeller.save.click()
        assert "read-only" in labeller.status.value
    monkeypatch.delenv("PHOTOLAB_READONLY")
    with Library(faces_lib) as lib:
        assert lib.decisions().height == 0 and lib.people().height == 0
        assert lib.jobs()["kind"].to_list() == ["ingest"]
        assert lib.faces().filter(pl.col("assigned_by") == "user").height == 0
