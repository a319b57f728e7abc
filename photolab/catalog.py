"""The catalog: the only code that touches storage (one SQLite file in WAL mode).

Frames go in and out as Polars. Writers take `BEGIN IMMEDIATE` and wait up to the busy
timeout, so several kernels and a batch run can share a library without losing a write.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .access import READ_ONLY_MESSAGE
from .errors import LibraryLockedError, PersonNotFoundError, PhotolabError, ReadOnlyError
from .faces.geometry import match_boxes
from .migrations import MIGRATIONS

#: stage -> stages whose results depend on it (rerun when it reruns)
DEPENDENTS: dict[str, tuple[str, ...]] = {"metadata": ("dates", "faces", "places"),
                                          "thumbnails": ("hashes", "faces", "semantic",
                                                         "captions"),
                                          "semantic": ("tags",)}

#: the tables stages write to, with their columns (besides photo_id)
STAGE_TABLES: dict[str, str] = {"metadata": "media", "dates": "dates", "motion": "motion",
                                "hashes": "hashes", "places": "places",
                                "semantic": "embeddings", "captions": "captions"}

#: stages that write several rows per photo: their table, and the list column holding them
LONG_TABLES: dict[str, tuple[str, str]] = {"tags": ("scene_tags", "tags")}

#: tables whose row needs this column: a photo the stage failed on loses its old row and gets
#: no new one (rather than a row of nulls)
REQUIRED: dict[str, str] = {"embeddings": "vector", "captions": "caption"}

#: full-text tables kept in step with a table's text column (the rowid is the photo_id)
FULL_TEXT: dict[str, tuple[str, str]] = {"captions": ("captions_fts", "caption")}


#: the columns of the faces table a detection writes (besides face_id and photo_id)
FACE_COLUMNS = ("top", "right", "bottom", "left", "image_width", "image_height", "encoding",
                "source", "file_name")
FACE_UPDATE = (f"UPDATE faces SET {', '.join(k + ' = ?' for k in FACE_COLUMNS)} "
               "WHERE face_id = ?")
FACE_INSERT = (f"INSERT INTO faces (photo_id, {', '.join(FACE_COLUMNS)}) "
               f"VALUES (?{', ?' * len(FACE_COLUMNS)})")


#: SQL condition: the decision was not taken back by a later 'undo' decision
NOT_UNDONE = ("decision_id NOT IN (SELECT json_extract(value, '$.undoes') FROM decisions "
              "WHERE kind = 'undo')")


#: the person whose newest name is `?` (any case) and who was not merged into another
PERSON_BY_NAME = f"""
    SELECT json_extract(d.value, '$.person_id') FROM decisions d
    WHERE d.kind = 'person_name' AND json_extract(d.value, '$.name') = ? COLLATE NOCASE
      AND d.decision_id = (SELECT max(decision_id) FROM decisions WHERE kind = 'person_name'
                           AND json_extract(value, '$.person_id')
                               = json_extract(d.value, '$.person_id') AND {NOT_UNDONE})
      AND json_extract(d.value, '$.person_id') NOT IN (
          SELECT json_extract(value, '$.person_id') FROM decisions
          WHERE kind = 'person_merge' AND {NOT_UNDONE})
    ORDER BY d.decision_id LIMIT 1"""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


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
        self.conn = self._connect()
        self._migrate()

    def _connect(self) -> sqlite3.Connection:
        """A connection; read-only ones create nothing beside the catalog (see `_fresh`)."""
        if not self.read_only:
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
        conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?{mode}", uri=True,
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
            self.conn = self._connect()
        return self.conn

    # -- plumbing -------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; commits on success, rolls back on any exception."""
        if self.read_only:
            raise ReadOnlyError(READ_ONLY_MESSAGE)
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                if "locked" in str(e) or "busy" in str(e):
                    raise LibraryLockedError(
                        f"{self.path} stayed locked by another writer for "
                        f"{self.busy_timeout_s:.0f}s") from e
                raise
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

    def schema_version(self) -> int:
        return self._fresh().execute("PRAGMA user_version").fetchone()[0]

    def frame(self, sql: str, params: Sequence[Any] = (),
              schema: dict[str, Any] | None = None) -> pl.DataFrame:
        """Run a query and return its rows as a Polars frame (column types from `schema`)."""
        with self._lock:
            cur = self._fresh().execute(sql, params)
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        schema = schema or {}
        full = {n: schema.get(n) for n in names}
        if all(v is not None for v in full.values()):
            return pl.DataFrame(rows, schema=full, orient="row")
        return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None,
                            schema_overrides={k: v for k, v in full.items() if v is not None})

    # -- files ----------------------------------------------------------------------------

    def files(self) -> pl.DataFrame:
        """Every file the catalog knows, present or missing."""
        return self.frame(
            "SELECT photo_id, path_raw, size_bytes, mtime_ns, content_hash, status FROM photos",
            schema=FILE_SCHEMA)

    def raw_paths(self, photo_ids: Sequence[int]) -> dict[int, bytes]:
        """photo_id -> exact file-system path."""
        ids = [int(i) for i in photo_ids]
        f = self.frame(f"SELECT photo_id, path_raw FROM photos WHERE photo_id IN "
                       f"({','.join('?' * len(ids))})", ids,
                       schema={"photo_id": pl.Int64, "path_raw": pl.Binary})
        return dict(f.iter_rows())

    def mark_missing(self, photo_ids: Sequence[int]) -> int:
        with self.transaction() as c:
            c.executemany("UPDATE photos SET status = 'missing' WHERE photo_id = ?",
                          [(int(i),) for i in photo_ids])
        return len(photo_ids)

    def touch(self, photo_ids: Sequence[int]) -> None:
        """Record that unchanged files were seen by this scan."""
        at = now_iso()
        with self.transaction() as c:
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
        only = ""
        params: list[Any] = [stage, version]
        if photo_ids is not None:
            only = f" AND p.photo_id IN ({','.join('?' * len(photo_ids))})"
            params += [int(i) for i in photo_ids]
        return self.frame(
            f"""SELECT p.photo_id, p.path, p.path_raw, p.size_bytes, p.mtime_ns, p.content_hash,
                       m.mime, m.lat, m.lon, m.width, m.height, m.orientation{tags}
                FROM photos p
                LEFT JOIN media m USING (photo_id)
                LEFT JOIN stage_runs s ON s.photo_id = p.photo_id AND s.stage = ?
                WHERE p.status = 'present' AND p.content_hash IS NOT NULL
                  AND (s.photo_id IS NULL OR s.version != ? OR s.content_hash IS NOT p.content_hash)
                  {only}
                ORDER BY p.photo_id""", params, schema=STALE_SCHEMA)

    def write_stage(self, stage: str, version: str, results: pl.DataFrame,
                    hashes: dict[int, str]) -> None:
        """Store a stage's results and mark those photos done, in one transaction.

        `results` has `photo_id`, `error` and the stage table's columns; `hashes` maps each
        photo_id to the content hash the stage read (so a file changed meanwhile stays stale).
        """
        at = now_iso()
        ids = [int(i) for i in results["photo_id"]]
        table = STAGE_TABLES.get(stage)
        cols = [c for c in results.columns if c not in ("error",)]
        with self.transaction() as c:
            if stage == "faces":
                self._write_faces(c, results)
            elif stage in LONG_TABLES:
                self._write_long(c, *LONG_TABLES[stage], results)
            elif table is not None:
                self._write_table(c, table, results.select(cols))
            c.executemany(
                "INSERT OR REPLACE INTO stage_runs (photo_id, stage, version, content_hash, "
                "ran_at, error) VALUES (?,?,?,?,?,?)",
                [(i, stage, version, hashes.get(i), at, e)
                 for i, e in zip(ids, results["error"], strict=True)])
            for dependent in DEPENDENTS.get(stage, ()):
                c.executemany("DELETE FROM stage_runs WHERE photo_id = ? AND stage = ?",
                              [(i, dependent) for i in ids])

    @staticmethod
    def _write_table(c: sqlite3.Connection, table: str, rows: pl.DataFrame) -> None:
        """Insert or replace one row per photo (see `REQUIRED` and `FULL_TEXT`)."""
        failed: list[tuple[int]] = []
        if table in REQUIRED:
            failed = [(i,) for i in rows.filter(pl.col(REQUIRED[table]).is_null())["photo_id"]]
            c.executemany(f"DELETE FROM {table} WHERE photo_id = ?", failed)
            rows = rows.filter(pl.col(REQUIRED[table]).is_not_null())
        if table in FULL_TEXT:
            fts, text = FULL_TEXT[table]
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

    def _write_faces(self, c: sqlite3.Connection, results: pl.DataFrame) -> None:
        """Replace each photo's faces; a face whose box overlaps an old one keeps its face_id
        (and so every decision about it). A name the file gives becomes a decision by "file"."""
        for photo_id, faces in results.select("photo_id", "faces").iter_rows():
            if faces is None:  # detection failed: keep what was there
                continue
            old = c.execute("SELECT face_id, top, right, bottom, left FROM faces "
                            "WHERE photo_id = ?", (photo_id,)).fetchall()
            keep = match_boxes([o[1:] for o in old],
                               [(f["top"], f["right"], f["bottom"], f["left"]) for f in faces])
            for i, f in enumerate(faces):
                values = [f[k] for k in FACE_COLUMNS]
                if keep[i] is not None:
                    face_id = old[keep[i]][0]
                    c.execute(FACE_UPDATE, (*values, face_id))
                    continue
                face_id = c.execute(FACE_INSERT, (photo_id, *values)).lastrowid
                if f["file_name"]:
                    person = self._person_named(c, f["file_name"], "file")
                    self._decide(c, "face_person", photo_id,
                                 {"faces": [face_id], "person_id": person}, "file")
            gone = {o[0] for o in old} - {old[k][0] for k in keep if k is not None}
            c.executemany("DELETE FROM faces WHERE face_id = ?", [(g,) for g in gone])

    # -- vectors --------------------------------------------------------------------------

    def embedding_ids(self, model: str) -> np.ndarray:
        """Embedding ids of present photos' vectors of `model`, ascending."""
        return self.frame(
            "SELECT e.embedding_id FROM embeddings e JOIN photos p USING (photo_id) "
            "WHERE p.status = 'present' AND e.model = ? ORDER BY e.embedding_id", [model],
            schema={"embedding_id": pl.Int64})["embedding_id"].to_numpy()

    def vectors(self, embedding_ids: Sequence[int]) -> np.ndarray:
        """The float32 vectors of these embedding ids, one row each, in their order."""
        rows: list[bytes] = []
        for start in range(0, len(embedding_ids), 30_000):
            chunk = [int(i) for i in embedding_ids[start:start + 30_000]]
            got = dict(self.frame(
                f"SELECT embedding_id, vector FROM embeddings WHERE embedding_id IN "
                f"({','.join('?' * len(chunk))})", chunk).iter_rows())
            rows += [got[i] for i in chunk]
        return np.frombuffer(b"".join(rows), np.float32).reshape(len(rows), -1)

    def embedding_photos(self, embedding_ids: Sequence[int] | None = None,
                         photo_ids: Sequence[int] | None = None) -> pl.DataFrame:
        """`embedding_id`, `photo_id` for some embedding ids, or for some photos."""
        col, ids = (("embedding_id", embedding_ids) if embedding_ids is not None
                    else ("photo_id", photo_ids))
        ids = [int(i) for i in ids or []]
        return self.frame(
            f"SELECT embedding_id, photo_id FROM embeddings WHERE {col} IN "
            f"({','.join('?' * len(ids))})", ids,
            schema={"embedding_id": pl.Int64, "photo_id": pl.Int64})

    # -- people ---------------------------------------------------------------------------

    @staticmethod
    def _decide(c: sqlite3.Connection, kind: str, photo_id: int | None, value: Any,
                who: str) -> int:
        cur = c.execute(
            "INSERT INTO decisions (kind, photo_id, value, who, at) VALUES (?,?,?,?,?)",
            (kind, photo_id, json.dumps(value), who, now_iso()))
        return int(cur.lastrowid or 0)

    def _person_named(self, c: sqlite3.Connection, name: str, who: str,
                      create: bool = True) -> int | None:
        """The person now called `name` (any case), made when there is none."""
        row = c.execute(PERSON_BY_NAME, (name,)).fetchone()
        if row is not None or not create:
            return None if row is None else int(row[0])
        person = int(c.execute("INSERT INTO persons (created_at) VALUES (?)",
                               (now_iso(),)).lastrowid or 0)
        self._decide(c, "person_name", None, {"person_id": person, "name": name}, who)
        return person

    def person_named(self, name: str, who: str, create: bool = True) -> int | None:
        """The person_id of the person now called `name`, created (as a decision) if asked."""
        with self.transaction() as c:
            return self._person_named(c, name, who, create)

    def assign_faces(self, face_ids: Sequence[int], person: int | str, who: str) -> tuple[int, int]:
        """Decide that faces show a person, given by id or by name (made when new), in one
        transaction, so two kernels naming the same new person at once make one person."""
        with self.transaction() as c:
            pid = self._person_named(c, person, who) if isinstance(person, str) else int(person)
            if c.execute("SELECT 1 FROM persons WHERE person_id = ?", (pid,)).fetchone() is None:
                raise PersonNotFoundError(f"no person {pid}")
            d = self._decide(c, "face_person", None,
                             {"faces": [int(f) for f in face_ids], "person_id": pid}, who)
        return int(pid or 0), d

    def add_decisions(self, kind: str, rows: Sequence[tuple[int | None, Any]], who: str,
                      ) -> list[int]:
        """Several decisions of one kind (photo_id, value) in one transaction."""
        with self.transaction() as c:
            return [self._decide(c, kind, pid, value, who) for pid, value in rows]

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

    def write_clusters(self, clusters: pl.DataFrame, replace: bool = True) -> None:
        """Store a clustering (`face_id`, `cluster_id`, `probability`): all of it, or (with
        `replace=False`) the placement of some more faces."""
        with self.transaction() as c:
            if replace:
                c.execute("DELETE FROM face_clusters")
            c.executemany("INSERT OR REPLACE INTO face_clusters (face_id, cluster_id, probability) "
                          "VALUES (?,?,?)", clusters.select("face_id", "cluster_id",
                                                            "probability").iter_rows())

    def set_sidecar_sigs(self, rows: Sequence[tuple[int, str | None]]) -> None:
        """Remember each photo's sidecar signature and read its metadata again (a sidecar
        changed, appeared or went away)."""
        with self.transaction() as c:
            c.executemany("UPDATE photos SET sidecar_sig = ? WHERE photo_id = ?",
                          [(sig, pid) for pid, sig in rows])
            for stage in ("metadata", *DEPENDENTS["metadata"]):
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
            return self._decide(c, kind, photo_id, value, who)

    def decisions(self, kind: str | None = None) -> pl.DataFrame:
        where, params = ("WHERE kind = ?", [kind]) if kind else ("", [])
        return self.frame(
            f"SELECT decision_id, kind, photo_id, value, who, at FROM decisions {where} "
            "ORDER BY decision_id", params, schema=DECISION_SCHEMA)

    def active_decisions(self, *kinds: str) -> pl.DataFrame:
        """Decisions of these kinds that no later 'undo' decision took back, oldest first."""
        return self.frame(
            "SELECT decision_id, kind, photo_id, value, who, at FROM decisions WHERE kind IN "
            f"({','.join('?' * len(kinds))}) AND {NOT_UNDONE} ORDER BY decision_id",
            list(kinds), schema=DECISION_SCHEMA)

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
               "mtime_ns": pl.Int64, "content_hash": pl.String, "status": pl.String}
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
