"""Notebooks run headless with papermill, as a nightly job would, on corpus photos."""

from __future__ import annotations

import json
from pathlib import Path

import papermill as pm

from photolab import Library

from .conftest import REPO, copy_files


def outputs(nb: dict, mime: str) -> list:
    return [o["data"][mime] for c in nb["cells"] for o in c.get("outputs", [])
            if mime in o.get("data", {})]


def test_01_ingest_runs_with_parameters_and_shows_what_it_found(tmp_path: Path) -> None:
    src = tmp_path / "p"
    copy_files(src, ["exif/mde_Apple_iPhone_4.jpg", "exif/ianare_Canon_40D.jpg",
                     "heic/mde_IMG_1034.heic", "corrupt/pillow_broken.png"])
    out = tmp_path / "report.ipynb"
    pm.execute_notebook(REPO / "notebooks/01_ingest.ipynb", out, kernel_name="python3",
                        parameters={"roots": [str(src)], "library": str(tmp_path / "lib"),
                                    "skip": ["faces", "people"]}, progress_bar=False)
    nb = json.loads(out.read_text())
    tables = outputs(nb, "text/html")
    assert len(tables) >= 4 and all("<table" in "".join(t) for t in tables)
    figures = outputs(nb, "application/vnd.plotly.v1+json")
    assert len(figures) == 1 and figures[0]["data"][0]["type"] == "bar"
    assert any("pillow_broken.png" in "".join(t) for t in tables)  # the error table
    text = "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))
    assert "ingest job 1: 4 files scanned, 4 new" in text
    with Library(tmp_path / "lib") as lib:
        assert lib.photos().height == 4
