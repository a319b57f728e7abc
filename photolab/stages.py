"""The stage registry: every step of an ingest, declared once, in the order ingest runs them.

A `StageSpec` says what a stage is (its name, the frame -> frame function, its version, its
batch size, the table it writes and how, the stages whose results it reads, whether it reads
thumbnails, exiftool tags or a model). Everything else reads this: the local engine and the
Ray engine (`Library.stages()`), the catalog's staleness and write path
(`Catalog.write_stage`), the ingest report, and `photolab ingest --skip/--only`.

Three entries are library-wide steps rather than per-photo stages: `scan` (finds new, changed
and moved files), `pairs` (RAW+JPEG pairs made one photo) and `people` (clusters the faces);
they have a `step` instead of a `run`.

Adding a stage (docs/stages.md has a worked example): write its pure function over a frame,
declare it here, and add the migration that creates its table (`photolab.migrations`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from .dedupe import hashing
from .faces import store as face_store
from .media import dates as dates_stage
from .media import metadata, motion, pairs, previews, thumbnails

if TYPE_CHECKING:
    from .ingest import IngestReport
    from .library import Library

Tick = Callable[[int], None]


@dataclass(frozen=True)
class StageSpec:
    """One stage (or library-wide step) of the ingest.

    Parameters
    ----------
    name : what `--skip` / `--only` and `stage_runs` call it.
    run : (library, frame, tick) -> frame keyed by `photo_id` with an `error` column.
    version : library -> version string; a change makes every photo stale for this stage.
    batch : library -> photos per batch (one transaction each).
    table : the table its results go to (None: none, or `writer` says).
    writer : "table" (one row per photo), "rows" (several rows per photo: the structs of the
        list column `rows_column`), or a function (connection, results) -> None that writes
        them itself inside the catalog's transaction (faces: `faces.store.write_faces`).
    required : a row needs this column (a photo the stage failed on loses its old row).
    full_text : (FTS table, text column) kept in step with the table.
    depends_on : stages whose results it reads: it reruns when they rerun.
    reads_tags : its frame carries the exiftool tags (`tags` column).
    reads_thumbnails : it reads thumbnails (Ray ships them to workers that cannot see them).
    makes_thumbnails : it writes thumbnails (Ray ships them back from such workers).
    model : it loads a model (Ray keeps it on actors that load it once).
    reads_vectors : it reads the catalog's vectors (Ray runs it on the driver when workers
        cannot see the library).
    makes_files : it writes files of its own into the library folder (previews: Ray runs it
        on the driver when workers cannot see the library).
    paired : it also runs on a RAW file shown as its JPEG (`photolab.media.pairs`): what
        pairing reads (metadata, dates) and its thumbnails; the rest runs on the JPEG alone.
    inputs : (library, batch) -> batch with what the stage needs from the catalog (people's
        decisions); the driver adds it, so workers never read the catalog for it.
    prepare : library -> loads the stage's model; a `PhotolabError` skips the stage (and the
        stages that depend on it) for this run, with the reason in the report.
    step : for library-wide steps: (library, roots, report, show_progress) -> None.
    unit : what the report counts for it.
    """

    name: str
    run: Callable[[Library, pl.DataFrame, Tick], pl.DataFrame] | None = None
    version: Callable[[Library], str] = lambda lib: "1"
    batch: Callable[[Library], int] = lambda lib: lib.settings.batch_size
    table: str | None = None
    writer: str | Callable[[sqlite3.Connection, pl.DataFrame], None] = "table"
    rows_column: str | None = None
    required: str | None = None
    full_text: tuple[str, str] | None = None
    depends_on: tuple[str, ...] = ()
    reads_tags: bool = False
    reads_thumbnails: bool = False
    makes_thumbnails: bool = False
    model: bool = False
    reads_vectors: bool = False
    makes_files: bool = False
    paired: bool = False
    inputs: Callable[[Library, pl.DataFrame], pl.DataFrame] | None = None
    prepare: Callable[[Library], object] | None = None
    step: Callable[[Library, list[str], IngestReport, bool], None] | None = None
    unit: str = "photos"


def _user_dates(lib: Library, batch: pl.DataFrame) -> pl.DataFrame:
    """People's corrected dates for the batch (`user_date`), from the decision log."""
    if "user_date" in batch.columns:
        return batch
    return batch.join(lib.photos.user_dates(), on="photo_id", how="left")


def _motion_facts(lib: Library, batch: pl.DataFrame) -> pl.DataFrame:
    """Where each photo's embedded clip is (`has_motion_video`, `motion_offset`,
    `motion_length`), from what the motion stage stored, and whether the thumbnails stage
    could not read the file (`unreadable`: a failure is told once, by the stage that met it)."""
    if "has_motion_video" in batch.columns:
        return batch
    facts = lib.catalog.frame_in(
        "SELECT p.photo_id, mo.has_motion_video, mo.motion_offset, mo.motion_length, "
        "t.error IS NOT NULL AND t.error NOT LIKE 'damaged image data, thumbnail shows%' "
        "AS unreadable FROM photos p LEFT JOIN motion mo USING (photo_id) "
        "LEFT JOIN stage_runs t ON t.photo_id = p.photo_id AND t.stage = ? "
        "WHERE p.photo_id IN ({ids})", batch["photo_id"], [THUMBNAILS.name],
        schema={"photo_id": pl.Int64, "has_motion_video": pl.Int64, "motion_offset": pl.Int64,
                "motion_length": pl.Int64, "unreadable": pl.Int64})
    return batch.join(facts, on="photo_id", how="left").with_columns(
        pl.col("has_motion_video", "unreadable").cast(pl.Boolean).fill_null(False))


def _dates(lib: Library, frame: pl.DataFrame, tick: Tick) -> pl.DataFrame:
    out = dates_stage.extract_dates(frame, lib.date_rules)
    tick(frame.height)
    return out


def _people(lib: Library, roots: list[str], report: IngestReport, show: bool) -> None:
    report.counts[f"{PEOPLE.name}_done"] = lib.faces.update_clusters()
    lib.faces.nearest_people()  # measured now, so the first read of faces() finds it kept


def _pairs(lib: Library, roots: list[str], report: IngestReport, show: bool) -> None:
    report.counts[f"{PAIRS.name}_done"] = pairs.update(lib.catalog)


SCAN = StageSpec("scan", step=lambda lib, roots, report, show: lib.ingest.scan(roots, report, show),
                 unit="files")
METADATA = StageSpec(
    "metadata", version=lambda lib: "3", table="media", paired=True,
    run=lambda lib, f, tick: metadata.read_metadata(f, lib.ingest.exif_readers(),
                                                   lib.settings.batch_size, tick),
    batch=lambda lib: lib.settings.batch_size * 4)
DATES = StageSpec("dates", run=_dates, batch=lambda lib: 5000, table="dates", paired=True,
                  depends_on=("metadata",), reads_tags=True, inputs=_user_dates)
#: RAW+JPEG pairs made one photo (after the dates they are matched by; before the stages that
#: run on the JPEG alone)
PAIRS = StageSpec("pairs", step=_pairs, unit="pairs")
THUMBNAILS = StageSpec(
    "thumbnails", makes_thumbnails=True, table="thumbnails", required="source", paired=True,
    version=lambda lib: (f"1:{json.dumps(lib.settings.thumb_sizes)}:"
                         f"{lib.settings.thumb_quality}"),
    run=lambda lib, f, tick: thumbnails.make_thumbnails(
        f, lib.thumbs_dir, lib.settings.thumb_sizes, lib.settings.thumb_quality,
        lib.settings.thumb_effort, lib.settings.workers, lib.settings.max_pixels,
        lib.settings.raw_preview_min_px, tick))
HASHES = StageSpec(
    "hashes", version=lambda lib: "3", table="hashes", depends_on=("thumbnails",),
    reads_thumbnails=True, batch=lambda lib: lib.settings.batch_size * 4,
    run=lambda lib, f, tick: hashing.compute_hashes(f, lib.thumbs_dir, lib.settings.workers,
                                                    tick))
MOTION = StageSpec("motion", table="motion", batch=lambda lib: lib.settings.batch_size * 4,
                   run=lambda lib, f, tick: motion.find_motion_videos(f, tick))
PREVIEWS = StageSpec(
    "previews", table="previews", depends_on=("metadata", "motion"), makes_files=True,
    batch=lambda lib: lib.settings.batch_size, inputs=_motion_facts,
    run=lambda lib, f, tick: previews.make_previews(f, lib.root / "previews", tick))
PLACES = StageSpec(
    "places", table="places", depends_on=("metadata",), reads_tags=True,
    version=lambda lib: f"1:{lib.settings.city_radius_km}:{lib.settings.geocoder}",
    batch=lambda lib: 5000, run=lambda lib, f, tick: lib.places.locate(f, tick))
FACES = StageSpec(
    "faces", writer=face_store.write_faces, depends_on=("metadata", "thumbnails"), reads_tags=True,
    reads_thumbnails=True, model=True, version=lambda lib: lib.faces.face_params().version(),
    run=lambda lib, f, tick: lib.faces.detect(f, tick))
PEOPLE = StageSpec("people", step=_people, unit="faces")
SEMANTIC = StageSpec(
    "semantic", table="embeddings", required="vector", depends_on=("thumbnails",),
    reads_thumbnails=True, model=True, version=lambda lib: f"1:{lib.semantic.clip_fingerprint()}",
    prepare=lambda lib: lib.semantic.clip_model(),
    run=lambda lib, f, tick: lib.semantic.embed(f, tick))
TAGS = StageSpec(
    "tags", table="scene_tags", writer="rows", rows_column="tags", depends_on=("semantic",),
    reads_vectors=True, version=lambda lib: lib.semantic.tags_version(), batch=lambda lib: 5000,
    prepare=lambda lib: lib.semantic.clip_model(),
    run=lambda lib, f, tick: lib.semantic.tag_photos(f, tick))
CAPTIONS = StageSpec(
    "captions", table="captions", required="caption", full_text=("captions_fts", "caption"),
    depends_on=("thumbnails",), reads_thumbnails=True, model=True, batch=lambda lib: 8,
    version=lambda lib: f"1:{lib.semantic.caption_params().fingerprint()}",
    prepare=lambda lib: lib.semantic.captioner(),
    run=lambda lib, f, tick: lib.semantic.caption(f, tick))

#: every stage and step, in the order ingest runs them
STAGES: tuple[StageSpec, ...] = (SCAN, METADATA, DATES, PAIRS, THUMBNAILS, HASHES, MOTION,
                                 PREVIEWS, PLACES, FACES, PEOPLE, SEMANTIC, TAGS, CAPTIONS)
STAGE_ORDER: tuple[str, ...] = tuple(s.name for s in STAGES)
BY_NAME: dict[str, StageSpec] = {s.name: s for s in STAGES}


def spec(name: str) -> StageSpec:
    """The declaration of the stage called `name` (a `KeyError` names the known ones)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown stage {name!r}; stages: {STAGE_ORDER}") from None


def dependents(name: str) -> tuple[str, ...]:
    """Stages that read `name`'s results (made stale when it reruns)."""
    return tuple(s.name for s in STAGES if name in s.depends_on)


@dataclass
class Stage:
    """A per-photo stage bound to one library: what the engines run."""

    spec: StageSpec
    version: str
    batch: int
    run: Callable[[pl.DataFrame, Tick], pl.DataFrame]
    prepare: Callable[[], object] | None = None

    @property
    def name(self) -> str:
        return self.spec.name


def bind(spec: StageSpec, lib: Library) -> Stage:
    """`spec` with its version, batch size and functions bound to `lib`."""
    assert spec.run is not None, f"{spec.name} is a library-wide step"
    run = spec.run

    def bound(frame: pl.DataFrame, tick: Tick) -> pl.DataFrame:
        if spec.inputs is not None:
            frame = spec.inputs(lib, frame)
        return run(lib, frame, tick)

    prepare: Any = spec.prepare
    return Stage(spec, spec.version(lib), spec.batch(lib), bound,
                 (lambda: prepare(lib)) if prepare is not None else None)
