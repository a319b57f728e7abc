"""XMP sidecars beside photos (`photo.jpg.xmp`, `photo.xmp`): where they are, and a signature
that changes when one is added, edited or removed (the scan re-reads metadata then)."""

from __future__ import annotations

import os
from collections.abc import Sequence

SUFFIXES = (b".xmp", b".XMP")


def sidecar_candidates(path: bytes) -> list[bytes]:
    """`NAME.ext.xmp` (darktable, digiKam, photolab) first, then `NAME.xmp` (Lightroom)."""
    stem = os.path.splitext(path)[0]
    return [path + s for s in SUFFIXES] + [stem + s for s in SUFFIXES]


def find_sidecar(path: bytes) -> bytes | None:
    """The sidecar of a photo, or None."""
    return next((c for c in sidecar_candidates(path) if os.path.isfile(c)), None)


def signatures(paths: Sequence[bytes]) -> list[str | None]:
    """Per photo, 'size:mtime_ns' of its sidecar (None when it has none)."""
    out: list[str | None] = []
    for p in paths:
        sig = None
        for c in sidecar_candidates(p):
            try:
                st = os.stat(c)
            except OSError:
                continue
            sig = f"{os.path.basename(c).decode(errors='replace')}:{st.st_size}:{st.st_mtime_ns}"
            break
        out.append(sig)
    return out
