"""The semantic service (`lib.semantic`): the CLIP and caption models, the semantic, tags
and captions stages' work, and what they stored (vectors, scene tags, captions, the vector
index, embedding near-duplicates). Queries over them are `photolab.semantic.queries`'."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ..context import Service
from ..shown import SHOWN
from .index import VectorIndex
from .tags import SCENE_LABELS, label_table, label_vectors, labels_version, score_tags

if TYPE_CHECKING:
    from .captions import Captioner, CaptionParams
    from .clip import ClipModel, ClipParams

class SemanticService(Service):
    """Models and what the semantic stages stored (`lib.semantic`). Uses no other service;
    what it keeps loaded (`lib.loaded`): the model, its label vectors, the index, the
    captioner."""

    # -- the model --------------------------------------------------------------------------

    def clip_params(self) -> ClipParams:
        """The CLIP settings from `photolab.toml`."""
        from .clip import ClipParams

        s = self.settings
        return ClipParams(model=s.clip_model, pretrained=s.clip_pretrained,
                          cache_dir=s.clip_cache_dir, batch=s.clip_batch)

    def clip_fingerprint(self) -> str:
        """What identifies the current model's vectors (without loading it)."""
        return self.clip_params().fingerprint()

    def clip_model(self) -> ClipModel:
        """The CLIP model, loaded once (raises `ModelNotFoundError` saying how to get it)."""
        from .clip import ClipModel

        params = self.clip_params()
        return self.loaded.get("clip", params, lambda: ClipModel(params))

    def caption_params(self) -> CaptionParams:
        """The captioning settings from `photolab.toml`."""
        from .captions import CaptionParams

        s = self.settings
        return CaptionParams(model=s.caption_model, mmproj=s.caption_mmproj,
                             handler=s.caption_handler, prompt=s.caption_prompt,
                             max_tokens=s.caption_max_tokens)

    def captioner(self) -> Captioner:
        """The captioning model, loaded once (a clear error when it is off or missing)."""
        from .captions import Captioner

        params = self.caption_params()

        def load() -> Captioner:
            params.check()
            return Captioner(params)

        return self.loaded.get("captioner", params, load, lambda c: c.llm.close())

    def tags_version(self) -> str:
        s = self.settings
        labels = labels_version(SCENE_LABELS, s.tag_min_score, s.tag_top)
        return f"1:{self.clip_fingerprint()}:{labels}"

    def _label_vectors(self) -> tuple[pl.DataFrame, np.ndarray]:
        model = self.clip_model()

        def encode() -> tuple[pl.DataFrame, np.ndarray]:
            table = label_table(SCENE_LABELS)
            return label_vectors(model.encode_texts(table["prompt"].to_list()), table)

        return self.loaded.get("labels", model.params, encode)

    def tag_photos(self, frame: pl.DataFrame, tick: Callable[[int], None]) -> pl.DataFrame:
        keys, vecs = self._label_vectors()
        emb = self.embeddings(frame["photo_id"].to_list())
        s = self.settings
        scored = score_tags(vectors_matrix(emb), keys, vecs, s.tag_min_score, s.tag_top)
        tags = (scored.join(emb.select("photo_id").with_row_index("row")
                            .with_columns(pl.col("row").cast(pl.Int64)), on="row")
                .group_by("photo_id", maintain_order=True)
                .agg(tags=pl.struct("tag", "score")))
        out = frame.select("photo_id").join(
            emb.select("photo_id", has=pl.lit(True)), on="photo_id", how="left").join(
            tags, on="photo_id", how="left")
        tick(frame.height)
        return out.select(
            "photo_id",
            tags=pl.when("has").then(pl.col("tags").fill_null(pl.lit([], pl.List(
                pl.Struct({"tag": pl.String, "score": pl.Float64}))))),
            # no vector: the stage that failed on the photo said why (counted there, once)
            error=pl.lit(None, pl.String))

    # -- reading ----------------------------------------------------------------------------

    def embeddings(self, photo_ids: Sequence[int] | None = None) -> pl.DataFrame:
        """`photo_id`, `embedding_id`, `vector` (Array Float32) of present photos, this model."""
        sql = ("SELECT e.photo_id, e.embedding_id, e.vector FROM embeddings e JOIN photos p "
               "USING (photo_id) WHERE " + SHOWN + " AND e.model = ?{where} "
               "ORDER BY e.photo_id")
        schema = {"photo_id": pl.Int64, "embedding_id": pl.Int64, "vector": pl.Binary}
        model = [self.clip_fingerprint()]
        f = (self.catalog.frame(sql.format(where=""), model, schema) if photo_ids is None else
             self.catalog.frame_in(sql.format(where=" AND e.photo_id IN ({ids})"),
                                   sorted(int(i) for i in photo_ids), model, schema))
        return f.with_columns(vector=_vectors_column(f["vector"]))

    def _present(self, table: str, schema: dict[str, Any], order: str,
                 photo_ids: Sequence[int] | None) -> pl.DataFrame:
        """Rows of a per-photo table for present photos (optionally some of them), in
        `order` (which starts with `t.photo_id`)."""
        cols = ", ".join(f"t.{c}" for c in schema)
        sql = (f"SELECT {cols} FROM {table} t JOIN photos p USING (photo_id) "
               f"WHERE {SHOWN}")
        if photo_ids is None:
            return self.catalog.frame(f"{sql} ORDER BY {order}", schema=schema)
        # `order` starts with the photo id: sorted ids keep the chunks in order
        return self.catalog.frame_in(f"{sql} AND t.photo_id IN ({{ids}}) ORDER BY {order}",
                                     sorted({int(i) for i in photo_ids}), schema=schema)

    def scene_tags(self, photo_ids: Sequence[int] | None = None) -> pl.DataFrame:
        """Scene tags per photo: `photo_id`, `tag`, `score` (see `photolab.semantic.tags`)."""
        return self._present("scene_tags", {"photo_id": pl.Int64, "tag": pl.String,
                                            "score": pl.Float64},
                             "t.photo_id, t.score DESC", photo_ids)

    def scene_tag_names(self) -> list[str]:
        """Every scene tag some present photo has, sorted (what a tag filter offers)."""
        return self.catalog.frame(
            "SELECT DISTINCT t.tag FROM scene_tags t JOIN photos p USING (photo_id) "
            "WHERE " + SHOWN + " ORDER BY t.tag", schema={"tag": pl.String}
        )["tag"].to_list()

    def captions(self, photo_ids: Sequence[int] | None = None) -> pl.DataFrame:
        """Captions per photo: `photo_id`, `caption`, `model`."""
        return self._present("captions", {"photo_id": pl.Int64, "caption": pl.String,
                                          "model": pl.String}, "t.photo_id", photo_ids)

    def vector_index(self) -> VectorIndex:
        """The FAISS index of this model's vectors, brought in step with the catalog."""
        s = self.settings
        fp = self.clip_fingerprint()
        index = self.loaded.get(
            "index", (s.clip_index, s.clip_ef_search, self.read_only),
            lambda: VectorIndex(self.root / "index", "clip", s.clip_index,
                                ef_search=s.clip_ef_search, persist=not self.read_only))
        ids = self.catalog.embedding_ids(fp)
        if ids.size:
            index.sync(ids, self.catalog.vectors, fp, self.catalog.vectors(ids[:1]).shape[1])
        return index

    # -- the stages' work (see `photolab.stages`) -------------------------------------------

    def embed(self, frame: pl.DataFrame, tick: Callable[[int], None]) -> pl.DataFrame:
        from .embed import embed_photos

        return embed_photos(frame, self.thumbs_dir, "small", self.clip_model(), tick)

    def caption(self, frame: pl.DataFrame, tick: Callable[[int], None]) -> pl.DataFrame:
        from .captions import caption_photos

        return caption_photos(frame, self.thumbs_dir, "small", self.captioner(), tick)

    def embedding_pairs(self, max_distance: float = 0.01, k: int = 10) -> pl.DataFrame:
        """Pairs of photos whose CLIP vectors are within `max_distance` cosine distance
        (Immich's duplicate rule uses 0.01): `photo_id_a` < `photo_id_b`, `distance`."""
        emb = self.embeddings()
        empty = pl.DataFrame(schema={"photo_id_a": pl.Int64, "photo_id_b": pl.Int64,
                                     "distance": pl.Float32})
        if emb.height < 2:
            return empty
        index = self.vector_index()
        scores, ids = index.search(vectors_matrix(emb), min(k + 1, emb.height))
        by_eid = dict(zip(emb["embedding_id"], emb["photo_id"], strict=True))
        a = np.repeat(emb["photo_id"].to_numpy(), ids.shape[1])
        pairs = pl.DataFrame({"a": a, "eid": ids.ravel(), "distance": 1 - scores.ravel()})
        pairs = pairs.filter((pl.col("eid") >= 0) & (pl.col("distance") <= max_distance))
        pairs = pairs.with_columns(b=pl.col("eid").replace_strict(by_eid, default=None))
        return (pairs.filter(pl.col("a") != pl.col("b"))
                .select(photo_id_a=pl.min_horizontal("a", "b"),
                        photo_id_b=pl.max_horizontal("a", "b"),
                        distance=pl.col("distance").clip(0, None).cast(pl.Float32))
                .unique(["photo_id_a", "photo_id_b"]).sort("photo_id_a", "photo_id_b"))


def _vectors_column(blobs: pl.Series) -> pl.Series:
    if blobs.len() == 0:
        return pl.Series("vector", [], pl.Array(pl.Float32, 1))
    flat = np.frombuffer(b"".join(blobs.to_list()), np.float32)
    return pl.Series("vector", flat.reshape(blobs.len(), -1))


def vectors_matrix(emb: pl.DataFrame) -> np.ndarray:
    if emb.height == 0:
        return np.zeros((0, 1), np.float32)
    return emb["vector"].to_numpy().astype(np.float32, copy=False)
