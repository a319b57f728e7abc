"""Notebooks run headless with papermill, as a nightly job would, on corpus photos."""

from __future__ import annotations

import json
from pathlib import Path

import papermill as pm
import polars as pl
import pytest

from photolab import Library

from .conftest import CORPUS, REPO, copy_files, library_without_weights

pytestmark = pytest.mark.slow  # servers, browsers, papermill or Ray


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


def run(name: str, tmp_path: Path, **parameters: object) -> dict:
    out = tmp_path / f"{name}.out.ipynb"
    pm.execute_notebook(REPO / f"notebooks/{name}.ipynb", out, kernel_name="python3",
                        parameters=parameters, progress_bar=False)
    return json.loads(out.read_text())


def text_of(nb: dict) -> str:
    return "".join("".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", []))


WIDGET = "application/vnd.jupyter.widget-view+json"
PLOTLY = "application/vnd.plotly.v1+json"


def test_02_duplicates(lib_copy: Library, tmp_path: Path) -> None:
    nb = run("02_duplicates", tmp_path, library=str(lib_copy.root))
    groups = lib_copy.duplicates()
    assert f"{groups['group_id'].n_unique()} groups, {groups.height} photos" in text_of(nb)
    tables = outputs(nb, "text/html")
    assert len(tables) == 2 and "reclaimable_mb" in "".join(tables[0])
    assert outputs(nb, PLOTLY)[0]["data"][0]["type"] == "histogram"
    assert len(outputs(nb, WIDGET)) == 1  # the review widget


def test_03_people(lib_copy: Library, tmp_path: Path) -> None:
    """Over 20 s: the notebook reclusters the whole corpus's faces and draws a UMAP map."""
    lib_copy.name_faces(lib_copy.faces(encodings=False)["face_id"].head(2).to_list(), "Ada")
    nb = run("03_people", tmp_path, library=str(lib_copy.root), recluster=True)
    assert f"{lib_copy.faces(encodings=False).height} faces in" in text_of(nb)
    assert "Ada" in "".join(outputs(nb, "text/html")[0])  # the people table
    figures = outputs(nb, PLOTLY)
    assert figures[0]["data"][0]["type"] == "histogram"
    assert len(outputs(nb, WIDGET)) >= 3  # labeller, cluster review, embedding map


def test_04_tuning_scores_every_rule_and_writes_a_report(lib_copy: Library,
                                                        tmp_path: Path) -> None:
    """The corpus's labelled faces and duplicates (tests/data), every rule of the field: the
    tables as CSV and the plots as HTML in the report folder, the tuner opened."""
    from photolab.faces.methods import RULES

    data = Path(__file__).parent / "data"
    for name in ("face_labels", "dupe_labels"):  # the paths as a user's files name them
        pl.read_csv(data / f"{name}.csv").with_columns(
            path=pl.lit(f"{CORPUS}/") + pl.col("rel")).drop("rel").write_csv(
            tmp_path / f"{name}.csv")
    report = tmp_path / "report"
    nb = run("04_tuning", tmp_path, library=str(lib_copy.root), report_dir=str(report),
             face_truth=str(tmp_path / "face_labels.csv"),
             dupe_truth=str(tmp_path / "dupe_labels.csv"))
    faces = pl.read_csv(report / "faces_compare.csv")
    assert faces["method"].to_list() == list(RULES)
    assert faces.filter(pl.col("method") == "photolab")["bcubed_f1"].item() >= 0.95
    dupes = pl.read_csv(report / "dupes_compare.csv")
    assert dupes["method"].to_list() == ["exact", "phash", "phash", "phash", "dhash", "clip"]
    for name in ("faces_compare", "dupes_compare"):
        assert "plotly" in (report / f"{name}.html").read_text()
    titles = [f["layout"]["title"]["text"] for f in outputs(nb, PLOTLY)]
    assert titles == ["face rules: BCubed scores on your labels",
                      "duplicate rules: pairs found on your labels"]
    assert outputs(nb, WIDGET)  # the tuner
    assert "truth: 96 of 96 rows matched a face" in "".join(
        "".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", [])
        if o.get("name") == "stderr")


def test_05_places(lib_copy: Library, tmp_path: Path) -> None:
    nb = run("05_places", tmp_path, library=str(lib_copy.root))
    placed = lib_copy.places().filter(pl.col("country").is_not_null()).height
    assert f"{placed} of {lib_copy.places().height} photos have a place" in text_of(nb)
    assert len(outputs(nb, "text/html")) == 2 and len(outputs(nb, WIDGET)) >= 1
    [sunburst] = [o for o in outputs(nb, PLOTLY) if o["data"][0]["type"] == "sunburst"]
    assert sum(v for v, p in zip(sunburst["data"][0]["values"], sunburst["data"][0]["parents"],
                                 strict=True) if not p) == placed  # every placed photo
    [the_map] = [o for o in outputs(nb, PLOTLY) if o["data"][0]["type"] == "scattermap"]
    assert sum(the_map["data"][0]["customdata"]) == lib_copy.places().filter(
        pl.col("lat").is_not_null()).height  # every located photo, counted in its spot


def test_06_search(lib_copy: Library, tmp_path: Path) -> None:
    nb = run("06_search", tmp_path, library=str(lib_copy.root), query="a dog", k=5)
    assert f"{lib_copy.embeddings().height} photos with CLIP vectors" in text_of(nb)
    tables = outputs(nb, "text/html")
    assert "score" in "".join(tables[0]) and "".join(tables[0]).count("<tr>") >= 5
    assert outputs(nb, PLOTLY)[0]["data"][0]["type"] == "bar"  # scene tags
    assert len(outputs(nb, WIDGET)) == 1


def test_06_search_without_weights_says_where_to_put_them(tmp_path: Path) -> None:
    library_without_weights(tmp_path, ["exif/mde_Apple_iPhone_4.jpg"]).close()
    nb = run("06_search", tmp_path, library=str(tmp_path / "lib"))
    assert "hf download laion/CLIP-ViT-B-32-laion2B-s34B-b79K" in text_of(nb)


def test_photolab_batch_for_cron(tmp_path: Path) -> None:
    """Headless, incremental, the executed notebook kept; non-zero only on a real failure.
    Over 20 s: `photolab batch` runs twice, each an ingest and a papermill run."""
    import subprocess

    from .conftest import PHOTOLAB, env

    src = tmp_path / "p"
    copy_files(src, ["exif/mde_Apple_iPhone_4.jpg", "corrupt/pillow_broken.png"])
    lib = tmp_path / "lib"
    cmd = [*PHOTOLAB, "batch", "--library", str(lib), str(src), "--skip", "faces",
           "--skip", "people"]
    first = subprocess.run(cmd, capture_output=True, text=True, env=env())
    assert first.returncode == 0, first.stderr  # a broken file is an error in the report
    assert "ingest job 1: 2 files scanned, 2 new" in first.stdout
    second = subprocess.run(cmd, capture_output=True, text=True, env=env())
    assert second.returncode == 0 and "2 unchanged" in second.stdout
    reports = sorted((lib / "reports").glob("ingest-*.ipynb"))
    assert len(reports) >= 1
    report = json.loads(reports[-1].read_text())
    assert "pillow_broken.png" in "".join("".join(t) for t in outputs(report, "text/html"))
    (tmp_path / "not-a-folder").write_text("x")
    bad = subprocess.run([*PHOTOLAB, "batch", "--library", str(tmp_path / "not-a-folder"),
                          str(src), "--reports", str(tmp_path / "r")],
                         capture_output=True, text=True, env=env())
    assert bad.returncode == 1 and "photolab batch: failed" in bad.stderr
    assert list((tmp_path / "r").glob("ingest-*.ipynb"))  # the failed run's report is kept


def test_photolab_notebooks_copies_them(tmp_path: Path) -> None:
    from photolab.batch import copy_notebooks

    got = copy_notebooks(tmp_path / "nb")
    assert [p.name for p in got][:2] == ["01_ingest.ipynb", "02_duplicates.ipynb"]
    assert len(got) == 7
    (tmp_path / "nb" / "01_ingest.ipynb").write_text("mine")
    assert copy_notebooks(tmp_path / "nb") == []  # a curator's edits are kept
    assert (tmp_path / "nb" / "01_ingest.ipynb").read_text() == "mine"
