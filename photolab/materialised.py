"""Verb results kept for the catalog generation they were computed at.

Reading a large library is mostly the same answer again: a dashboard kernel asks `photos()`
on every page, five family members open the same pages, a notebook re-runs its cells. Every
write moves the catalog's generations on, by triggers the schema itself gets
(`photolab.migrations.install_generation_triggers`; no writer declares anything): `computed`
when it wrote more than decisions, `decided` every time, and one per table and per decision
kind. A kept answer is a service method under `@kept`, which declares once what it reads:
tables, kinds of decision, settings by name, and the other kept answers (or `declare`d
reads) it uses. It is kept under a key made of its name, its arguments, the declared
settings' values, photolab's own source and the generations of what it reads, in memory and
(read/write libraries) as an Arrow file under `<library>/cache/` that another process
memory-maps instead of recomputing. An answer that reads no decisions (the SQL part of
`photos()`) is kept while only decisions are written, and only those are applied again.

A result is only kept when nothing it reads was written while it was computed. Writers
outside photolab (the sqlite3 shell) move the generations too: the triggers are in the file.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .catalog import Catalog
from .migrations import DECIDED_TABLES, UNKEPT_TABLES

#: results bigger than this stay in memory only (a million photos' faces with their
#: encodings are 0.9 GB: kept, since computing them takes 15 s there)
DISK_MAX_BYTES = 2 * 2**30
#: results computed faster than this stay in memory only (a small library's: reading them
#: back would save nothing)
DISK_MIN_SECONDS = 0.25
CACHE_DIR = "cache"
#: a file half written this long ago was left by a process that died while writing it
STALE_TMP_S = 3600
#: an ingest that leaves at least this many photos computes and keeps what the dashboards
#: read first (`keep_reads`); smaller libraries compute them in well under a second
KEEP_AFTER_INGEST_PHOTOS = 20_000
#: what the dashboards read first, in an order where each reads what the one before kept
DASHBOARD_READS = ("photos", "places", "place_hierarchy", "faces", "people", "duplicates",
                   "best_photos", "events", "albums", "place_covers", "timeline_months")


@cache
def code_key() -> str:
    """A digest of photolab's own source: a result kept by other code is never read."""
    h = hashlib.blake2b(digest_size=8)
    root = Path(__file__).resolve().parent
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _digest(value: Any) -> str:
    return hashlib.blake2b(repr(value).encode(), digest_size=8).hexdigest()


#: every kind of decision (`kept(decisions=EVERY)`)
EVERY = "every"
#: brings a kept result up to date with the decisions after a decision id (None: cannot)
Refresh = Callable[[pl.DataFrame, int], "pl.DataFrame | None"]


@dataclass(frozen=True)
class Reads:
    """What a kept answer is computed from: tables (people's own, `DECIDED_TABLES`, or
    computed), kinds of decision (None: every kind) and settings (by name)."""

    tables: frozenset[str] = frozenset()
    decisions: frozenset[str] | None = frozenset()
    settings: frozenset[str] = frozenset()

    def __or__(self, other: Reads) -> Reads:
        kinds = (None if self.decisions is None or other.decisions is None
                 else self.decisions | other.decisions)
        return Reads(self.tables | other.tables, kinds, self.settings | other.settings)

    def generations(self) -> tuple[list[str], list[str]]:
        """The generations (`table:<name>`, `decision:<kind>`) that move when what it reads
        is written: those of computed tables, and those of people's decisions."""
        computed = [f"table:{t}" for t in sorted(self.tables - set(DECIDED_TABLES))]
        decided = [f"table:{t}" for t in sorted(self.tables & set(DECIDED_TABLES))]
        decided += (["table:decisions"] if self.decisions is None
                    else [f"decision:{k}" for k in sorted(self.decisions)])
        return computed, decided

    def of(self, settings: Any) -> tuple[Any, ...]:
        """The values of the settings it reads."""
        return tuple(repr(getattr(settings, s)) for s in sorted(self.settings))


#: every kept verb by its name (`kept`): what tests enumerate
KEPT: dict[str, Callable[..., Any]] = {}


def kept(name: str, *, tables: Iterable[str] = (), decisions: Iterable[str] | str = (),
         settings: Iterable[str] = (), uses: Iterable[str] = (),
         refresh: str | None = None, keep_refreshed: bool = False
         ) -> Callable[[Callable[..., pl.DataFrame]], Callable[..., pl.DataFrame]]:
    """Keep a service method's answer (`Materialised.get`) for what it reads, declared once:
    the `tables`, the kinds of `decisions` (`EVERY`: all), the `settings` by name, and
    what the kept answers it `uses` (by name) read. Its positional arguments are part of
    the key, and its name of the kept files'. `refresh`: the name of a method
    `(old, since, *args)` that brings a kept answer up to date with the decisions after
    `since` while no computed table it reads changed (None: it cannot); `keep_refreshed`:
    what it brings is written to `cache/` too.

    `tests/test_kept.py` checks that every table a kept answer reads is declared (SQLite's
    authorizer sees each read), and so is every setting."""
    declare(name, tables=tables, decisions=decisions, settings=settings, uses=uses)

    def wrap(fn: Callable[..., pl.DataFrame]) -> Callable[..., pl.DataFrame]:
        @functools.wraps(fn)
        def answer(self: Any, *args: Any) -> pl.DataFrame:
            again = (None if refresh is None else
                     lambda old, since: getattr(self, refresh)(old, since, *args))
            return self.materialised.get(name, args, reads_of(name), self.settings,
                                         lambda: fn(self, *args), again, keep_refreshed)

        answer.kept_name = name  # type: ignore[attr-defined]
        KEPT[name] = answer
        return answer

    return wrap


#: each kept answer's (or shared read's) own reads and the ones it uses, by name
_DECLARED: dict[str, tuple[Reads, tuple[str, ...]]] = {}


def declare(name: str, *, tables: Iterable[str] = (), decisions: Iterable[str] | str = (),
            settings: Iterable[str] = (), uses: Iterable[str] = ()) -> None:
    """Declare what `name` reads, as `kept` does: for a read that is not kept itself but
    that kept answers use (`uses=(name,)`: the curation of photos, people's labels)."""
    unkept = set(tables) & set(UNKEPT_TABLES)
    if unkept:
        raise ValueError(f"{name}: {sorted(unkept)} move no generation (UNKEPT_TABLES)")
    if name in _DECLARED:
        raise ValueError(f"two reads are declared as {name!r}")
    _DECLARED[name] = (Reads(frozenset(tables),
                             None if decisions == EVERY else frozenset(decisions),
                             frozenset(settings)), tuple(uses))


@cache
def reads_of(name: str) -> Reads:
    """What the kept answer `name` reads, with what the kept answers it uses read."""
    own, used = _DECLARED[name]
    for other in used:
        own |= reads_of(other)
    return own


class Materialised:
    """Results of one library's verbs, by name, arguments and generation."""

    def __init__(self, catalog: Catalog, root: Path, writable: bool):
        self.catalog = catalog
        self.folder = root / CACHE_DIR
        self.writable = writable
        #: set False to compute every answer afresh (benchmarks, debugging)
        self.enabled = True
        self.disk_min_seconds = DISK_MIN_SECONDS
        #: slot -> (key, result, the generation, the newest decision it includes or None)
        self._memory: dict[str, tuple[str, pl.DataFrame, tuple[int, int], int | None]] = {}
        self._arrays: dict[str, tuple[str, np.ndarray]] = {}
        self._puts: dict[str, int] = {}  # how many values were put in each array slot
        self._storing: dict[str, threading.RLock] = {}  # one write of a slot at a time
        self._writers: list[threading.Thread] = []

    def get(self, name: str, args: Any, reads: Reads, settings: Any,
            make: Callable[[], pl.DataFrame], refresh: Refresh | None = None,
            keep_refreshed: bool = False) -> pl.DataFrame:
        """`make()`'s result while nothing it `reads` was written: kept in memory, read
        from `cache/`, or computed (and kept when nothing it reads was written meanwhile).
        Called by `kept` methods, which declare `reads`.

        `refresh(result, decision_id)`, given, brings a result this process holds up to
        date with the decisions recorded after `decision_id` while no computed table it
        reads changed (None: it cannot; then it is computed again); with `keep_refreshed`
        what it brings is written to `cache/` too."""
        if not self.enabled:
            return make()
        stamp = self._stamp(reads)
        slot = f"{name}-{_digest((args, reads.of(settings), code_key()))}"
        key = _digest(stamp)
        held = self._memory.get(slot)
        if held is not None and held[0] == key:
            return held[1]
        # read after the stamp: a decision between the two is caught by the check below
        mark = self.catalog.last_decision_id() if refresh is not None else None
        if refresh is not None and held is not None and held[3] is not None \
                and held[2][0] == stamp[0]:
            updated = refresh(held[1], held[3])
            if updated is not None and self._stamp(reads) == stamp:
                self._memory[slot] = (key, updated, stamp, mark)
                if keep_refreshed and updated is not held[1]:
                    self._store_later(slot, key, self.folder / f"{slot}-{key}-{mark}.arrow")
                return updated
        # a kept file's name ends with the newest decision it includes ("x": not known)
        kept = sorted(self.folder.glob(f"{slot}-{key}-*.arrow")) if self.folder.is_dir() else []
        path = self.folder / f"{slot}-{key}-{'x' if mark is None else mark}.arrow"
        try:  # Polars maps the file: its columns are read as they are used
            if not kept:
                raise FileNotFoundError(path)
            result = pl.read_ipc(kept[0])
            told = kept[0].stem.rsplit("-", 1)[1]
            mark = int(told) if told.isdigit() else None
        except (OSError, pl.exceptions.PolarsError):  # none kept (or a damaged one)
            t = time.perf_counter()
            result = make()
            if self._stamp(reads) != stamp:
                return result  # written meanwhile: this answer is of no one generation
            if time.perf_counter() - t >= self.disk_min_seconds:
                self._store(slot, path, result)
        self._memory[slot] = (key, result, stamp, mark)
        return result

    def _stamp(self, reads: Reads) -> tuple[int, int]:
        """How many writes moved what `reads` names: its computed tables', its decisions'."""
        return self.catalog.generation_sums(reads.generations())

    def array(self, name: str, make: Callable[[], np.ndarray], reads: Reads,
              of: Any = None) -> np.ndarray:
        """Like `get`, for one numpy array (`of`: what else it is a function of): kept as
        `.npy` under `cache/`, which every process that reads it memory-maps (read-only),
        so their pages are shared."""
        if not self.enabled:
            return make()
        stamp = self._stamp(reads)
        slot, key = self._array_slot(name, stamp, of)
        held = self._arrays.get(slot)
        if held is not None and held[0] == key:
            return held[1]
        try:
            result = np.load(self.folder / f"{slot}-{key}.npy", mmap_mode="r")
        except (OSError, ValueError):
            result = make()
            if self._stamp(reads) != stamp:
                return result
            self._store(slot, self.folder / f"{slot}-{key}.npy", result)
        self._arrays[slot] = (key, result)
        return result

    @staticmethod
    def _array_slot(name: str, stamp: Any, of: Any) -> tuple[str, str]:
        return f"{name}-{_digest(code_key())}", _digest((stamp, of))

    def put_array(self, name: str, value: np.ndarray | Callable[[], np.ndarray],
                  reads: Reads, of: Any = None, later: bool = False) -> None:
        """Keep `value` as what `array(name, ..., of=of)` answers now (its maker knows it
        already: no need to compute it again). `later`: made (when a callable) and written
        on a thread of its own, unless a newer one is put meanwhile; `flush` waits for it."""
        if not self.enabled:
            return
        slot, key = self._array_slot(name, self._stamp(reads), of)
        self._puts[slot] = turn = self._puts.get(slot, 0) + 1

        def keep() -> None:
            with self._slot_lock(slot):
                if self._puts.get(slot) != turn:
                    return  # a newer one was put
                made = value() if callable(value) else value
                self._arrays[slot] = (key, made)
                self._store(slot, self.folder / f"{slot}-{key}.npy", made)

        if not later:
            return keep()
        self._on_a_thread(slot, keep)

    def _store_later(self, slot: str, key: str, path: Path) -> None:
        """Write the answer held for `slot` on a thread of its own (a million photos' faces
        take 2 s to write; the reader has its answer already), unless a newer one is held
        by then. `flush` waits for it; so does the interpreter at exit."""
        def run() -> None:
            with self._slot_lock(slot):
                held = self._memory.get(slot)
                if held is not None and held[0] == key:
                    self._store(slot, path, held[1])

        self._on_a_thread(slot, run)

    def _on_a_thread(self, slot: str, write: Callable[[], None]) -> None:
        """Run a write of `slot` on a thread of its own, one `flush` waits for."""
        thread = threading.Thread(target=write, name=f"photolab-keep-{slot}")
        self._writers = [t for t in self._writers if t.is_alive()] + [thread]
        thread.start()

    def _slot_lock(self, slot: str) -> threading.RLock:
        """The lock of one slot's files (a million faces being written keep no other
        answer waiting)."""
        return self._storing.setdefault(slot, threading.RLock())

    def flush(self) -> None:
        """Wait for the answers being written to `cache/`."""
        for t in self._writers:
            t.join()
        self._writers = []

    def _store(self, slot: str, path: Path, result: pl.DataFrame | np.ndarray) -> None:
        """Write the result beside (then over) the older ones of its slot (verb and
        arguments); a library whose folder cannot be written keeps it in memory only."""
        size = result.nbytes if isinstance(result, np.ndarray) else result.estimated_size()
        if not self.writable or size > DISK_MAX_BYTES:
            return
        tmp: str | None = None
        with self._slot_lock(slot):
            try:
                self.folder.mkdir(exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
                if isinstance(result, np.ndarray):
                    with os.fdopen(fd, "wb") as out:
                        np.save(out, result)
                else:
                    os.close(fd)
                    result.write_ipc(tmp)
                os.replace(tmp, path)
                for old in self.folder.glob(f"{slot}-*{path.suffix}"):
                    if old != path:
                        old.unlink(missing_ok=True)
                for left in self.folder.glob("*.tmp"):  # a process killed while it wrote
                    if time.time() - left.stat().st_mtime > STALE_TMP_S:
                        left.unlink(missing_ok=True)
            except OSError:  # a full or read-only disk: the answer stays in memory
                if tmp is not None:
                    Path(tmp).unlink(missing_ok=True)

    def clear(self) -> None:
        """Forget every kept result (memory and `cache/`)."""
        self.flush()
        self._memory.clear()
        self._arrays.clear()
        if self.writable and self.folder.exists():
            for f in [*self.folder.glob("*.arrow"), *self.folder.glob("*.npy"),
                      *self.folder.glob("labels-*.json")]:
                f.unlink(missing_ok=True)


def keep_reads(lib: Any) -> dict[str, float]:
    """Compute and keep what the dashboards read first (`DASHBOARD_READS`), so the first
    family member to open a page after an ingest waits for none of it; seconds per verb."""
    if not lib.materialised.enabled:
        return {}
    lib.nearest_people()  # the one read that writes (computed rows); keeps the encodings
    seconds = {}
    for name in DASHBOARD_READS:
        t = time.perf_counter()
        getattr(lib, name)(**({"encodings": False} if name == "faces" else {}))
        seconds[name] = time.perf_counter() - t
    return seconds
