"""Columnar catalog reads in a helper process of their own.

ADBC's SQLite driver reads query results straight into Arrow columns, several times faster
than Python's `sqlite3` tuples at a million rows; but it links its own copy of SQLite, and two
copies of SQLite in one process cannot see each other's POSIX locks: closing one copy's
connection reset the `-wal` file under the other's (sqlite.org/howtocorrupt.html, "multiple
copies of SQLite linked into the same application"; docs/decisions.md). So the driver runs in
a child process that holds nothing else (`python -m photolab.columnar URI`), where SQLite's
locks work between processes as designed. Each result comes back as an Arrow IPC file in
shared memory (/dev/shm), which Polars maps without copying.

The helper starts when a large catalog opens (`photolab.catalog.COLUMNAR_MIN_PHOTOS`; a
small one reads as fast through `sqlite3`) and readies in about half a second while reads go
on through `sqlite3`, so no read waits for it (a dashboard's first page stays quick); a
helper that fails or dies only sends reads back to `sqlite3`. It opens the catalog
read-only.
"""

from __future__ import annotations

import json
import os
import select
import struct
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import IO, Any

import polars as pl

#: the driver's rows per Arrow batch: it infers each column's type from the first batch (a
#: column null there and text later fails, and the caller reads through sqlite3) and
#: reserves address space for a whole batch (8 bytes a row per column: 16 MB at 2M rows)
BATCH_OPTION = "adbc.sqlite.query.batch_rows"
BATCH_ROWS = 2**21
READY = b"R"
#: where results are handed over: shared memory where the system has it
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
_HEADER = struct.Struct("<?Q")  # ok, length


class ColumnarReader:
    """Reads for one catalog file through a helper process (see the module's docstring)."""

    def __init__(self, uri: str, batch_rows: int | None = None):
        self.uri, self.batch_rows = uri, batch_rows or BATCH_ROWS
        self._proc: subprocess.Popen[bytes] | None = None
        self._ready = False
        self._start()

    def __del__(self) -> None:
        self.close()

    def _start(self) -> None:
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "photolab.columnar", self.uri, str(self.batch_rows)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        except OSError:
            self._proc = None

    def ready(self, wait_s: float = 0.0) -> bool:
        """Whether the helper is up (waiting for it to start up to `wait_s`)."""
        p = self._proc
        if p is None or p.poll() is not None or p.stdout is None:
            return False
        if not self._ready and select.select([p.stdout], [], [], wait_s)[0]:
            self._ready = p.stdout.read(1) == READY
            if not self._ready:
                self.close()
        return self._ready

    def read(self, sql: str, params: Sequence[Any]) -> pl.DataFrame | None:
        """The query's rows as a frame, or None: the helper is not ready, the parameters are
        not plain values, or the driver could not answer (the caller reads through sqlite3)."""
        if not self.ready() or not all(isinstance(p, str | int | float) or p is None
                                       for p in params):
            return None
        p = self._proc
        assert p is not None and p.stdin is not None and p.stdout is not None
        fd, name = tempfile.mkstemp(prefix="photolab-read-", suffix=".arrow", dir=SCRATCH)
        os.close(fd)
        try:
            _send(p.stdin, json.dumps([sql, list(params), name]).encode())
            ok, _ = _receive(p.stdout)
            # memory-mapped: the columns stay where the helper wrote them (in memory, on a
            # tmpfs), and the name goes at once (the mapping outlives it)
            return pl.read_ipc(name) if ok else None
        except (OSError, ValueError, struct.error):
            self.close()
            return None
        finally:
            os.unlink(name)

    def close(self) -> None:
        p, self._proc, self._ready = self._proc, None, False
        if p is None:
            return
        try:
            if p.stdin is not None:
                p.stdin.close()
            p.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            p.kill()
        finally:
            if p.stdout is not None:
                p.stdout.close()


def _send(out: IO[bytes], payload: bytes, ok: bool = True) -> None:
    out.write(_HEADER.pack(ok, len(payload)) + payload)
    out.flush()


def _receive(src: IO[bytes]) -> tuple[bool, bytes]:
    head = src.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise ValueError("the helper went away")
    ok, n = _HEADER.unpack(head)
    body = src.read(n)
    if len(body) < n:
        raise ValueError("the helper went away")
    return ok, body


def serve(uri: str, batch_rows: int) -> None:
    """The helper: answer each query on stdin with Arrow IPC bytes on stdout until stdin
    closes."""
    import adbc_driver_sqlite.dbapi as adbc

    conn = adbc.connect(uri, autocommit=True)
    src, out = sys.stdin.buffer, sys.stdout.buffer
    out.write(READY)
    out.flush()
    while True:
        try:
            _, body = _receive(src)
        except ValueError:
            break  # the catalog closed
        sql, params, name = json.loads(body)
        try:
            cur = conn.cursor()
            try:
                cur.adbc_statement.set_options(**{BATCH_OPTION: str(batch_rows)})
                cur.execute(sql, params)
                frame = pl.DataFrame(cur.fetch_arrow())
            finally:
                cur.close()
            frame.write_ipc(name, compression="uncompressed")
            _send(out, b"")
        except Exception as e:  # any driver trouble: this read goes through sqlite3
            _send(out, str(e)[:500].encode(), ok=False)
            conn.close()
            conn = adbc.connect(uri, autocommit=True)
    conn.close()


if __name__ == "__main__":
    serve(sys.argv[1], int(sys.argv[2]))
