"""The ingest service (`lib.ingest`; `lib.ingest(...)` is `ingest()`): scan the sources,
then run every stale stage of the registry in batches. Results are written through the
catalog one transaction per batch, so a killed run resumes where it stopped; the local engine
runs batches here, the Ray engine (`photolab.ray_engine`) on a cluster.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from . import materialised, uploads
from . import stages as registry
from .access import writes
from .context import Service
from .errors import PhotolabError, PhotoNotFoundError
from .media import metadata, pairs, scan, sidecars
from .progress import progress
from .stages import DATES, SCAN, Stage, bind, dependents, spec

if TYPE_CHECKING:
    from .context import Context
    from .library import Library


@dataclass
class IngestReport:
    """What one ingest did: counts per step, errors, seconds per stage."""

    job_id: int
    counts: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    orphans: list[str] = field(default_factory=list)
    #: seconds spent keeping the dashboards' first reads (large libraries; None: not done)
    kept_reads_s: float | None = None

    def __str__(self) -> str:
        c = self.counts
        lines = [f"ingest job {self.job_id}: {c.get('files', 0)} files scanned, "
                 f"{c.get('new', 0)} new, {c.get('changed', 0)} changed, "
                 f"{c.get('moved', 0)} moved, {c.get('missing', 0)} missing, "
                 f"{c.get('unchanged', 0)} unchanged"]
        for stage, secs in self.seconds.items():
            if stage in self.skipped:
                continue
            unit = spec(stage).unit
            done = c.get(f"{stage}_done", c.get("files", 0) if unit == "files" else 0)
            lines.append(f"  {stage:<10} {done:>7} {unit:<6} {secs:8.2f}s"
                         f"  {self.errors.get(stage, 0)} errors")
        for stage, why in self.skipped.items():  # the first sentence: the rest was printed
            lines.append(f"  {stage:<10} skipped: {why.split('. ')[0].rstrip('.')}")
        if self.orphans:
            shown = ", ".join(self.orphans[:5]) + (" ..." if len(self.orphans) > 5 else "")
            lines.append(f"  sidecars   {len(self.orphans)} name no photo here: {shown}")
        if self.kept_reads_s is not None:
            lines.append(f"  the dashboards' first reads kept in {self.kept_reads_s:.2f}s")
        return "\n".join(lines)


ADDED_SCHEMA = {"name": pl.String, "status": pl.String, "photo_id": pl.Int64,
                "path": pl.String, "reason": pl.String}


class IngestService(Service):
    """Running the stages (`lib.ingest`). It is the one service that uses the whole
    `Library`: each stage calls its own domain's service (`photolab.stages`)."""

    def __init__(self, ctx: Context, library: Library):
        super().__init__(ctx)
        self.library = library
        #: the engine of the ingest in progress (None: batches run in this process)
        self._engine: Any = None

    def __call__(self, roots: Iterable[str | os.PathLike[str]] | None = None,
                 skip: Iterable[str] = (), only: Iterable[str] | None = None,
                 show_progress: bool = True, engine: str = "local",
                 ray_address: str | None = None) -> IngestReport:
        return self.ingest(roots, skip, only, show_progress, engine, ray_address)

    # -- stages -----------------------------------------------------------------------------

    def exif_readers(self) -> list[metadata.ExifReader]:
        """Long-lived exiftool processes, one per core (started on first use)."""
        n = self.cpu_limit or os.cpu_count() or 1
        return self.loaded.get("exif", n, lambda: [metadata.ExifReader() for _ in range(n)],
                               lambda readers: [r.close() for r in readers])

    def stages(self) -> list[Stage]:
        """The per-photo stages, in the order ingest runs them, bound to this library (see
        `photolab.stages`)."""
        return [bind(s, self.library) for s in registry.STAGES if s.run is not None]

    def stage(self, name: str) -> Stage:
        """The stage called `name` (see `stages()`)."""
        found = registry.BY_NAME.get(name)
        if found is None or found.run is None:
            raise PhotolabError(f"unknown stage {name!r}")
        return bind(found, self.library)

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
        wanted = set(only) if only is not None else set(registry.STAGE_ORDER)
        wanted -= set(skip)
        unknown = wanted - set(registry.STAGE_ORDER)
        if unknown:
            raise PhotolabError(f"unknown stages {sorted(unknown)}; stages: {registry.STAGE_ORDER}")
        if SCAN.name in wanted and not roots:
            raise PhotolabError("no roots given and no sources in photolab.toml")
        if roots and set(roots) - set(self.settings.sources):
            self.settings.sources = sorted(set(self.settings.sources) | set(roots))
            self.settings.save(self.root)
        if engine not in ("local", "ray"):
            raise PhotolabError(f"engine {engine!r}: 'local' or 'ray'")
        if engine == "ray":
            from .ray_engine import RayEngine

            self._engine = RayEngine(self.library, ray_address)
        job = self.catalog.start_job("ingest", {"roots": roots, "stages": sorted(wanted),
                                                "engine": engine})
        report = IngestReport(job)
        status = "failed"
        try:
            for s in registry.STAGES:
                if s.name not in wanted or s.name in report.skipped:
                    continue
                t = time.perf_counter()
                if s.step is not None:
                    s.step(self.library, roots, report, show_progress)
                else:
                    self._run_stage(bind(s, self.library), report, show_progress)
                report.seconds[s.name] = time.perf_counter() - t
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
        if self.catalog.frame("SELECT count(*) FROM photos WHERE status = 'present'").item() \
                >= materialised.KEEP_AFTER_INGEST_PHOTOS:
            t = time.perf_counter()
            materialised.keep_reads(self.library)
            report.kept_reads_s = time.perf_counter() - t
        return report

    @writes
    def add_files(self, paths: Sequence[str | os.PathLike[str]], member: str | None = None,
                  names: Sequence[str] | None = None, keep_source: bool = True,
                  show_progress: bool = True, skip: Iterable[str] = (),
                  ingest: bool = True) -> pl.DataFrame:
        """Add photos and videos from elsewhere (a phone, a card, the served app's uploads)
        to the library: each is checked by content, stored once under
        `uploads/<member>/<YYYY>/<MM>/`, recorded as an `upload` decision, and ingested
        through every stage (`photolab.uploads`).

        Parameters
        ----------
        paths : the files.
        member : whose uploads they are (default: the member this library acts for, or who).
        names : the names to store them under (default: each file's own; an upload's name).
        keep_source : copy (True) or move (False: the upload handler's part files) them.
        skip : stages not to run on them now (a later ingest runs them).
        ingest : run the stages now (False: scanned only; the served app's uploads are
            ingested in the background).

        Returns
        -------
        One row per file: `name`, `status` ("added", "already": its content is in the
        library as `photo_id`, "refused": `reason`), `photo_id`, `path`, `reason`.
        """
        srcs = [Path(p) for p in paths]
        given = list(names) if names is not None else [p.name for p in srcs]
        if len(given) != len(srcs):
            raise PhotolabError("give one name per file")
        owner = uploads.check_name(member or self.member or self.who)
        s, root = self.settings, self.root
        out: list[uploads.Added | None] = [None] * len(srcs)
        todo: list[tuple[int, str, dict, str]] = []  # (index, hash, tags, extension)
        reader = self.exif_readers()[0]
        for i, (src, name) in enumerate(zip(srcs, given, strict=True)):
            try:
                uploads.check_name(name)
                size = src.stat().st_size
                (tags, error), = reader.read([os.fsencode(src)])
                why, ext = uploads.refuse_reason(tags, error, size, s.max_upload_mb,
                                                 uploads.free_bytes(root), s.extensions)
            except (PhotolabError, OSError) as e:
                why, ext, tags = str(e), "", None
            if why is not None:
                out[i] = uploads.Added(name, "refused", reason=why)
                if not keep_source:
                    src.unlink(missing_ok=True)
                continue
            todo.append((i, scan.hash_file(os.fsencode(src)), tags or {}, ext))
        placed: dict[str, tuple[int, Path]] = {}  # content hash -> the first file with it
        with uploads.locked(root):  # check, place and scan: one member at a time
            for i, digest, tags, ext in todo:
                known = self.catalog.frame(
                    "SELECT photo_id FROM photos WHERE content_hash = ? AND status = 'present' "
                    "ORDER BY photo_id LIMIT 1", [digest], schema={"photo_id": pl.Int64})
                if known.height or digest in placed:
                    out[i] = uploads.Added(given[i], "already", photo_id=(
                        int(known.item()) if known.height else None),
                        reason="already in the library")
                    if not keep_source:
                        srcs[i].unlink(missing_ok=True)
                    continue
                dest = uploads.destination(root, owner, tags, given[i], ext)
                uploads.move_into_place(srcs[i], dest, keep_source)
                placed[digest] = (i, dest)
            if placed:  # the placed files alone, not the whole uploads folder
                self.scan([str(p) for _, p in placed.values()], IngestReport(0), False)
                ids = dict(self.catalog.frame(
                    "SELECT content_hash, photo_id FROM photos WHERE status = 'present' AND "
                    "content_hash IN (SELECT value FROM json_each(?))",
                    [json.dumps(list(placed))]).iter_rows())
                decisions = [(ids[h], {"path": str(p), "name": given[i], "member": owner,
                                       "content_hash": h}) for h, (i, p) in placed.items()]
                self.catalog.add_decisions("upload", decisions, self.who)
                for h, (i, p) in placed.items():
                    out[i] = uploads.Added(given[i], "added", photo_id=int(ids[h]), path=str(p))
        for i, a in enumerate(out):  # a copy of one placed in this call: its photo now
            if a is not None and a.status == "already" and a.photo_id is None:
                h = next(d for j, d, _, _ in todo if j == i)
                out[i] = uploads.Added(a.name, "already", photo_id=out[placed[h][0]].photo_id,
                                       reason=a.reason)
        if placed and ingest:
            self.ingest([uploads.uploads_dir(root)], skip=skip, show_progress=show_progress)
        return pl.DataFrame([vars(a) for a in out], schema=ADDED_SCHEMA)

    def scan(self, roots: list[str], report: IngestReport, show: bool) -> None:
        s = self.settings
        found = scan.walk(roots, s.extensions, s.follow_symlinks, exclude=[self.root])
        # files alone (an upload): what the catalog knows of them, not of every file
        files_only = all(os.path.isfile(r) for r in roots)
        known = self.catalog.files(found["path_raw"].to_list() if files_only else None)
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
        stored = self.catalog.files(  # (read again: the new files are in it now)
            found["path_raw"].to_list() if files_only else None)
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
        todo = self.catalog.stale(stage.name, stage.version, with_tags=stage.spec.reads_tags)
        if todo.height and stage.prepare is not None:
            try:
                stage.prepare()
            except PhotolabError as e:  # a missing model: the other stages still run
                report.skipped[stage.name] = str(e)
                for later in dependents(stage.name):
                    report.skipped[later] = f"needs the {stage.name} stage"
                # the whole advice once, as it happens; the report's summary repeats its gist
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
        todo = self.catalog.stale(name, stage.version, stage.spec.reads_tags, photo_ids)
        outs = self._execute(stage, todo, show_progress)
        return pl.concat(outs) if outs else pl.DataFrame()

    # -- decisions that run a stage again ---------------------------------------------------

    @writes
    def set_date(self, photo_id: int, taken_at: datetime | str, who: str | None = None) -> None:
        """Record a person's capture date for a photo (wins over every computed rule); the
        dates stage runs again for it."""
        if self.catalog.frame("SELECT 1 FROM photos WHERE photo_id = ?",
                              [int(photo_id)]).height == 0:
            raise PhotoNotFoundError(f"no photo {photo_id} in {self.root}")
        value = taken_at.isoformat() if isinstance(taken_at, datetime) else str(taken_at)
        self.catalog.add_decision("date", int(photo_id), {"taken_at": value}, who or self.who)
        self.run_stage(DATES.name, [photo_id], show_progress=False)

    @writes
    def unpair(self, photo_id: int, who: str | None = None) -> int:
        """Take a RAW+JPEG pair apart (`photo_id`: either file): two photos from now on, the
        RAW's other stages run now (but those whose model is missing). A decision (`unpair`;
        `undo` pairs them again). Returns the decision's id."""
        pair = self.catalog.frame("SELECT photo_id, paired_to FROM photos WHERE paired_to IS "
                                  "NOT NULL AND ? IN (photo_id, paired_to)", [int(photo_id)])
        if pair.height == 0:
            raise PhotolabError(f"photo {photo_id} is not one of a RAW+JPEG pair")
        raw, jpeg = (int(x) for x in pair.row(0))
        decision = self.catalog.add_decision("unpair", raw, {"jpeg": jpeg}, who or self.who)
        pairs.update(self.catalog)
        for s in (s for s in registry.STAGES if s.run is not None and not s.paired):
            try:
                if s.prepare is not None:
                    s.prepare(self.library)
                self.run_stage(s.name, [raw], show_progress=False)
            except PhotolabError:  # its model is missing: the next ingest with it runs it
                continue
        self.library.faces.update_clusters()
        return decision
