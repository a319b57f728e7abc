"""The CLI's exit codes (0 done, 1 failed, 2 usage, 3 locked) and its manners in a pipe."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import pytest

import photolab
from photolab import Library, NotFoundError, PhotolabError
from photolab.catalog import Catalog
from photolab.cli import EXIT_LOCKED, EXIT_OK, EXIT_USAGE, main

from .conftest import PHOTOLAB, copy_files, env


@pytest.fixture(scope="module")
def small_lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("cli")
    copy_files(tmp / "p", ["dupes/fr_obama-1080p.jpg", "dupes/fr_obama-720p.jpg",
                           "exif/ianare_gps_DSCN0010.jpg"])
    with Library(tmp / "lib") as lib:
        lib.ingest([tmp / "p"], show_progress=False, skip=["faces", "people"])
    return tmp / "lib"


def test_every_exception_class_is_exported() -> None:
    from photolab import errors

    classes = {n for n, c in vars(errors).items()
               if isinstance(c, type) and issubclass(c, PhotolabError)}
    assert classes <= set(photolab.__all__)
    with Library(Path(photolab.__file__).parent.parent / ".no-such-lib-for-test",
                 read_only=False) as lib:
        with pytest.raises(NotFoundError, match="no photo 42"):
            lib.thumbnail(42)
        with pytest.raises(KeyError):  # a NotFoundError is a KeyError too
            lib.undo(7)
    import shutil

    shutil.rmtree(Path(photolab.__file__).parent.parent / ".no-such-lib-for-test")


def test_exit_codes(small_lib: Path, monkeypatch, capsys) -> None:
    assert main(["summary", "--library", str(small_lib)]) == EXIT_OK
    assert main(["motion", "424242", "--library", str(small_lib)]) == EXIT_USAGE
    assert "no photo 424242" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["ingest", "--no-such-flag"])
    assert e.value.code == EXIT_USAGE
    # another writer holds the catalog past the busy timeout
    monkeypatch.setattr("photolab.library.Catalog",
                        functools.partial(Catalog, busy_timeout_s=0.3))
    holder = Catalog(small_lib / "catalog.sqlite")
    with holder.transaction():
        assert main(["ingest", "--library", str(small_lib), "--quiet"]) == EXIT_LOCKED
    holder.close()
    assert "locked" in capsys.readouterr().err


@pytest.mark.slow
def test_a_closed_pipe_ends_quietly(small_lib: Path) -> None:
    cmd = " ".join([*PHOTOLAB, "photos", "--library", str(small_lib), "--format", "csv"])
    done = subprocess.run(f"set -o pipefail; {cmd} | head -c 10", shell=True, env=env(),
                          capture_output=True, text=True, executable="/bin/bash", timeout=120)
    assert done.stdout.startswith("photo_id")
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    assert done.returncode == 0


def test_pyproject_lists_every_package() -> None:
    """The wheel's package list is written out (notebooks/ and dashboards/ are mapped into
    it): a new subpackage must be added there."""
    import tomllib

    from .conftest import REPO

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts)
             for p in (REPO / "photolab").rglob("__init__.py")}
    assert found | {"photolab.notebooks", "photolab.dashboards"} == listed


@pytest.mark.slow  # several processes: two `photolab ingest` runs, each importing torch
def test_a_missing_model_is_explained_once(tmp_path: Path) -> None:
    """No CLIP weights here: the ingest gives the advice (several lines) once, as it happens,
    and its report's summary only the gist; a file that does not decode is counted once,
    by the thumbnails stage."""
    copy_files(tmp_path / "p", ["exif/ianare_Canon_40D.jpg"])
    (tmp_path / "p" / "empty.jpg").write_bytes(b"")
    for quiet in (["-q"], []):
        r = subprocess.run([*PHOTOLAB, "ingest", str(tmp_path / "p"), "--library",
                            str(tmp_path / f"lib{len(quiet)}"), "--no-faces", *quiet],
                           env=env(), capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        both = r.stdout + r.stderr
        assert both.count("On a machine with internet") == 1, both
    assert "semantic   skipped: CLIP weights" in r.stdout
    lines = {ln.split()[0]: ln for ln in r.stdout.splitlines()[1:] if ln.startswith("  ")}
    assert "1 errors" in lines["thumbnails"] and "0 errors" in lines["hashes"], r.stdout
