"""Scan stage: walk folder trees into a frame of files, and hash their content.

Paths travel as raw bytes (`path_raw`) so names that are not valid UTF-8 survive; `path`
is the printable form.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import polars as pl

SCAN_SCHEMA = {"path_raw": pl.Binary, "path": pl.String, "size_bytes": pl.Int64,
               "mtime_ns": pl.Int64, "error": pl.String}
HASH_CHUNK = 1 << 20


def walk(roots: Iterable[str | os.PathLike[str]], extensions: Iterable[str],
         follow_symlinks: bool = True,
         exclude: Iterable[str | os.PathLike[str]] = ()) -> pl.DataFrame:
    """List the media files under `roots`, recursively.

    Parameters
    ----------
    roots : folders (or single files) to scan.
    extensions : lower-case suffixes to keep, with the dot (".jpg").
    follow_symlinks : descend into symlinked folders; a folder reached twice (a loop) is
        skipped, and a symlink that cannot be resolved becomes a row with an error.

    Returns
    -------
    Frame with `path_raw`, `path`, `size_bytes`, `mtime_ns`, `error` (null when fine).

    Example
    -------
    >>> walk(["/nonexistent"], [".jpg"])["error"][0]
    'not found: /nonexistent'
    """
    exts = {e.lower().encode() for e in extensions}
    rows: list[tuple[bytes, str, int | None, int | None, str | None]] = []
    seen_dirs: set[tuple[int, int]] = set()
    for folder in exclude:  # marked as visited, so the walk never enters them
        with contextlib.suppress(OSError):
            st = os.stat(folder)
            seen_dirs.add((st.st_dev, st.st_ino))

    def add(raw: bytes, st: os.stat_result | None, error: str | None) -> None:
        shown = raw.decode("utf-8", "backslashreplace")
        rows.append((raw, shown, st.st_size if st else None, st.st_mtime_ns if st else None,
                     error))

    def visit_dir(top: bytes) -> None:
        stack = [top]
        while stack:
            d = stack.pop()
            try:
                st = os.stat(d)
            except OSError as e:
                add(d, None, f"cannot open folder: {e.strerror}")
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen_dirs:  # a symlink loop or a second way into the same folder
                continue
            seen_dirs.add(key)
            try:
                entries = sorted(os.scandir(d), key=lambda e: e.name)
            except OSError as e:
                add(d, None, f"cannot list folder: {e.strerror}")
                continue
            subdirs = []
            for entry in entries:
                try:
                    is_dir = entry.is_dir(follow_symlinks=follow_symlinks)
                except OSError:
                    is_dir = False
                if is_dir:
                    subdirs.append(entry.path)
                elif os.path.splitext(entry.name)[1].lower() in exts:
                    visit_file(entry.path)
            stack.extend(reversed(subdirs))

    def visit_file(f: bytes) -> None:
        try:
            st = os.stat(f)
        except OSError as e:
            add(f, None, f"cannot stat: {e.strerror}")
            return
        if not stat.S_ISREG(st.st_mode):
            add(f, None, "not a regular file")
        elif not os.access(f, os.R_OK):
            add(f, st, "unreadable: permission denied")
        else:
            add(f, st, None)

    for root in roots:
        raw = os.path.abspath(os.fsencode(root))
        if os.path.isdir(raw):
            visit_dir(raw)
        elif os.path.exists(raw):
            visit_file(raw)
        else:
            add(raw, None, f"not found: {raw.decode('utf-8', 'backslashreplace')}")
    frame = pl.DataFrame(rows, schema=SCAN_SCHEMA, orient="row")
    return frame.unique("path_raw", keep="first", maintain_order=True)


def hash_file(path: bytes | str) -> str:
    """blake2b-128 hex digest of a file's bytes."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def hash_files(files: pl.DataFrame, workers: int = 2,
               on_done: Callable[[int], None] | None = None) -> pl.DataFrame:
    """Add `content_hash` to a frame of files (threads; hashlib releases the GIL).

    A file that cannot be read gets a null hash and its `error` set; files with an error
    already are passed through unhashed.
    """
    def one(row: tuple[bytes, str | None]) -> tuple[str | None, str | None]:
        raw, error = row
        if error is not None:
            return None, error
        try:
            return hash_file(raw), None
        except OSError as e:
            return None, f"cannot read: {e.strerror or e}"
        finally:
            if on_done:
                on_done(1)

    with ThreadPoolExecutor(max(1, workers)) as pool:
        out = list(pool.map(one, files.select("path_raw", "error").iter_rows()))
    return files.with_columns(
        pl.Series("content_hash", [h for h, _ in out], dtype=pl.String),
        pl.Series("error", [e for _, e in out], dtype=pl.String),
    )
