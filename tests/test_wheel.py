"""A plain wheel install (no checkout on the path) finds its notebooks and dashboards and
serves a dashboard."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import urllib.request
from pathlib import Path

import pytest

from photolab import Library

from .conftest import REPO, copy_files
from .serving import serve

pytestmark = pytest.mark.slow


def test_wheel_install_serves_a_dashboard(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(dist), str(REPO)], check=True, timeout=300)
    wheel = next(dist.glob("photolab-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_path("
                                "'purelib'))"], capture_output=True, text=True,
                               check=True).stdout.strip())
    # the dependencies come from this environment's site-packages, photolab from the wheel
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps",
                    "-q", str(wheel)], check=True, timeout=300)
    # no PYTHONPATH, no checkout; Voilà's templates and the widget front-ends are data files
    # of the environment the dependencies come from
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
             "JUPYTER_PATH": str(Path(sysconfig.get_path("data")) / "share" / "jupyter")}
    where = subprocess.run(
        [py, "-c", "import photolab, photolab.shipped as s; print(photolab.__file__); "
         "print(s.folder('dashboards')); print(s.folder('notebooks'))"],
        capture_output=True, text=True, check=True, cwd=tmp_path, env=clean).stdout.split()
    assert all(w.startswith(str(site)) for w in where), where
    copied = subprocess.run([venv / "bin" / "photolab", "notebooks", str(tmp_path / "nb")],
                            capture_output=True, text=True, cwd=tmp_path, env=clean)
    assert copied.returncode == 0 and len(copied.stdout.split()) == 7
    copy_files(tmp_path / "p", ["dupes/fr_obama-1080p.jpg", "dupes/fr_obama-720p.jpg"])
    with Library(tmp_path / "lib") as lib:
        lib.ingest([tmp_path / "p"], show_progress=False, skip=["faces", "people"])
    # its own server: photolab as the wheel installed it, in an environment of its own
    with serve(tmp_path / "lib", tmp_path / "serve.log", token="w",
               command=[str(venv / "bin" / "photolab")], environ=clean, cwd=tmp_path) as server:
        with urllib.request.urlopen(server.page("duplicates.ipynb"), timeout=120) as r:
            body = r.read().decode()
        assert r.status == 200 and "kernelId" in body
        assert "There was an error when executing cell" not in body
