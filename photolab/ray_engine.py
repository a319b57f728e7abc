"""Run the ingest's stages on Ray: the same pure stage functions, more machines.

The driver (the process that called `Library.ingest(engine="ray")`) scans, asks the catalog
what is stale, cuts it into batches and writes every result. Workers never write the catalog:
CPU stages run as Ray tasks, each opening the library read-only; model stages (faces, CLIP,
captions) run on actors that load their model once and keep it. Results stream back and are
written as they arrive, so a stopped driver resumes like a local run, and a killed worker costs
Ray a retry of its batch (tasks: `max_retries`; actors: restarted, their calls retried).

Workers write thumbnails straight into the library folder, so the library must be on a
filesystem every node sees (NFS, CephFS, a cloud file share); `check_shared_library` probes it
before any work is sent. Nothing here is imported unless `engine="ray"` is asked for.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from .errors import PhotolabError
from .stages import Stage, spec


class Host(Protocol):
    """What the engine needs of a library (`photolab.Library` is one). The driver ships its
    class to the workers, which open their own; this module never imports it."""

    root: Path
    settings: Any
    thumbs_dir: Path
    cpu_limit: int | None

    def stage(self, name: str) -> Stage: ...
    def close(self) -> None: ...


#: how a worker opens a library: (root, read_only=...) -> Host
Opener = Any


def _ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise PhotolabError("engine='ray' needs the ray extra: pip install 'photolab[ray]'"
                            ) from e
    return ray


def start(address: str | None = None, num_cpus: int | None = None) -> Any:
    """Connect to Ray at `address` ("auto", "HOST:PORT"), or start a local Ray on this
    machine's cores when `address` is None. Returns the `ray` module."""
    ray = _ray()
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "configure_logging": False}
        if address:
            try:
                ray.init(address=address, **kwargs)
            except ConnectionError as e:
                raise PhotolabError(
                    f"could not connect to the Ray cluster at {address}: {e}. Ray clusters "
                    "use token authentication: set RAY_AUTH_MODE=token and put the head's "
                    "~/.ray/auth_token on this machine, or run with --ray-address auto on a "
                    "machine of the cluster") from e
        else:  # "local": a Ray of its own, even where `ray start` left a cluster running
            ray.init(address="local", num_cpus=num_cpus or os.cpu_count(), **kwargs)
    return ray


def _worker_library(opener: Opener, root: str) -> Host:
    """The library as a worker sees it: read-only, one thread and one process per stage (Ray
    gives each task or actor one CPU)."""
    lib = opener(root, read_only=True)
    lib.settings.workers = 1
    lib.cpu_limit = 1
    return lib


def _private_library(opener: Opener, settings: Any) -> Host:
    """A throw-away library on the worker (a temporary folder with the driver's settings), for
    workers that cannot see the real one: thumbnails come and go as bytes."""
    import tempfile

    lib = opener(tempfile.mkdtemp(prefix="photolab-worker-"), read_only=False)
    lib.settings = settings
    lib.settings.workers = 1
    lib.cpu_limit = 1
    return lib


def thumb_files(thumbs_dir: Path, hashes: Any, sizes: Any) -> dict[str, bytes]:
    """The thumbnails of these content hashes, as {path relative to thumbs_dir: bytes}."""
    from .media.thumbnails import thumb_path

    out = {}
    for h in {h for h in hashes if h}:
        for size in sizes:
            p = thumb_path(thumbs_dir, h, size)
            if p.exists():
                out[str(p.relative_to(thumbs_dir))] = p.read_bytes()
    return out


def put_files(thumbs_dir: Path, files: dict[str, bytes]) -> None:
    """Write shipped thumbnails under thumbs_dir (each atomically)."""
    for rel, data in files.items():
        path = thumbs_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(path)


def _run_private(lib: Host, name: str, batch: pl.DataFrame, files: dict[str, bytes]
                 ) -> tuple[pl.DataFrame, dict[str, bytes]]:
    put_files(lib.thumbs_dir, files)
    try:
        out = lib.stage(name).run(batch, lambda n: None)
        made = (thumb_files(lib.thumbs_dir, batch["content_hash"], lib.settings.thumb_sizes)
                if spec(name).makes_thumbnails else {})
    finally:
        shutil.rmtree(lib.thumbs_dir, ignore_errors=True)
    return out, made


def run_stage_batch(opener: Opener, root: str, name: str, batch: pl.DataFrame,
                    settings: Any = None, files: dict[str, bytes] | None = None) -> Any:
    """One batch of one CPU stage (a Ray task's body): in a read-only view of the shared
    library, or, given `settings`, in a private one (returns the frame and new thumbnails)."""
    if settings is not None:
        lib = _private_library(opener, settings)
        try:
            return _run_private(lib, name, batch, files or {})
        finally:
            lib.close()
            shutil.rmtree(lib.root, ignore_errors=True)
    lib = _worker_library(opener, root)
    try:
        return lib.stage(name).run(batch, lambda n: None)
    finally:
        lib.close()


class StageActor:
    """A worker that keeps one library (and so its loaded models) across batches."""

    def __init__(self, opener: Opener, root: str, settings: Any = None):
        self.private = settings is not None
        self.lib = (_private_library(opener, settings) if self.private
                    else _worker_library(opener, root))

    def run(self, name: str, batch: pl.DataFrame,
            files: dict[str, bytes] | None = None) -> Any:
        if self.private:
            return _run_private(self.lib, name, batch, files or {})
        return self.lib.stage(name).run(batch, lambda n: None)

    def prepare(self, name: str) -> bool:
        """Load the stage's model now (so the first batch is not the one to pay)."""
        prepare = self.lib.stage(name).prepare
        if prepare is not None:
            prepare()
        return True


def _probe(root: str, token: str) -> bool:
    return (Path(root) / token).exists()


class RayEngine:
    """Runs a library's stale stages on Ray; the driver writes the catalog.

    Parameters
    ----------
    library : the driver's Library (read/write); workers open theirs with its class.
    address : a Ray address ("auto", "HOST:PORT"); None starts Ray on this machine.
    batch_size : photos per Ray task (default: the stage's own batch).
    """

    def __init__(self, library: Host, address: str | None = None,
                 batch_size: int | None = None):
        self.lib, self.address, self.batch_size = library, address, batch_size
        self.opener: Opener = type(library)
        #: workers see the library folder (default) or get thumbnails shipped as bytes
        self.shared = library.settings.ray_shared_library
        self.ray = start(address)
        remote = self.ray.remote
        self._task = remote(max_retries=3, num_cpus=1)(run_stage_batch)
        self._actor_class = remote(max_restarts=3, max_task_retries=3, num_cpus=1)(StageActor)
        self._probe = remote(num_cpus=0)(_probe)
        self._actors: dict[str, list[Any]] = {}
        if self.shared:
            self.check_shared_library()

    def cpus(self) -> int:
        return max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def check_shared_library(self) -> None:
        """Fail early when workers cannot see the library folder (they write thumbnails)."""
        token = f".ray-probe-{uuid.uuid4().hex}"
        path = self.lib.root / token
        path.write_text("photolab")
        try:
            nodes = [n for n in self.ray.nodes() if n.get("Alive")]
            refs = [self._probe.options(resources={f"node:{n['NodeManagerAddress']}": 0.001})
                    .remote(str(self.lib.root), token) for n in nodes]
            seen = self.ray.get(refs)
        finally:
            path.unlink(missing_ok=True)
        if not all(seen):
            raise PhotolabError(
                f"{self.lib.root} is not visible from every Ray node: put the library on a "
                "filesystem all nodes mount at the same path (NFS, CephFS, a cloud share)")

    def _pool(self, name: str) -> list[Any]:
        if name not in self._actors:
            settings = None if self.shared else self.lib.settings
            actors = [self._actor_class.remote(self.opener, str(self.lib.root), settings)
                      for _ in range(self.cpus())]
            self.ray.get([a.prepare.remote(name) for a in actors])
            self._actors[name] = actors
        return self._actors[name]

    def execute(self, stage: Stage, todo: pl.DataFrame,
                write: Callable[[pl.DataFrame, pl.DataFrame], None],
                tick: Callable[[int], None]) -> list[pl.DataFrame]:
        """Run `stage` over `todo` in batches on Ray; `write(batch, result)` stores each
        result on the driver as it arrives. Returns the results, in arrival order."""
        size = self.batch_size or stage.batch
        batches = list(todo.iter_slices(size))
        if not batches:
            return []
        # a stage that reads the catalog's vectors, or writes files into the library, runs
        # here when workers cannot see the library
        if not self.shared and (stage.spec.reads_vectors or stage.spec.makes_files):
            outs = []
            for batch in batches:
                out = stage.run(batch, tick)
                write(batch, out)
                outs.append(out)
            return outs
        pending: dict[Any, pl.DataFrame] = {}
        for i, batch in enumerate(batches):
            args = self._private_args(stage, batch) if not self.shared else ()
            # what the stage needs from the catalog (people's dates) is added here, so
            # workers never read the catalog for it
            inputs = stage.spec.inputs
            batch_in = inputs(self.lib, batch) if inputs is not None else batch
            if stage.spec.model:  # loaded once per worker: an actor
                actors = self._pool(stage.name)
                ref = actors[i % len(actors)].run.remote(stage.name, batch_in, *args[1:])
            else:
                ref = self._task.remote(self.opener, str(self.lib.root), stage.name, batch_in,
                                        *args)
            pending[ref] = batch
        outs = []
        try:
            while pending:
                done, _ = self.ray.wait(list(pending), num_returns=1)
                for ref in done:
                    batch = pending.pop(ref)
                    out = self.ray.get(ref)
                    if not self.shared:  # (frame, new thumbnails): the driver stores both
                        out, made = out
                        put_files(self.lib.thumbs_dir, made)
                    write(batch, out)
                    outs.append(out)
                    tick(batch.height)
        finally:
            for ref in pending:
                self.ray.cancel(ref)
            self.close()  # a model stage's actors hold CPUs the next stage needs
        return outs

    def _private_args(self, stage: Stage, batch: pl.DataFrame) -> tuple[Any, ...]:
        """What a worker that cannot see the library needs: the settings, and the thumbnails
        of the batch for stages that read them."""
        files = (thumb_files(self.lib.thumbs_dir, batch["content_hash"],
                             self.lib.settings.thumb_sizes)
                 if stage.spec.reads_thumbnails else {})
        return (self.lib.settings, files)

    def close(self) -> None:
        for actors in self._actors.values():
            for a in actors:
                self.ray.kill(a)
        self._actors = {}
