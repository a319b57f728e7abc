"""A FAISS inner-product index over unit vectors, kept in step with the catalog.

Vectors are keyed by the catalog's `embedding_id`, which changes whenever a photo's vector
does, so comparing id sets tells what to add and what to drop. The index is saved beside the
catalog (`<library>/index/<name>.faiss` + `.json`) and rebuilt from the catalog when missing,
of another model, or of the wrong kind. Below `FLAT_MAX` vectors it is exact (flat), above it
HNSW; `kind` overrides.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

FLAT_MAX = 50_000
KINDS = ("auto", "flat", "hnsw")


def choose_kind(n: int, kind: str = "auto") -> str:
    """"flat" below `FLAT_MAX` vectors, "hnsw" from there on, unless `kind` says which."""
    if kind not in KINDS:
        raise ValueError(f"index kind {kind!r}: one of {KINDS}")
    return kind if kind != "auto" else ("flat" if n < FLAT_MAX else "hnsw")


def new_index(dim: int, kind: str, hnsw_m: int = 32, ef_construction: int = 80) -> object:
    """An empty id-mapped inner-product index of `kind` ("flat" or "hnsw")."""
    import faiss

    if kind == "flat":
        inner = faiss.IndexFlatIP(dim)
    else:
        inner = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = ef_construction
    return faiss.IndexIDMap2(inner)


def knn(index: object, queries: np.ndarray, k: int, kind: str, ef_search: int = 64,
        allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores, ids) per query; `allowed` limits the ids searched. Missing: id -1."""
    import faiss

    params = None
    if kind == "hnsw" or allowed is not None:
        params = (faiss.SearchParametersHNSW(efSearch=max(ef_search, k)) if kind == "hnsw"
                  else faiss.SearchParameters())
        if allowed is not None:
            params.sel = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, np.int64))
    q = np.ascontiguousarray(queries, np.float32)
    return index.search(q, k, params=params)  # type: ignore[attr-defined]


class VectorIndex:
    """One named index file of a library, synced to the catalog on demand.

    Parameters
    ----------
    folder : `<library>/index`.
    name : file stem ("clip").
    kind : "auto", "flat" or "hnsw".
    hnsw_m, ef_construction, ef_search : HNSW graph degree and search breadth.
    persist : save the index when it changed (False: kept in memory only, for a read-only
        library, whose folder nothing may be written into).
    """

    def __init__(self, folder: Path, name: str = "clip", kind: str = "auto",
                 hnsw_m: int = 32, ef_construction: int = 80, ef_search: int = 64,
                 persist: bool = True):
        choose_kind(0, kind)
        self.persist = persist
        self.folder, self.name, self.kind = Path(folder), name, kind
        self.hnsw_m, self.ef_construction, self.ef_search = hnsw_m, ef_construction, ef_search
        self.index: object | None = None
        self.meta: dict[str, object] = {}
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.folder / f"{self.name}.faiss"

    def __len__(self) -> int:
        return 0 if self.index is None else int(self.index.ntotal)  # type: ignore[attr-defined]

    def ids(self) -> np.ndarray:
        import faiss

        if self.index is None:
            return np.zeros(0, np.int64)
        return faiss.vector_to_array(self.index.id_map)  # type: ignore[attr-defined]

    def _load(self, model: str, dim: int, kind: str) -> None:
        import faiss

        meta_path = self.path.with_suffix(".json")
        if self.index is not None or not self.path.exists() or not meta_path.exists():
            return
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("model") == model and meta.get("dim") == dim and meta.get("kind") == kind:
                self.index, self.meta = faiss.read_index(str(self.path)), meta
        except (OSError, ValueError, RuntimeError):
            self.index = None  # unreadable: rebuilt from the catalog below

    def sync(self, ids: np.ndarray, fetch: Callable[[np.ndarray], np.ndarray], model: str,
             dim: int) -> dict[str, int]:
        """Make the index hold exactly `ids` (embedding ids of `model`), fetching the vectors of
        ids it lacks; save it when it changed. Returns counts `added`, `removed`, `rebuilt`."""
        with self._lock:
            kind = choose_kind(len(ids), self.kind)
            if self.meta.get("model") != model or self.meta.get("kind") != kind:
                self.index, self.meta = None, {}
            self._load(model, dim, kind)
            have = self.ids()
            new = np.setdiff1d(ids, have, assume_unique=True)
            gone = np.setdiff1d(have, ids, assume_unique=True)
            stats = {"added": 0, "removed": 0, "rebuilt": 0}
            if self.index is not None and gone.size and kind == "hnsw":
                self.index = None  # HNSW cannot remove: rebuild
            if self.index is None:
                self.index = new_index(dim, kind, self.hnsw_m, self.ef_construction)
                self.meta = {"model": model, "dim": dim, "kind": kind}
                new, gone = np.asarray(ids, np.int64), np.zeros(0, np.int64)
                stats["rebuilt"] = 1
            if gone.size:
                self.index.remove_ids(gone)  # type: ignore[attr-defined]
                stats["removed"] = int(gone.size)
            for start in range(0, new.size, 100_000):
                chunk = new[start:start + 100_000]
                self.index.add_with_ids(  # type: ignore[attr-defined]
                    np.ascontiguousarray(fetch(chunk), np.float32), chunk)
                stats["added"] += int(chunk.size)
            if self.persist and (stats["added"] or stats["removed"] or stats["rebuilt"]):
                self.save()
            return stats

    def save(self) -> None:
        """Write the index and its meta data atomically (a reader sees old or new, whole)."""
        import faiss

        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        faiss.write_index(self.index, str(tmp))
        tmp.replace(self.path)
        meta_tmp = tmp.with_suffix(".json.tmp")
        meta_tmp.write_text(json.dumps(self.meta))
        meta_tmp.replace(self.path.with_suffix(".json"))

    def search(self, queries: np.ndarray, k: int,
               allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, embedding ids) per query row; -1 where fewer than k match."""
        if self.index is None or len(self) == 0:
            n = len(queries)
            return np.zeros((n, 0), np.float32), np.zeros((n, 0), np.int64)
        k = min(k, len(self))
        return knn(self.index, queries, k, str(self.meta["kind"]), self.ef_search, allowed)
