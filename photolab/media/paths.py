"""File names that are not UTF-8 (old cameras, Windows-1252 archives) survive every tool."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager


@contextmanager
def utf8_paths(raws: Sequence[bytes]) -> Iterator[list[str]]:
    """str paths that any library can encode: each path itself where it is UTF-8, else a
    temporary symlink with a plain name (removed on exit)."""
    out: list[str | None] = []
    for raw in raws:
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(None)
    if all(p is not None for p in out):
        yield out  # type: ignore[misc]
        return
    with tempfile.TemporaryDirectory(prefix="photolab-") as d:
        for i, raw in enumerate(raws):
            if out[i] is None:
                ext = os.path.splitext(raw)[1].decode("ascii", "replace")
                link = os.path.join(d, f"{i}{ext}")
                os.symlink(raw, link)
                out[i] = link
        yield out  # type: ignore[misc]
