"""The stage registry is the one place a stage is declared."""

from __future__ import annotations

import ast
from pathlib import Path

from photolab import stages
from photolab.stages import STAGE_ORDER, STAGES, dependents, spec

from .conftest import REPO


def test_every_stage_is_declared_once_and_depends_on_earlier_ones() -> None:
    assert len(set(STAGE_ORDER)) == len(STAGES)
    for i, s in enumerate(STAGES):
        assert (s.run is None) != (s.step is None), s.name
        assert all(STAGE_ORDER.index(d) < i for d in s.depends_on), s.name
    assert dependents("metadata") == ("dates", "previews", "places", "faces")
    assert dependents("semantic") == ("tags",)
    assert spec("captions").full_text == ("captions_fts", "caption")


def _stage_comparisons(path: Path) -> list[str]:
    """`x.name == "faces"`, `stage in ("faces", ...)`: a stage named by a string outside
    the registry."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Compare):
            continue
        sides = [node.left, *node.comparators]
        names = [c.value for s in sides for c in ast.walk(s)
                 if isinstance(c, ast.Constant) and c.value in STAGE_ORDER]
        about_stages = any("stage" in ast.unparse(s).lower() or ast.unparse(s).endswith(".name")
                           for s in sides)
        if names and about_stages:
            found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_stage_is_named_by_a_string_outside_the_registry() -> None:
    registry = Path(stages.__file__).resolve()
    hits = [h for p in sorted((REPO / "photolab").rglob("*.py")) if p.resolve() != registry
            for h in _stage_comparisons(p)]
    assert not hits, hits


def _sharpness(frame, thumbs_dir: Path, tick):  # the function of docs/stages.md's example
    import polars as pl
    import pyvips

    from photolab.media.thumbnails import thumb_path

    rows = []
    for photo_id, digest in frame.select("photo_id", "content_hash").iter_rows():
        try:
            im = pyvips.Image.new_from_file(str(thumb_path(thumbs_dir, digest, "small")))
            lap = im.colourspace("b-w").conv(pyvips.Image.new_from_array(
                [[0, 1, 0], [1, -4, 1], [0, 1, 0]]))
            rows.append((photo_id, float(lap.deviate() ** 2), None))
        except pyvips.Error as e:
            rows.append((photo_id, None, f"sharpness: {e}"))
    tick(frame.height)
    return pl.DataFrame(rows, schema={"photo_id": pl.Int64, "sharpness": pl.Float64,
                                      "error": pl.String}, orient="row")


def test_a_new_stage_is_one_function_one_declaration_one_table(tmp_path: Path,
                                                               monkeypatch) -> None:
    """docs/stages.md's worked example, run: declared in the registry, the ingest runs it,
    `skip` leaves it out, it reruns when its input (thumbnails) reruns, and its errors count."""
    from photolab import Library

    from .conftest import copy_files

    sharp = stages.StageSpec(
        "sharpness", table="sharpness", depends_on=("thumbnails",), reads_thumbnails=True,
        run=lambda lib, f, tick: _sharpness(f, lib.thumbs_dir, tick))
    order = list(STAGES)
    order.insert(order.index(spec("thumbnails")) + 1, sharp)
    monkeypatch.setattr(stages, "STAGES", tuple(order))
    monkeypatch.setattr(stages, "STAGE_ORDER", tuple(s.name for s in order))
    monkeypatch.setattr(stages, "BY_NAME", {s.name: s for s in order})

    src = tmp_path / "photos"
    copy_files(src, ["exif/ianare_Canon_40D.jpg", "exif/ianare_Canon_PowerShot_S40.jpg"])
    (src / "empty.jpg").write_bytes(b"")
    with Library(tmp_path / "lib") as lib:
        with lib.catalog.transaction() as c:  # the migration
            c.execute("CREATE TABLE sharpness (photo_id INTEGER PRIMARY KEY REFERENCES photos "
                      "ON DELETE CASCADE, sharpness REAL)")
        report = lib.ingest([src], skip=["faces", "people", "semantic", "tags", "captions"],
                            show_progress=False)
        assert "sharpness" in str(report) and report.counts["sharpness_done"] == 3
        assert report.errors["sharpness"] == 1  # the empty file: counted, the run went on
        got = lib.catalog.frame("SELECT photo_id, sharpness FROM sharpness")
        assert (got["sharpness"].drop_nulls() > 0).sum() == 2  # the empty file's is null
        assert dependents("thumbnails") == ("sharpness", "hashes", "faces", "semantic",
                                            "captions")
        lib.run_stage("thumbnails", [int(got["photo_id"][0])], show_progress=False)
        again = lib.ingest(only=["sharpness"], show_progress=False)
        assert again.counts["sharpness_done"] == 1  # only the photo whose thumbnail was redone
        assert lib.ingest(skip=["sharpness"], show_progress=False).counts.get(
            "sharpness_done") is None
        assert lib.stage("sharpness").batch == lib.settings.batch_size
        assert "sharpness" in [s.name for s in lib.stages()]
