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
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from .errors import PhotolabError

if TYPE_CHECKING:
    from .library import Library, Stage

#: stages whose model is loaded once per worker (an actor) rather than once per batch
MODEL_STAGES = ("faces", "semantic", "captions")


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
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count(), **kwargs)
    return ray


def _worker_library(root: str) -> Library:
    """The library as a worker sees it: read-only, one thread and one process per stage (Ray
    gives each task or actor one CPU)."""
    from .library import Library

    lib = Library(root, read_only=True)
    lib.settings.workers = 1
    lib.cpu_limit = 1
    return lib


def run_stage_batch(root: str, name: str, batch: pl.DataFrame) -> pl.DataFrame:
    """One batch of one CPU stage, in a fresh read-only library (a Ray task's body)."""
    lib = _worker_library(root)
    try:
        return lib.stage(name).run(batch, lambda n: None)
    finally:
        lib.close()


class StageActor:
    """A worker that keeps one library (and so its loaded models) across batches."""

    def __init__(self, root: str):
        self.lib = _worker_library(root)

    def run(self, name: str, batch: pl.DataFrame) -> pl.DataFrame:
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
    library : the driver's Library (read/write).
    address : a Ray address ("auto", "HOST:PORT"); None starts Ray on this machine.
    batch_size : photos per Ray task (default: the stage's own batch).
    """

    def __init__(self, library: Library, address: str | None = None,
                 batch_size: int | None = None):
        self.lib, self.address, self.batch_size = library, address, batch_size
        self.ray = start(address)
        remote = self.ray.remote
        self._task = remote(max_retries=3, num_cpus=1)(run_stage_batch)
        self._actor_class = remote(max_restarts=3, max_task_retries=3, num_cpus=1)(StageActor)
        self._probe = remote(num_cpus=0)(_probe)
        self._actors: dict[str, list[Any]] = {}
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
            actors = [self._actor_class.remote(str(self.lib.root)) for _ in range(self.cpus())]
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
        pending: dict[Any, pl.DataFrame] = {}
        if stage.name in MODEL_STAGES:
            actors = self._pool(stage.name)
            for i, batch in enumerate(batches):
                pending[actors[i % len(actors)].run.remote(stage.name, batch)] = batch
        else:
            root = str(self.lib.root)
            for batch in batches:
                pending[self._task.remote(root, stage.name, batch)] = batch
        outs = []
        try:
            while pending:
                done, _ = self.ray.wait(list(pending), num_returns=1)
                for ref in done:
                    batch = pending.pop(ref)
                    out = self.ray.get(ref)
                    write(batch, out)
                    outs.append(out)
                    tick(batch.height)
        finally:
            for ref in pending:
                self.ray.cancel(ref)
            self.close()  # a model stage's actors hold CPUs the next stage needs
        return outs

    def close(self) -> None:
        for actors in self._actors.values():
            for a in actors:
                self.ray.kill(a)
        self._actors = {}
