"""The semantic stage: one CLIP image vector per photo, from its small thumbnail."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from PIL import Image

from ..media.thumbnails import thumb_path

EMBED_SCHEMA = {"photo_id": pl.Int64, "model": pl.String, "vector": pl.Binary,
                "error": pl.String}


def _open(path: Path) -> Any:
    with Image.open(path) as im:
        return im.convert("RGB")


def embed_photos(frame: pl.DataFrame, thumbs_dir: Path, size: str, model: Any,
                 tick: Callable[[int], None]) -> pl.DataFrame:
    """Embed each photo's `size` thumbnail with `model` (a `ClipModel`).

    `frame` has `photo_id` and `content_hash`. Returns `photo_id`, `model` (its fingerprint),
    `vector` (float32 bytes, unit length) and `error` (a photo without a readable thumbnail).
    """
    ids = frame["photo_id"].to_list()
    paths = [thumb_path(thumbs_dir, h, size) for h in frame["content_hash"]]
    images: list[Any] = [None] * len(ids)
    errors: list[str | None] = [None] * len(ids)

    def load(i: int) -> None:
        try:
            images[i] = _open(paths[i])
        except FileNotFoundError:
            pass  # the thumbnails stage failed on it and says why (counted there, once)
        except OSError as e:
            errors[i] = f"unreadable thumbnail: {e}"

    with ThreadPoolExecutor(4) as pool:  # Pillow decodes WebP without the GIL
        list(pool.map(load, range(len(ids))))
    ok = [i for i in range(len(ids)) if images[i] is not None]
    vectors = model.encode_images([images[i] for i in ok]) if ok else None
    blobs: list[bytes | None] = [None] * len(ids)
    for row, i in enumerate(ok):
        blobs[i] = np.asarray(vectors[row], np.float32).tobytes()  # type: ignore[index]
    tick(len(ids))
    return pl.DataFrame({"photo_id": ids, "model": [model.fingerprint] * len(ids),
                         "vector": blobs, "error": errors}, schema=EMBED_SCHEMA)
