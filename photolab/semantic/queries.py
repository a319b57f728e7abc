"""The search service (`lib.search`; `lib.search("a dog")` is `search()`): text and image
queries over CLIP vectors and captions, with the filters and result rows they share with the
galleries (`photolab.browse`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ..context import Service
from ..errors import PhotolabError, PhotoNotFoundError
from .verbs import vectors_matrix

if TYPE_CHECKING:
    from ..browse import BrowseService
    from ..context import Context
    from .verbs import SemanticService

#: with a filter leaving at most this many photos, search them exactly (numpy), not the index
EXACT_MAX = 20_000


class SearchService(Service):
    """Queries (`lib.search`). Uses the semantic service (the model, vectors, index) and
    browse (filters, result rows)."""

    def __init__(self, ctx: Context, semantic: SemanticService, browse: BrowseService):
        super().__init__(ctx)
        self.semantic, self.browse = semantic, browse

    def __call__(self, text: str, k: int = 50, **filters: Any) -> pl.DataFrame:
        return self.search(text, k, **filters)

    # -- queries ----------------------------------------------------------------------------

    def search(self, text: str, k: int = 50, **filters: Any) -> pl.DataFrame:
        """Photos that match a description, best first.

        Parameters
        ----------
        text : what to look for ("a dog on the beach").
        k : how many to return.
        **filters : `after`, `before` (dates, both included), `person` (a name or list of
            names, all of them in the photo), `place` (a country, region or city name),
            `camera` (part of the make or model), `tag` (scene tags, all of them),
            `photo_ids` (a subset).

        Returns
        -------
        `photo_id`, `score` (cosine similarity), `rank` (1 = best), `path`, `taken_at`,
        `caption` (null until the captions stage ran).
        """
        if not text or not text.strip():
            raise PhotolabError("search needs some words")
        query = self.semantic.clip_model().encode_texts([text])[0]
        return self._query(query, k, self.browse.filter_photos(**filters))

    def similar(self, photo_id: int, k: int = 50, **filters: Any) -> pl.DataFrame:
        """Photos that look like `photo_id` (itself left out), best first; filters as `search`."""
        emb = self.semantic.embeddings([photo_id])
        if emb.height == 0:
            if self.catalog.frame("SELECT 1 FROM photos WHERE photo_id = ?",
                                  [int(photo_id)]).height == 0:
                raise PhotoNotFoundError(f"no photo {photo_id} in {self.root}")
            raise PhotolabError(f"photo {photo_id} has no CLIP vector yet: run the semantic "
                                "stage (photolab ingest)")
        out = self._query(vectors_matrix(emb)[0], k + 1, self.browse.filter_photos(**filters))
        return (out.filter(pl.col("photo_id") != photo_id).head(k)
                .with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64)))

    def _query(self, query: np.ndarray, k: int, allowed: np.ndarray | None) -> pl.DataFrame:
        if allowed is not None and allowed.size <= EXACT_MAX:
            emb = self.semantic.embeddings([int(i) for i in allowed])
            scores = vectors_matrix(emb) @ query
            order = np.argsort(-scores, kind="stable")[:k]
            hits = pl.DataFrame({"photo_id": emb["photo_id"].to_numpy()[order],
                                 "score": scores[order].astype(np.float32)})
        else:
            index = self.semantic.vector_index()
            sel = None
            if allowed is not None:
                sel = self.catalog.embedding_photos(photo_ids=allowed.tolist())[
                    "embedding_id"].to_numpy()
            scores, ids = index.search(query[None, :], k, sel)
            keep = ids[0] >= 0
            found = pl.DataFrame({"embedding_id": ids[0][keep], "score": scores[0][keep]})
            hits = found.join(  # only the hits' photo ids, not the whole table per query
                self.catalog.embedding_photos(embedding_ids=found["embedding_id"].to_list()),
                on="embedding_id", maintain_order="left").select("photo_id", "score")
        return self.browse.results(hits)

    def search_captions(self, text: str, k: int = 50, **filters: Any) -> pl.DataFrame:
        """Photos whose caption has every word of `text` (SQLite FTS5, best BM25 first);
        filters as `search`. Same columns as `search`, `score` the negated BM25 rank."""
        words = text.split()
        if not words:
            raise PhotolabError("search needs some words")
        query = " ".join('"' + w.replace('"', '""') + '"' for w in words)  # FTS5 strings
        hits = self.catalog.frame(
            "SELECT rowid AS photo_id, -bm25(captions_fts) AS score FROM captions_fts "
            "WHERE captions_fts MATCH ? ORDER BY bm25(captions_fts)", [query],
            schema={"photo_id": pl.Int64, "score": pl.Float64})
        allowed = self.browse.filter_photos(**filters)
        if allowed is not None:
            hits = hits.filter(pl.col("photo_id").is_in(allowed.tolist()))
        return self.browse.results(hits.head(k).with_columns(pl.col("score").cast(pl.Float32)))
