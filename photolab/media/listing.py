"""Which sidecar-like files a folder holds, listed once per folder and change: the XMP and
Google Takeout sidecar look-ups of a scan ask per photo, and most folders have none."""

from __future__ import annotations

import os
from functools import lru_cache


def sidecar_names(folder: bytes) -> frozenset[bytes]:
    """The .xmp and .json file names in a folder (listed again when the folder changes)."""
    try:
        return _listed(folder, os.stat(folder or b".").st_mtime_ns)
    except OSError:
        return frozenset()


@lru_cache(maxsize=4096)
def _listed(folder: bytes, mtime_ns: int) -> frozenset[bytes]:
    try:
        return frozenset(n for n in os.listdir(folder or b".")
                         if n.lower().endswith((b".xmp", b".json")))
    except OSError:
        return frozenset()
