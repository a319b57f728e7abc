"""The catalog: the only code that touches storage (one SQLite file in WAL mode).

Frames go in and out as Polars. Writers take `BEGIN IMMEDIATE` and wait up to the busy
timeout, so several kernels and a batch run can share a library without losing a write.

Why this module is long: it is the one place that opens the SQLite file (DESIGN.md: only the
catalog touches storage), so its sections (the connection and its read-only and locking
rules, files, stage results, vectors, decisions, jobs) share one connection, one lock and one
transaction discipline. Domain SQL that needs no connection of its own lives with its domain
(`photolab.faces.store`, `photolab.ledger`).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from . import ledger
from .access import READ_ONLY_MESSAGE
from .columnar import ColumnarReader
from .errors import LibraryLockedError, PhotolabError, PhotoNotFoundError, ReadOnlyError
from .ledger import NOT_UNDONE, now_iso
from .migrations import MIGRATIONS, install_generation_triggers
from .shown import SHOWN
from .stages import BY_NAME, METADATA, StageSpec, dependents, spec

__all__ = ["NOT_UNDONE", "Catalog", "display_path", "now_iso"]

#: catalogs of at least this many photos read through the columnar helper
#: (`photolab.columnar`); smaller ones read as fast through sqlite3's rows
COLUMNAR_MIN_PHOTOS = 20_000


def display_path(raw: bytes) -> str:
    """A printable path: UTF-8 where it decodes, backslash escapes where it does not."""
    return raw.decode("utf-8", "backslashreplace")


class Catalog:
    """One library's SQLite catalog.

    Parameters
    ----------
    path : the `catalog.sqlite` file; created and migrated when new.
    busy_timeout_s : how long a writer waits for another one before `LibraryLockedError`.
    read_only : refuse every write with `ReadOnlyError` (guests' dashboards).
    """

    def __init__(self, path: Path, busy_timeout_s: float = 120.0, read_only: bool = False):
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self.read_only = read_only
        self._lock = threading.RLock()
        self._stamp: tuple[int, int, bool] | None = None
        self._uri = ""
        #: read query results as Arrow columns through the helper process of
        #: `photolab.columnar` (large catalogs); off: through sqlite3's rows only (the same
        #: frames, slower)
        self.columnar = True
        self._reader: ColumnarReader | None = None
        self.conn = self._connect()
        self._migrate()
        self._start_reader()

    def _connect(self) -> sqlite3.Connection:
        """A connection; read-only ones create nothing beside the catalog (see `_fresh`)."""
        if not self.read_only:
            self._uri = self.path.resolve().as_uri()
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            return conn
        if not self.path.exists():
            raise PhotolabError("no catalog here")
        # With no writer about (no -wal file), the file is read as immutable: SQLite then
        # makes no -wal/-shm files in a guest's library. A writer that starts later makes
        # the -wal file first; `_fresh` sees it (or the catalog's new size and time) before
        # the next read and reconnects in shared read-only mode, which reads the WAL too.
        self._stamp = self._file_stamp()
        mode = "mode=ro" if self._stamp[2] else "immutable=1"
        self._uri = f"{self.path.resolve().as_uri()}?{mode}"
        conn = sqlite3.connect(self._uri, uri=True,
                               timeout=self.busy_timeout_s, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        return conn

    def _file_stamp(self) -> tuple[int, int, bool]:
        st = self.path.stat()
        return st.st_mtime_ns, st.st_size, self.path.with_name(self.path.name + "-wal").exists()

    def _fresh(self) -> sqlite3.Connection:
        """The connection, reopened first when a read-only catalog changed under it."""
        if self.read_only and self._stamp != self._file_stamp():
            self.conn.close()
            self._close_reader()
            self.conn = self._connect()
            self._start_reader()
        return self.conn

    def _start_reader(self) -> None:
        """Start the columnar helper for a large catalog (it readies while reads go on)."""
        n = self.conn.execute("SELECT max(photo_id) FROM photos").fetchone()[0] or 0
        if self.columnar and n >= COLUMNAR_MIN_PHOTOS:
            self._reader = ColumnarReader(self._uri if "?" in self._uri
                                          else f"{self._uri}?mode=ro")

    def columnar_ready(self, wait_s: float = 0.0) -> bool:
        """Whether reads go through the columnar helper now (waiting up to `wait_s` for it
        to start; False for a small catalog, which has none)."""
        return self.columnar and self._reader is not None and self._reader.ready(wait_s)

    def _close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # -- plumbing -------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._close_reader()
            self.conn.close()

    @contextmanager
    def transaction(self, wait_s: float | None = None) -> Iterator[sqlite3.Connection]:
        """A write transaction; commits on success, rolls back on any exception. Waits for
        another writer up to the busy timeout (or `wait_s`), then `LibraryLockedError`.
        What it writes moves the catalog's generations by itself (triggers:
        `photolab.migrations.install_generation_triggers`)."""
        if self.read_only:
            raise ReadOnlyError(READ_ONLY_MESSAGE)
        wait = self.busy_timeout_s if wait_s is None else wait_s
        with self._lock:
            try:
                if wait_s is not None:
                    self.conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                if "locked" in str(e) or "busy" in str(e):
                    raise LibraryLockedError(
                        f"{self.path} stayed locked by another writer for {wait:.0f}s") from e
                raise
            finally:
                if wait_s is not None:
                    self.conn.execute(
                        f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version >= len(MIGRATIONS):
            return
        if self.read_only:
            raise ReadOnlyError("this library's catalog needs upgrading: open it once read/write "
                                "first")
        with self.transaction() as c:
            version = c.execute("PRAGMA user_version").fetchone()[0]  # re-read under the lock
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        c.execute(statement)
                c.execute(f"PRAGMA user_version = {number}")
            install_generation_triggers(c)

    def generation(self) -> tuple[int, int]:
        """(computed, decided): how many row writes changed more than decisions, and how many
        changed anything, since the catalog was made (moved by triggers:
        `migrations.install_generation_triggers`; `photolab.materialised`)."""
        with self._lock:
            row = self._fresh().execute("SELECT computed, decided FROM generation").fetchone()
        return int(row[0]), int(row[1])

    def generations(self, names: Sequence[str]) -> int:
        """How many writes moved any of these generations (`table:<name>`,
        `decision:<kind>`: migrations.install_generation_triggers); grows with each."""
        return self.generation_sums([names])[0]

    def generation_sums(self, groups: Sequence[Sequence[str]]) -> tuple[int, ...]:
        """`generations` of each group of names, in one read."""
        cols = ", ".join(
            f"coalesce(sum(n) FILTER (WHERE name IN ({','.join('?' * len(g))})), 0)"
            if g else "0" for g in groups)
        params = [n for g in groups for n in g]
        with self._lock:
            row = self._fresh().execute(f"SELECT {cols} FROM table_generations",
                                        params).fetchone()
        return tuple(int(v) for v in row)

    def schema_version(self) -> int:
        return self._fresh().execute("PRAGMA user_version").fetchone()[0]

    def frame(self, sql: str, params: Sequence[Any] = (),
              schema: dict[str, Any] | None = None) -> pl.DataFrame:
        """Run a query and return its rows as a Polars frame (column types from `schema`)."""
        with self._lock:
            conn = self._fresh()
            if self.columnar and self._reader is not None and not conn.in_transaction and \
                    (fast := self._reader.read(sql, params)) is not None:
                return _typed(fast, schema or {})
            cur = conn.execute(sql, params)
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        schema = schema or {}
        full = {n: schema.get(n) for n in names}
        if all(v is not None for v in full.values()):
            return pl.DataFrame(rows, schema=full, orient="row")
        return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None,
                            schema_overrides={k: v for k, v in full.items() if v is not None})

    def frame_in(self, sql: str, ids: Iterable[int], params: Sequence[Any] = (),
                 schema: dict[str, Any] | None = None) -> pl.DataFrame:
        """`frame` for a query over a list of ids of any length: `{ids}` in `sql` stands for
        the list (`x IN ({ids})`), bound as one JSON array (no limit on its length, and one
        parameter to bind however long it is); `params` come before it."""
        ids_json = "[" + ",".join(str(int(i)) for i in ids) + "]"
        return self.frame(sql.format(ids="SELECT value FROM json_each(?)"),
                          [*params, ids_json], schema)

    def require_photos(self, photo_ids: Iterable[int]) -> list[int]:
        """The ids as ints; `PhotoNotFoundError` naming those not in the catalog."""
        ids = [int(i) for i in photo_ids]
        known = set(self.frame_in("SELECT photo_id FROM photos WHERE photo_id IN ({ids})",
                                  ids, schema={"photo_id": pl.Int64})["photo_id"])
        if missing := sorted(set(ids) - known):
            raise PhotoNotFoundError(f"no photos {missing}")
        return ids

    # -- files ----------------------------------------------------------------------------

    def files(self, paths: Sequence[bytes] | None = None) -> pl.DataFrame:
        """Every file the catalog knows, present or missing (or those at `paths`)."""
        sql = ("SELECT photo_id, path_raw, size_bytes, mtime_ns, content_hash, status, "
               "sidecar_sig FROM photos")
        if paths is None:
            return self.frame(sql, schema=FILE_SCHEMA)
        chunks = [list(paths[i:i + 500]) for i in range(0, len(paths), 500)]
        return pl.concat([self.frame(f"{sql} WHERE path_raw IN ({','.join('?' * len(c))})",
                                     c, schema=FILE_SCHEMA) for c in chunks]
                         or [pl.DataFrame(schema=FILE_SCHEMA)])

    def raw_paths(self, photo_ids: Sequence[int]) -> dict[int, bytes]:
        """photo_id -> exact file-system path."""
        f = self.frame_in("SELECT photo_id, path_raw FROM photos WHERE photo_id IN ({ids})",
                          photo_ids, schema={"photo_id": pl.Int64, "path_raw": pl.Binary})
        return dict(f.iter_rows())

    def mark_missing(self, photo_ids: Sequence[int]) -> int:
        if not photo_ids:
            return 0
        with self.transaction() as c:
            c.executemany("UPDATE photos SET status = 'missing' WHERE photo_id = ?",
                          [(int(i),) for i in photo_ids])
        return len(photo_ids)

    def touch(self, photo_ids: Sequence[int]) -> None:
        """Record that unchanged files were seen by this scan (a file that was missing and
        is back is a change; the times it was seen are none)."""
        at = now_iso()
        with self.transaction() as c:  # last_seen moves no generation; a return does
            c.executemany("UPDATE photos SET last_seen = ?, status = 'present' WHERE photo_id = ?",
                          [(at, int(i)) for i in photo_ids])

    def register(self, files: pl.DataFrame) -> tuple[dict[str, int], list[int]]:
        """Insert or update scanned files in one transaction.

        A new path whose content hash equals that of a missing photo, or of a photo whose
        file is gone (moved out of a folder this scan did not cover), takes that photo over:
        a move or rename keeps its photo_id. Returns counts of new, moved and changed, and
        the photo_ids that moved.
        """
        counts = {"new": 0, "moved": 0, "changed": 0}
        moved_ids: list[int] = []
        at = now_iso()
        with self.transaction() as c:
            for f in files.iter_rows(named=True):
                raw, digest = f["path_raw"], f["content_hash"]
                values = (f["size_bytes"], f["mtime_ns"], digest, f["error"], at)
                row = c.execute("SELECT photo_id, content_hash FROM photos WHERE path_raw = ?",
                                (raw,)).fetchone()
                if row is not None:
                    c.execute("UPDATE photos SET size_bytes=?, mtime_ns=?, content_hash=?, "
                              "scan_error=?, last_seen=?, status='present' WHERE photo_id=?",
                              (*values, row[0]))
                    counts["changed"] += row[1] != digest
                    continue
                moved = None
                if digest is not None:
                    # a missing photo, or one whose file is gone from a folder not scanned now
                    same = c.execute(
                        "SELECT photo_id, path_raw, status FROM photos WHERE content_hash = ? "
                        "ORDER BY status = 'missing' DESC, photo_id", (digest,)).fetchall()
                    moved = next((row for row in same
                                  if row[2] == "missing" or not os.path.lexists(row[1])), None)
                if moved is not None:
                    c.execute("UPDATE photos SET path=?, path_raw=?, size_bytes=?, mtime_ns=?, "
                              "content_hash=?, scan_error=?, last_seen=?, status='present' "
                              "WHERE photo_id=?", (display_path(raw), raw, *values, moved[0]))
                    counts["moved"] += 1
                    moved_ids.append(moved[0])
                else:
                    c.execute("INSERT INTO photos (path, path_raw, size_bytes, mtime_ns, "
                              "content_hash, scan_error, last_seen, first_seen) "
                              "VALUES (?,?,?,?,?,?,?,?)", (display_path(raw), raw, *values, at))
                    counts["new"] += 1
        return counts, moved_ids

    # -- stages ---------------------------------------------------------------------------

    def stale(self, stage: str, version: str, with_tags: bool = False,
              photo_ids: Sequence[int] | None = None) -> pl.DataFrame:
        """Present photos whose `stage` result is missing, of another version or of old bytes."""
        tags = ", m.tags" if with_tags else ""
        only = "" if photo_ids is None else " AND p.photo_id IN ({ids})"
        if stage in BY_NAME and not BY_NAME[stage].paired:  # a RAW shown as its JPEG
            only += " AND p.paired_to IS NULL"
        sql = f"""SELECT p.photo_id, p.path, p.path_raw, p.size_bytes, p.mtime_ns, p.content_hash,
                       m.mime, m.lat, m.lon, m.width, m.height, m.orientation{tags}
                FROM photos p
                LEFT JOIN media m USING (photo_id)
                LEFT JOIN stage_runs s ON s.photo_id = p.photo_id AND s.stage = ?
                WHERE p.status = 'present' AND p.content_hash IS NOT NULL
                  AND (s.photo_id IS NULL OR s.version != ? OR s.content_hash IS NOT p.content_hash)
                  {only}
                ORDER BY p.photo_id"""
        if photo_ids is None:
            return self.frame(sql, [stage, version], schema=STALE_SCHEMA)
        return self.frame_in(sql, sorted(int(i) for i in photo_ids), [stage, version],
                             schema=STALE_SCHEMA)

    def inputs(self, photo_ids: Sequence[int], with_tags: bool = False) -> pl.DataFrame:
        """What a stage reads of these present photos (`stale`'s columns), stale or not."""
        return self.stale("", "", with_tags, photo_ids)  # no stage is named ""

    def write_stage(self, stage: str, version: str, results: pl.DataFrame,
                    hashes: dict[int, str]) -> None:
        """Store a stage's results and mark those photos done, in one transaction.

        `results` has `photo_id`, `error` and the stage table's columns; `hashes` maps each
        photo_id to the content hash the stage read (so a file changed meanwhile stays stale).
        """
        at = now_iso()
        ids = [int(i) for i in results["photo_id"]]
        s = spec(stage)
        cols = [c for c in results.columns if c not in ("error",)]
        with self.transaction() as c:
            if callable(s.writer):
                s.writer(c, results)
            elif s.writer == "rows":
                self._write_long(c, str(s.table), str(s.rows_column), results)
            elif s.table is not None:
                self._write_table(c, s, results.select(cols))
            c.executemany(
                "INSERT OR REPLACE INTO stage_runs (photo_id, stage, version, content_hash, "
                "ran_at, error) VALUES (?,?,?,?,?,?)",
                [(i, stage, version, hashes.get(i), at, e)
                 for i, e in zip(ids, results["error"], strict=True)])
            for dependent in dependents(stage):
                c.executemany("DELETE FROM stage_runs WHERE photo_id = ? AND stage = ?",
                              [(i, dependent) for i in ids])

    @staticmethod
    def _write_table(c: sqlite3.Connection, s: StageSpec, rows: pl.DataFrame) -> None:
        """Insert or replace one row per photo (see `StageSpec.required` and `full_text`)."""
        table = s.table
        failed: list[tuple[int]] = []
        if s.required is not None:
            failed = [(i,) for i in rows.filter(pl.col(s.required).is_null())["photo_id"]]
            c.executemany(f"DELETE FROM {table} WHERE photo_id = ?", failed)
            rows = rows.filter(pl.col(s.required).is_not_null())
        if s.full_text is not None:
            fts, text = s.full_text
            c.executemany(f"DELETE FROM {fts} WHERE rowid = ?",
                          [(i,) for i in rows["photo_id"]] + failed)
            c.executemany(f"INSERT INTO {fts} (rowid, {text}) VALUES (?,?)",
                          rows.select("photo_id", text).iter_rows())
        c.executemany(f"INSERT OR REPLACE INTO {table} ({', '.join(rows.columns)}) "
                      f"VALUES ({', '.join('?' * rows.width)})", rows.iter_rows())

    @staticmethod
    def _write_long(c: sqlite3.Connection, table: str, column: str,
                    results: pl.DataFrame) -> None:
        """Replace each photo's rows in `table` with the structs of its `column` list."""
        done = results.filter(pl.col(column).is_not_null())
        c.executemany(f"DELETE FROM {table} WHERE photo_id = ?",
                      [(i,) for i in done["photo_id"]])
        rows = done.select("photo_id", column).explode(column).drop_nulls(column).unnest(column)
        if rows.height:
            c.executemany(f"INSERT INTO {table} ({', '.join(rows.columns)}) "
                          f"VALUES ({', '.join('?' * rows.width)})", rows.iter_rows())

    # -- vectors --------------------------------------------------------------------------

    def embedding_ids(self, model: str) -> np.ndarray:
        """Embedding ids of present photos' vectors of `model`, ascending."""
        return self.frame(
            "SELECT e.embedding_id FROM embeddings e JOIN photos p USING (photo_id) "
            "WHERE " + SHOWN + " AND e.model = ? ORDER BY e.embedding_id", [model],
            schema={"embedding_id": pl.Int64})["embedding_id"].to_numpy()

    def vectors(self, embedding_ids: Sequence[int]) -> np.ndarray:
        """The float32 vectors of these embedding ids, one row each, in their order."""
        got = dict(self.frame_in(
            "SELECT embedding_id, vector FROM embeddings WHERE embedding_id IN ({ids})",
            embedding_ids, schema={"embedding_id": pl.Int64, "vector": pl.Binary}).iter_rows())
        rows = [got[int(i)] for i in embedding_ids]
        return np.frombuffer(b"".join(rows), np.float32).reshape(len(rows), -1)

    def embedding_photos(self, embedding_ids: Sequence[int] | None = None,
                         photo_ids: Sequence[int] | None = None) -> pl.DataFrame:
        """`embedding_id`, `photo_id` for some embedding ids, or for some photos."""
        col, ids = (("embedding_id", embedding_ids) if embedding_ids is not None
                    else ("photo_id", photo_ids))
        return self.frame_in(
            f"SELECT embedding_id, photo_id FROM embeddings WHERE {col} IN ({{ids}})", ids or [],
            schema={"embedding_id": pl.Int64, "photo_id": pl.Int64})

    # -- decisions and caches ------------------------------------------------------------

    def add_decisions(self, kind: str, rows: Sequence[tuple[int | None, Any]], who: str,
                      ) -> list[int]:
        """Several decisions of one kind (photo_id, value) in one transaction."""
        with self.transaction() as c:
            return [ledger.record(c, kind, pid, value, who) for pid, value in rows]

    def geocode_cached(self, provider: str, keys: list[str]) -> dict[str, str]:
        """Answers an online geocoder gave before, by rounded position."""
        if not keys:
            return {}
        rows = self.frame(f"SELECT key, value FROM geocode_cache WHERE provider = ? AND key IN "
                          f"({','.join('?' * len(keys))})", [provider, *keys],
                          schema={"key": pl.String, "value": pl.String})
        return dict(rows.iter_rows())

    def geocode_store(self, provider: str, answers: dict[str, str]) -> None:
        at = now_iso()
        with self.transaction() as c:
            c.executemany("INSERT OR REPLACE INTO geocode_cache (provider, key, value, at) "
                          "VALUES (?,?,?,?)", [(provider, k, v, at) for k, v in answers.items()])

    def set_sidecar_sigs(self, rows: Sequence[tuple[int, str | None]]) -> None:
        """Remember each photo's sidecar signature and read its metadata again (a sidecar
        changed, appeared or went away)."""
        with self.transaction() as c:
            c.executemany("UPDATE photos SET sidecar_sig = ? WHERE photo_id = ?",
                          [(sig, pid) for pid, sig in rows])
            for stage in (METADATA.name, *dependents(METADATA.name)):
                c.executemany("DELETE FROM stage_runs WHERE photo_id = ? AND stage = ?",
                              [(pid, stage) for pid, _ in rows])

    def invalidate(self, stage: str, photo_ids: Sequence[int]) -> None:
        """Make a stage stale for some photos (after a decision that changes its input)."""
        with self.transaction() as c:
            c.executemany("DELETE FROM stage_runs WHERE photo_id = ? AND stage = ?",
                          [(int(i), stage) for i in photo_ids])

    # -- decisions ------------------------------------------------------------------------

    def add_decision(self, kind: str, photo_id: int | None, value: Any, who: str) -> int:
        with self.transaction() as c:
            return ledger.record(c, kind, photo_id, value, who)

    def decisions(self, kind: str | None = None, who: str | None = None) -> pl.DataFrame:
        conds = [c for c, v in (("kind = ?", kind), ("who = ?", who)) if v]
        where = f"WHERE {' AND '.join(conds)}" if conds else ""
        return self.frame(
            f"SELECT decision_id, kind, photo_id, value, who, at FROM decisions {where} "
            "ORDER BY decision_id", [v for v in (kind, who) if v], schema=DECISION_SCHEMA)

    def active_decisions(self, *kinds: str) -> pl.DataFrame:
        """Decisions of these kinds that no later 'undo' decision took back, oldest first."""
        return self.frame(
            "SELECT decision_id, kind, photo_id, value, who, at FROM decisions WHERE kind IN "
            f"({','.join('?' * len(kinds))}) AND {NOT_UNDONE} ORDER BY decision_id",
            list(kinds), schema=DECISION_SCHEMA)

    def last_decision_id(self) -> int:
        """The newest decision's id (0: none yet); ids grow in commit order."""
        with self._lock:
            return int(self._fresh().execute(
                "SELECT max(decision_id) FROM decisions").fetchone()[0] or 0)

    def decisions_since(self, decision_id: int) -> pl.DataFrame:
        """Every decision after `decision_id`, oldest first (undo decisions included)."""
        return self.frame("SELECT decision_id, kind, photo_id, value, who, at FROM decisions "
                          "WHERE decision_id > ? ORDER BY decision_id", [int(decision_id)],
                          schema=DECISION_SCHEMA)

    def decision(self, decision_id: int) -> dict[str, Any] | None:
        row = self.frame("SELECT decision_id, kind, photo_id, value, who, at FROM decisions "
                         "WHERE decision_id = ?", [int(decision_id)], schema=DECISION_SCHEMA)
        return row.row(0, named=True) if row.height else None

    def set_trashed(self, photo_ids: Sequence[int], trashed: bool) -> None:
        """Files moved to (or back from) the library's trash."""
        at = now_iso() if trashed else None
        status = "missing" if trashed else "present"
        with self.transaction() as c:
            c.executemany("UPDATE photos SET trashed_at = ?, status = ? WHERE photo_id = ?",
                          [(at, status, int(i)) for i in photo_ids])

    def latest_decisions(self, kind: str) -> pl.DataFrame:
        """The newest decision of a kind for each photo."""
        return self.frame(
            "SELECT photo_id, value, who, at FROM decisions WHERE decision_id IN "
            f"(SELECT max(decision_id) FROM decisions WHERE kind = ? AND {NOT_UNDONE} "
            "GROUP BY photo_id)",
            [kind], schema={"photo_id": pl.Int64, "value": pl.String, "who": pl.String,
                            "at": pl.String})

    # -- jobs -----------------------------------------------------------------------------

    def start_job(self, kind: str, params: dict[str, Any]) -> int:
        self.reap_jobs()
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO jobs (kind, status, started_at, host, pid, params) "
                "VALUES (?, 'running', ?, ?, ?, ?)",
                (kind, now_iso(), socket.gethostname(), os.getpid(), json.dumps(params)))
            return int(cur.lastrowid or 0)

    def finish_job(self, job_id: int, status: str, counts: dict[str, Any], n_errors: int,
                   seconds: dict[str, float]) -> None:
        with self.transaction() as c:
            c.execute("UPDATE jobs SET status=?, finished_at=?, counts=?, n_errors=?, seconds=? "
                      "WHERE job_id=?", (status, now_iso(), json.dumps(counts), n_errors,
                                         json.dumps(seconds), job_id))

    def reap_jobs(self) -> None:
        """Mark jobs of this host whose process is gone as interrupted (killed runs)."""
        if self.read_only:
            return
        host = socket.gethostname()
        rows = self.conn.execute(
            "SELECT job_id, pid FROM jobs WHERE status = 'running' AND host = ?", (host,)
        ).fetchall()
        dead = [job_id for job_id, pid in rows if not _pid_alive(pid)]
        if dead:
            with self.transaction() as c:
                c.executemany("UPDATE jobs SET status = 'interrupted' WHERE job_id = ?",
                              [(j,) for j in dead])

    def jobs(self) -> pl.DataFrame:
        return self.frame("SELECT * FROM jobs ORDER BY job_id", schema=JOB_SCHEMA)


def _typed(f: pl.DataFrame, schema: dict[str, Any]) -> pl.DataFrame:
    """Columns cast to `schema`'s types, as the row reader types them: a column with no value
    at all is null of the schema's type, or of type Null where the schema says none."""
    casts = []
    for name, dtype in f.schema.items():
        want = schema.get(name)
        if f[name].null_count() == f.height:
            if dtype != (want or pl.Null):
                casts.append(pl.lit(None, want or pl.Null).alias(name))
        elif want is not None and dtype != want:
            casts.append(pl.col(name).cast(want))
    return f.with_columns(casts) if casts else f


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


FILE_SCHEMA = {"photo_id": pl.Int64, "path_raw": pl.Binary, "size_bytes": pl.Int64,
               "mtime_ns": pl.Int64, "content_hash": pl.String, "status": pl.String,
               "sidecar_sig": pl.String}
STALE_SCHEMA = {"photo_id": pl.Int64, "path": pl.String, "path_raw": pl.Binary,
                "size_bytes": pl.Int64, "mtime_ns": pl.Int64, "content_hash": pl.String,
                "mime": pl.String, "lat": pl.Float64, "lon": pl.Float64, "width": pl.Int64,
                "height": pl.Int64, "orientation": pl.Int64, "tags": pl.String}
DECISION_SCHEMA = {"decision_id": pl.Int64, "kind": pl.String, "photo_id": pl.Int64,
                   "value": pl.String, "who": pl.String, "at": pl.String}
JOB_SCHEMA = {"job_id": pl.Int64, "kind": pl.String, "status": pl.String,
              "started_at": pl.String, "finished_at": pl.String, "host": pl.String,
              "pid": pl.Int64, "params": pl.String, "counts": pl.String, "n_errors": pl.Int64,
              "seconds": pl.String}
