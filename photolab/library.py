"""`Library`: the one object notebooks, widgets and the CLI use.

It finds what is new or changed, runs the stale stages in batches, writes results through
the catalog (one transaction per batch, so a killed run resumes where it stopped), and
reports progress.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from .access import writes
from .catalog import Catalog
from .curation.verbs import CurationVerbs
from .dedupe import hashing
from .dedupe.verbs import DuplicateVerbs
from .errors import PhotolabError, PhotoNotFoundError
from .faces.detect import FaceDetector, FaceParams, face_tasks
from .faces.verbs import PeopleVerbs
from .media import dates as dates_stage
from .media import metadata, motion, scan, sidecars, thumbnails
from .places.compute import compute_places
from .places.online import OnlineGeocoder
from .places.verbs import PlaceVerbs
from .progress import progress
from .semantic.verbs import SearchVerbs
from .settings import Settings

CATALOG_FILE = "catalog.sqlite"
STAGE_ORDER = ("scan", "metadata", "dates", "thumbnails", "hashes", "motion", "places", "faces",
               "people", "semantic", "tags", "captions")


@dataclass
class Stage:
    """A stage as the library runs it: a name, a version, and a frame -> frame function."""

    name: str
    version: str
    run: Callable[[pl.DataFrame, Callable[[int], None]], pl.DataFrame]
    batch: int
    with_tags: bool = False
    #: called before the stage runs; a `PhotolabError` it raises (a model that is not there)
    #: skips the stage for this run, with the reason in the report
    prepare: Callable[[], object] | None = None


@dataclass
class IngestReport:
    """What one ingest did: counts per step, errors, seconds per stage."""

    job_id: int
    counts: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    orphans: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        c = self.counts
        lines = [f"ingest job {self.job_id}: {c.get('files', 0)} files scanned, "
                 f"{c.get('new', 0)} new, {c.get('changed', 0)} changed, "
                 f"{c.get('moved', 0)} moved, {c.get('missing', 0)} missing, "
                 f"{c.get('unchanged', 0)} unchanged"]
        for stage, secs in self.seconds.items():
            if stage in self.skipped:
                continue
            done = c.get(f"{stage}_done", c.get("files", 0) if stage == "scan" else 0)
            unit = "faces " if stage == "people" else "photos"
            lines.append(f"  {stage:<10} {done:>7} {unit} {secs:8.2f}s"
                         f"  {self.errors.get(stage, 0)} errors")
        for stage, why in self.skipped.items():
            lines.append(f"  {stage:<10} skipped: {why}")
        if self.orphans:
            shown = ", ".join(self.orphans[:5]) + (" ..." if len(self.orphans) > 5 else "")
            lines.append(f"  sidecars   {len(self.orphans)} name no photo here: {shown}")
        return "\n".join(lines)


class Library(DuplicateVerbs, PeopleVerbs, PlaceVerbs, SearchVerbs, CurationVerbs):
    """A photo library folder: `photolab.toml`, `catalog.sqlite`, `thumbs/`.

    Parameters
    ----------
    path : the library folder; created when missing.
    who : the name decisions are recorded under (default: the OS user).
    date_rules : ordered date rules (default `photolab.media.dates.DEFAULT_RULES`).
    read_only : refuse every change (default: on when $PHOTOLAB_READONLY is set).

    Example
    -------
    >>> import tempfile
    >>> lib = Library(tempfile.mkdtemp())
    >>> lib.photos().columns[:3]
    ['photo_id', 'path', 'size_bytes']
    """

    def __init__(self, path: str | os.PathLike[str], who: str | None = None,
                 date_rules: Sequence[dates_stage.DateRule] | None = None,
                 read_only: bool | None = None):
        self.root = Path(path).expanduser().resolve()
        if read_only is None:  # `photolab serve --read-only` sets it for its dashboards
            read_only = os.environ.get("PHOTOLAB_READONLY", "") not in ("", "0")
        self.read_only = read_only
        if not read_only:
            self.root.mkdir(parents=True, exist_ok=True)
        elif not (self.root / CATALOG_FILE).exists():
            raise PhotolabError(f"no library at {self.root}")
        self.settings = Settings.load(self.root)
        self.catalog = Catalog(self.root / CATALOG_FILE, read_only=read_only)
        self.thumbs_dir = self.root / "thumbs"
        self.who = who or getpass.getuser()
        self.date_rules = list(date_rules) if date_rules is not None else None
        self._exif: list[metadata.ExifReader] = []
        self._faces: FaceDetector | None = None
        self._clip = self._index = self._labels = self._captioner = None
        #: processes and threads a stage may use (None: every core); Ray workers set 1
        self.cpu_limit: int | None = None
        self._engine: Any = None
        self.last_decisions: list[int] = []

    def __repr__(self) -> str:
        return f"Library({str(self.root)!r})"

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for reader in self._exif:
            reader.close()
        self._exif = []
        if self._faces is not None:
            self._faces.close()
            self._faces = None
        if self._captioner is not None:
            self._captioner.llm.close()
            self._captioner = None
        self.catalog.close()

    # -- stages -----------------------------------------------------------------------------

    def _exif_readers(self) -> list[metadata.ExifReader]:
        """Long-lived exiftool processes, one per core (started on first use)."""
        if not self._exif:
            self._exif = [metadata.ExifReader()
                          for _ in range(self.cpu_limit or os.cpu_count() or 1)]
        return self._exif

    def stages(self) -> list[Stage]:
        """The stages after scan, in the order ingest runs them."""
        s = self.settings
        return [
            Stage("metadata", "3", lambda f, tick: metadata.read_metadata(
                f, self._exif_readers(), s.batch_size, tick), s.batch_size * 4),
            Stage("dates", "1", self._run_dates, 5000, with_tags=True),
            Stage("thumbnails", f"1:{json.dumps(s.thumb_sizes)}:{s.thumb_quality}",
                  lambda f, tick: thumbnails.make_thumbnails(
                      f, self.thumbs_dir, s.thumb_sizes, s.thumb_quality, s.thumb_effort,
                      s.workers, s.max_pixels, tick), s.batch_size),
            Stage("hashes", "2", lambda f, tick: hashing.compute_hashes(
                f, self.thumbs_dir, s.workers, tick), s.batch_size * 4),
            Stage("motion", "1", motion.find_motion_videos, s.batch_size * 4),
            Stage("places", f"1:{s.city_radius_km}:{s.geocoder}", self._run_places, 5000,
                  with_tags=True),
            Stage("faces", self.face_params().version(), self._run_faces, s.batch_size,
                  with_tags=True),
            Stage("semantic", f"1:{self.clip_fingerprint()}", self._run_semantic,
                  s.batch_size, prepare=self.clip_model),
            Stage("tags", self.tags_version(), self._run_tags, 5000, prepare=self.clip_model),
            Stage("captions", f"1:{self.caption_params().fingerprint()}", self._run_captions,
                  8, prepare=self.captioner),
        ]

    def stage(self, name: str) -> Stage:
        """The stage called `name` (see `stages()`)."""
        found = next((s for s in self.stages() if s.name == name), None)
        if found is None:
            raise PhotolabError(f"unknown stage {name!r}")
        return found

    def _run_captions(self, frame: pl.DataFrame, tick: Callable[[int], None]) -> pl.DataFrame:
        from .semantic.captions import caption_photos

        return caption_photos(frame, self.thumbs_dir, "small", self.captioner(), tick)

    def _run_semantic(self, frame: pl.DataFrame, tick: Callable[[int], None]) -> pl.DataFrame:
        from .semantic.embed import embed_photos

        return embed_photos(frame, self.thumbs_dir, "small", self.clip_model(), tick)

    def _run_places(self, frame: pl.DataFrame, tick: Callable[[int], None]) -> pl.DataFrame:
        s = self.settings
        online = (OnlineGeocoder(s.geocoder, dict(s.geocoder_options), s.geocoder_min_delay_s)
                  if s.geocoder else None)
        out = compute_places(frame, online, self.catalog.geocode_cached,
                             self.catalog.geocode_store, s.city_radius_km)
        tick(frame.height)
        return out

    def face_params(self) -> FaceParams:
        """Face detection settings from `photolab.toml`."""
        s = self.settings
        return FaceParams(model=s.face_model, upsample=s.face_upsample,
                          image_size=s.face_image_size, min_face_px=s.face_min_size,
                          jitters=s.face_jitters, models_dir=s.face_models_dir or None)

    def _run_faces(self, frame: pl.DataFrame, tick: Callable[[int], None]) -> pl.DataFrame:
        params = self.face_params()
        if self._faces is None or self._faces.params != params:
            if self._faces is not None:
                self._faces.close()
            self._faces = FaceDetector(params, self.cpu_limit or os.cpu_count())
        tasks = face_tasks(frame, self.thumbs_dir, self.settings.thumb_sizes, params)
        return self._faces.detect(tasks, tick)

    def _run_dates(self, frame: pl.DataFrame, tick: Callable[[int], None]) -> pl.DataFrame:
        if "user_date" not in frame.columns:  # (a Ray worker may be handed them)
            user = self.catalog.latest_decisions("date").select(
                "photo_id", user_date=pl.col("value").str.json_path_match("$.taken_at"))
            frame = frame.join(user, on="photo_id", how="left")
        out = dates_stage.extract_dates(frame, self.date_rules)
        tick(frame.height)
        return out

    # -- ingest -----------------------------------------------------------------------------

    @writes
    def ingest(self, roots: Iterable[str | os.PathLike[str]] | None = None,
               skip: Iterable[str] = (), only: Iterable[str] | None = None,
               show_progress: bool = True, engine: str = "local",
               ray_address: str | None = None) -> IngestReport:
        """Scan `roots` (default: the library's `sources`) and run every stale stage.

        Parameters
        ----------
        roots : folders or files; remembered in `photolab.toml` as the library's sources.
        skip : stage names not to run this time.
        only : run just these stages.
        show_progress : bars in notebooks and terminals, plain lines in logs.
        engine : "local" (this process and its worker pools) or "ray" (stages as Ray tasks
            and actors; this process scans and writes the catalog; see `photolab.ray_engine`).
        ray_address : with engine="ray", the cluster ("auto", "HOST:PORT"); None starts Ray
            on this machine.

        Returns
        -------
        An `IngestReport`; the same counts are stored in the `jobs` table.
        """
        roots = [str(Path(r).expanduser().resolve()) for r in (roots or self.settings.sources)]
        wanted = set(only) if only is not None else set(STAGE_ORDER)
        wanted -= set(skip)
        unknown = wanted - set(STAGE_ORDER)
        if unknown:
            raise PhotolabError(f"unknown stages {sorted(unknown)}; stages: {STAGE_ORDER}")
        if "scan" in wanted and not roots:
            raise PhotolabError("no roots given and no sources in photolab.toml")
        if roots and set(roots) - set(self.settings.sources):
            self.settings.sources = sorted(set(self.settings.sources) | set(roots))
            self.settings.save(self.root)
        if engine not in ("local", "ray"):
            raise PhotolabError(f"engine {engine!r}: 'local' or 'ray'")
        if engine == "ray":
            from .ray_engine import RayEngine

            self._engine = RayEngine(self, ray_address)
        job = self.catalog.start_job("ingest", {"roots": roots, "stages": sorted(wanted),
                                                "engine": engine})
        report = IngestReport(job)
        status = "failed"
        try:
            if "scan" in wanted:
                t = time.perf_counter()
                self._scan(roots, report, show_progress)
                report.seconds["scan"] = time.perf_counter() - t
            for stage in self.stages():
                if stage.name in wanted and stage.name not in report.skipped:
                    t = time.perf_counter()
                    self._run_stage(stage, report, show_progress)
                    report.seconds[stage.name] = time.perf_counter() - t
            if "people" in wanted:
                t = time.perf_counter()
                report.counts["people_done"] = self._update_clusters()
                report.seconds["people"] = time.perf_counter() - t
            status = "done"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
            self.catalog.finish_job(job, status, report.counts, sum(report.errors.values()),
                                    report.seconds)
        return report

    def _scan(self, roots: list[str], report: IngestReport, show: bool) -> None:
        s = self.settings
        found = scan.walk(roots, s.extensions, s.follow_symlinks, exclude=[self.root])
        known = self.catalog.files()
        prefixes = [os.fsencode(r.rstrip("/") + "/") for r in roots]
        exact = [os.fsencode(r) for r in roots]
        under = pl.any_horizontal(
            [pl.col("path_raw").bin.starts_with(p) for p in prefixes]
            + [pl.col("path_raw") == e for e in exact])
        known_here = known.filter(under)
        gone = known_here.filter(pl.col("status") == "present").join(
            found.select("path_raw"), on="path_raw", how="anti")
        report.counts["files"] = found.height
        self.catalog.mark_missing(gone["photo_id"].to_list())
        joined = found.join(known_here, on="path_raw", how="left")
        same = joined.filter(
            (pl.col("size_bytes") == pl.col("size_bytes_right"))
            & (pl.col("mtime_ns") == pl.col("mtime_ns_right"))
            & pl.col("content_hash").is_not_null() & pl.col("error").is_null())
        self.catalog.touch(same["photo_id"].to_list())
        report.counts["unchanged"] = same.height
        todo = found.join(same.select("path_raw"), on="path_raw", how="anti")
        for key in ("new", "moved", "changed"):
            report.counts[key] = 0
        errors = 0
        moved: list[int] = []
        with progress(todo.height, "scan+hash", show) as bar:
            for batch in todo.iter_slices(s.batch_size * 4):
                hashed = scan.hash_files(batch, s.workers, bar.update)
                errors += hashed["error"].is_not_null().sum()
                counts, moved_ids = self.catalog.register(hashed)
                moved += moved_ids
                for k, v in counts.items():
                    report.counts[k] += v
        report.errors["scan"] = int(errors)
        report.orphans = [os.fsdecode(o) for o in sidecars.orphans(
            found["path_raw"].to_list(), s.extensions)]
        report.counts["orphan_sidecars"] = len(report.orphans)
        # a sidecar added, edited or removed: read the photo's metadata again
        sigs = found.select("path_raw", sidecar_sig=pl.Series(
            sidecars.signatures(found["path_raw"].to_list()), dtype=pl.String))
        stored = self.catalog.frame("SELECT photo_id, path_raw, sidecar_sig FROM photos",
                                    schema={"photo_id": pl.Int64, "path_raw": pl.Binary,
                                            "sidecar_sig": pl.String})
        edited = stored.join(sigs, on="path_raw", suffix="_now").filter(
            pl.col("sidecar_sig").ne_missing(pl.col("sidecar_sig_now")))
        if edited.height:
            self.catalog.set_sidecar_sigs(edited.select("photo_id", "sidecar_sig_now").rows())
        # files gone from this scan that no new path took over
        report.counts["missing"] = gone.filter(~pl.col("photo_id").is_in(moved)).height

    def _execute(self, stage: Stage, todo: pl.DataFrame, show: bool) -> list[pl.DataFrame]:
        """Run a stage over `todo` in batches, storing each batch in its own transaction."""
        def write(batch: pl.DataFrame, out: pl.DataFrame) -> None:
            hashes = dict(zip(batch["photo_id"], batch["content_hash"], strict=True))
            self.catalog.write_stage(stage.name, stage.version, out, hashes)

        outs = []
        with progress(todo.height, stage.name, show) as bar:
            if self._engine is not None:
                return self._engine.execute(stage, todo, write, bar.update)
            for batch in todo.iter_slices(stage.batch):
                out = stage.run(batch, bar.update)
                write(batch, out)
                outs.append(out)
        return outs

    def _run_stage(self, stage: Stage, report: IngestReport, show: bool) -> None:
        todo = self.catalog.stale(stage.name, stage.version, with_tags=stage.with_tags)
        if todo.height and stage.prepare is not None:
            try:
                stage.prepare()
            except PhotolabError as e:  # a missing model: the other stages still run
                report.skipped[stage.name] = str(e)
                if stage.name == "semantic":
                    report.skipped["tags"] = "needs the semantic stage"
                print(f"{stage.name}: skipped: {e}", file=sys.stderr, flush=True)
                return
        outs = self._execute(stage, todo, show)
        report.counts[f"{stage.name}_done"] = sum(o.height for o in outs)
        report.errors[stage.name] = sum(int(o["error"].is_not_null().sum()) for o in outs)

    @writes
    def run_stage(self, name: str, photo_ids: Sequence[int] | None = None,
                  show_progress: bool = True) -> pl.DataFrame:
        """Run one stage now on stale photos (or on `photo_ids`, forced) and store it."""
        stage = self.stage(name)
        if photo_ids is not None:
            self.catalog.invalidate(name, photo_ids)
        todo = self.catalog.stale(name, stage.version, stage.with_tags, photo_ids)
        outs = self._execute(stage, todo, show_progress)
        return pl.concat(outs) if outs else pl.DataFrame()

    # -- reading ----------------------------------------------------------------------------

    def photos(self, include_missing: bool = False) -> pl.DataFrame:
        """One row per photo, with media facts, dates, motion, curation (`keywords`, `rating`,
        `title`, `description`, `favorite`, `albums`, `people`: what the file and its sidecar
        say, with people's decisions applied) and `error` (null when fine)."""
        where = "" if include_missing else "WHERE p.status = 'present'"
        f = self.catalog.frame(f"""
            SELECT p.photo_id, p.path, p.size_bytes, m.mime, m.width, m.height,
                   d.taken_at, d.taken_at_utc, d.tz_offset, d.taken_at_source,
                   m.lat, m.lon, m.camera_make, m.camera_model, m.orientation, m.duration_s,
                   mo.has_motion_video, p.content_hash, p.status, p.scan_error,
                   m.keywords, m.rating, m.title, m.description, m.file_people,
                   m.favorite AS file_favorite, m.albums,
                   (SELECT group_concat(s.stage || ': ' || s.error, '; ') FROM stage_runs s
                     WHERE s.photo_id = p.photo_id AND s.error IS NOT NULL) AS stage_errors
            FROM photos p LEFT JOIN media m USING (photo_id) LEFT JOIN dates d USING (photo_id)
            LEFT JOIN motion mo USING (photo_id) {where} ORDER BY p.photo_id""",
            schema=PHOTO_SQL_SCHEMA)
        return f.with_columns(
            taken_at=pl.col("taken_at").str.to_datetime(time_unit="us", strict=False),
            taken_at_utc=pl.col("taken_at_utc").str.to_datetime(time_unit="us", strict=False)
            .dt.replace_time_zone("UTC"),
            has_motion_video=pl.col("has_motion_video").cast(pl.Boolean),
            error=pl.concat_str([pl.format("scan: {}", "scan_error"), "stage_errors"],
                                separator="; ", ignore_nulls=True).replace("", None),
        ).drop("scan_error", "stage_errors").pipe(self.curation)

    def tags(self, photo_ids: Sequence[int] | None = None) -> pl.DataFrame:
        """Every exiftool tag per photo: `photo_id`, `tags` (JSON). Query one with
        `photolab.media.metadata.tag("EXIF:FNumber")`."""
        f = self.catalog.frame("SELECT photo_id, tags FROM media ORDER BY photo_id",
                               schema={"photo_id": pl.Int64, "tags": pl.String})
        return f if photo_ids is None else f.filter(pl.col("photo_id").is_in(photo_ids))

    def jobs(self) -> pl.DataFrame:
        """The `jobs` table: one row per ingest, with counts, errors and seconds per stage."""
        self.catalog.reap_jobs()
        return self.catalog.jobs()

    def _photo(self, photo_id: int) -> dict[str, Any]:
        row = self.catalog.frame(
            "SELECT p.photo_id, p.path_raw, p.content_hash, m.mime, mo.has_motion_video, "
            "mo.motion_offset, mo.motion_length FROM photos p LEFT JOIN media m USING (photo_id) "
            "LEFT JOIN motion mo USING (photo_id) WHERE p.photo_id = ?", [int(photo_id)])
        if row.height == 0:
            raise PhotoNotFoundError(f"no photo {photo_id} in {self.root}")
        return row.row(0, named=True)

    def thumbnail(self, photo_id: int, size: str = "small") -> Path:
        """Path of a photo's WebP thumbnail ("big", "small" or "tiny")."""
        if size not in self.settings.thumb_sizes:
            raise PhotolabError(f"unknown size {size!r}; sizes: {list(self.settings.thumb_sizes)}")
        p = self._photo(photo_id)
        path = thumbnails.thumb_path(self.thumbs_dir, p["content_hash"], size)
        if not path.exists():
            raise PhotolabError(f"photo {photo_id} has no {size} thumbnail (see its error)")
        return path

    def motion_video(self, photo_id: int) -> Path:
        """Extract the video embedded in a motion photo; returns the cached MP4's path (in
        the library, or in a temporary folder when the library is read-only)."""
        p = self._photo(photo_id)
        if not p["has_motion_video"]:
            raise PhotolabError(f"photo {photo_id} is not a motion photo")
        # a read-only library's folder stays untouched: a guest's copy goes to a temp cache
        cache = (Path(tempfile.gettempdir()) / f"photolab-motion-{os.getuid()}"
                 if self.read_only else self.root / "motion")
        dest = cache / f"{p['content_hash']}.mp4"
        if dest.exists():
            return dest
        return motion.extract_motion_video(p["path_raw"], p["motion_offset"],
                                           p["motion_length"], dest)

    # -- decisions --------------------------------------------------------------------------

    @writes
    def set_date(self, photo_id: int, taken_at: datetime | str, who: str | None = None) -> None:
        """Record a person's capture date for a photo (wins over every computed rule)."""
        self._photo(photo_id)
        value = taken_at.isoformat() if isinstance(taken_at, datetime) else str(taken_at)
        self.catalog.add_decision("date", int(photo_id), {"taken_at": value}, who or self.who)
        self.run_stage("dates", [photo_id], show_progress=False)

    def decisions(self, kind: str | None = None) -> pl.DataFrame:
        """Every decision people made, oldest first, with who and when."""
        return self.catalog.decisions(kind)


PHOTO_SQL_SCHEMA = {
    "photo_id": pl.Int64, "path": pl.String, "size_bytes": pl.Int64, "mime": pl.String,
    "width": pl.Int64, "height": pl.Int64, "taken_at": pl.String, "taken_at_utc": pl.String,
    "tz_offset": pl.String, "taken_at_source": pl.String, "lat": pl.Float64, "lon": pl.Float64,
    "camera_make": pl.String, "camera_model": pl.String, "orientation": pl.Int64,
    "duration_s": pl.Float64, "has_motion_video": pl.Int64, "content_hash": pl.String,
    "status": pl.String, "scan_error": pl.String, "stage_errors": pl.String,
    "keywords": pl.String, "rating": pl.Int64, "title": pl.String, "description": pl.String,
    "file_people": pl.String, "file_favorite": pl.Int64, "albums": pl.String,
}
