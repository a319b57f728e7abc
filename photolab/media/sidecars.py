"""XMP sidecars beside photos (`photo.jpg.xmp`, `photo.xmp`): where they are, and a signature
that changes when one is added, edited or removed (the scan re-reads metadata then)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

from .listing import sidecar_names

SUFFIXES = (b".xmp", b".XMP")


def sidecar_candidates(path: bytes) -> list[bytes]:
    """`NAME.ext.xmp` (darktable, digiKam, photolab) first, then `NAME.xmp` (Lightroom)."""
    stem = os.path.splitext(path)[0]
    return [path + s for s in SUFFIXES] + [stem + s for s in SUFFIXES]


def find_sidecar(path: bytes) -> bytes | None:
    """The sidecar of a photo, or None."""
    return next((c for c in sidecar_candidates(path) if os.path.isfile(c)), None)


def _sig(path: bytes | None) -> str | None:
    """name:mtime_ns:content hash (a sidecar is small; the hash catches an edit that kept
    the mtime, as `rsync -t` or a restore from backup does)."""
    if path is None:
        return None
    try:
        st = os.stat(path)
        with open(path, "rb") as f:
            digest = hashlib.blake2b(f.read(), digest_size=8).hexdigest()
    except OSError:
        return None
    return f"{os.path.basename(path).decode(errors='replace')}:{st.st_mtime_ns}:{digest}"


def signatures(paths: Sequence[bytes]) -> list[str | None]:
    """Per photo, 'name:mtime_ns:hash' of its XMP and Google Takeout sidecars (None when it
    has neither). Each folder is listed once: a folder without any .xmp or .json file (most
    of them) costs no look-up per photo."""
    from .takeout import find_sidecar as takeout_sidecar

    out: list[str | None] = []
    for p in paths:
        if not sidecar_names(os.path.dirname(p)):
            out.append(None)
            continue
        parts = [s for s in (_sig(find_sidecar(p)), _sig(takeout_sidecar(p))) if s]
        out.append("|".join(parts) or None)
    return out


def orphans(paths: Sequence[bytes], extensions: Sequence[str]) -> list[bytes]:
    """Sidecars in the photos' folders that belong to no photo there: XMP files, and JSON
    files named like Takeout sidecars (a media extension or ".supplemental" in the name;
    an album's metadata.json is not one)."""
    import re

    from .takeout import candidates

    exts = "|".join(re.escape(e.lstrip(".")) for e in extensions)
    takeout_like = re.compile(rf"(?i)\.({exts})|\.supplemental".encode())
    folders: dict[bytes, list[bytes]] = {}
    for p in paths:
        folder, name = os.path.split(p)
        folders.setdefault(folder, []).append(name)
    out = []
    for folder, names in folders.items():
        listing = sidecar_names(folder)
        if not listing:  # nothing there can be an orphan
            continue
        claimed: set[bytes] = set()
        for n in names:
            claimed.update(os.path.basename(c) for c in sidecar_candidates(n))
            claimed.update(candidates(n))
        for f in listing:
            low = f.lower()
            is_xmp = low.endswith(b".xmp")
            is_json = low.endswith(b".json") and low != b"metadata.json" \
                and takeout_like.search(f[:-5]) is not None
            if (is_xmp or is_json) and f not in claimed:
                out.append(os.path.join(folder, f))
    return sorted(out)
