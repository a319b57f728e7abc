"""The search verbs of `Library`: text and image queries over CLIP vectors, scene tags,
embedding near-duplicates, and the filters they combine with."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ..errors import PhotolabError, PhotoNotFoundError
from .index import VectorIndex
from .tags import SCENE_LABELS, label_table, label_vectors, labels_version, score_tags

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..loaded import Loaded
    from ..settings import Settings
    from .captions import Captioner, CaptionParams
    from .clip import ClipModel, ClipParams

#: with a filter leaving at most this many photos, search them exactly (numpy), not the index
EXACT_MAX = 20_000
RESULT_SCHEMA = {"photo_id": pl.Int64, "score": pl.Float32, "rank": pl.Int64,
                 "path": pl.String, "taken_at": pl.Datetime("us"), "caption": pl.String}


class SearchVerbs:
    """Mixed into `Library`: needs `catalog`, `settings`, `root`, `thumbs_dir`, `read_only`,
    `loaded`, `photos()`, `faces()`, `places()`."""

    catalog: Catalog
    settings: Settings
    root: Path
    thumbs_dir: Path
    photos: Callable[..., pl.DataFrame]
    faces: Callable[..., pl.DataFrame]
    places: Callable[..., pl.DataFrame]
    read_only: bool
    #: what this library keeps loaded (`photolab.loaded.Loaded`): the model, its label
    #: vectors, the index, the captioner
    loaded: Loaded

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

    def _run_tags(self, frame: pl.DataFrame, tick: Callable[[int], None]) -> pl.DataFrame:
        keys, vecs = self._label_vectors()
        emb = self.embeddings(frame["photo_id"].to_list())
        s = self.settings
        scored = score_tags(_matrix(emb), keys, vecs, s.tag_min_score, s.tag_top)
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
               "USING (photo_id) WHERE p.status = 'present' AND e.model = ?{where} "
               "ORDER BY e.photo_id")
        schema = {"photo_id": pl.Int64, "embedding_id": pl.Int64, "vector": pl.Binary}
        model = [self.clip_fingerprint()]
        f = (self.catalog.frame(sql.format(where=""), model, schema) if photo_ids is None else
             self.catalog.frame_in(sql.format(where=" AND e.photo_id IN ({ids})"),
                                   sorted(int(i) for i in photo_ids), model, schema))
        return f.with_columns(vector=_vectors_column(f["vector"]))

    def _present(self, table: str, schema: dict[str, Any], order: str,
                 photo_ids: Sequence[int] | None) -> pl.DataFrame:
        """Rows of a per-photo table for present photos (optionally some of them)."""
        cols = ", ".join(f"t.{c}" for c in schema)
        f = self.catalog.frame(f"SELECT {cols} FROM {table} t JOIN photos p USING (photo_id) "
                               f"WHERE p.status = 'present' ORDER BY {order}", schema=schema)
        return f if photo_ids is None else f.filter(pl.col("photo_id").is_in(photo_ids))

    def scene_tags(self, photo_ids: Sequence[int] | None = None) -> pl.DataFrame:
        """Scene tags per photo: `photo_id`, `tag`, `score` (see `photolab.semantic.tags`)."""
        return self._present("scene_tags", {"photo_id": pl.Int64, "tag": pl.String,
                                            "score": pl.Float64},
                             "t.photo_id, t.score DESC", photo_ids)

    def captions(self, photo_ids: Sequence[int] | None = None) -> pl.DataFrame:
        """Captions per photo: `photo_id`, `caption`, `model`."""
        return self._present("captions", {"photo_id": pl.Int64, "caption": pl.String,
                                          "model": pl.String}, "t.photo_id", photo_ids)

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
        allowed = self.filter_photos(**filters)
        if allowed is not None:
            hits = hits.filter(pl.col("photo_id").is_in(allowed.tolist()))
        return self._results(hits.head(k).with_columns(pl.col("score").cast(pl.Float32)))

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

    def _run_semantic(self, frame: pl.DataFrame, tick: Callable[[int], None]) -> pl.DataFrame:
        from .embed import embed_photos

        return embed_photos(frame, self.thumbs_dir, "small", self.clip_model(), tick)

    def _run_captions(self, frame: pl.DataFrame, tick: Callable[[int], None]) -> pl.DataFrame:
        from .captions import caption_photos

        return caption_photos(frame, self.thumbs_dir, "small", self.captioner(), tick)

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
        query = self.clip_model().encode_texts([text])[0]
        return self._query(query, k, self.filter_photos(**filters))

    def similar(self, photo_id: int, k: int = 50, **filters: Any) -> pl.DataFrame:
        """Photos that look like `photo_id` (itself left out), best first; filters as `search`."""
        emb = self.embeddings([photo_id])
        if emb.height == 0:
            if self.catalog.frame("SELECT 1 FROM photos WHERE photo_id = ?",
                                  [int(photo_id)]).height == 0:
                raise PhotoNotFoundError(f"no photo {photo_id} in {self.root}")
            raise PhotolabError(f"photo {photo_id} has no CLIP vector yet: run the semantic "
                                "stage (photolab ingest)")
        out = self._query(_matrix(emb)[0], k + 1, self.filter_photos(**filters))
        return (out.filter(pl.col("photo_id") != photo_id).head(k)
                .with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64)))

    def _query(self, query: np.ndarray, k: int, allowed: np.ndarray | None) -> pl.DataFrame:
        if allowed is not None and allowed.size <= EXACT_MAX:
            emb = self.embeddings([int(i) for i in allowed])
            scores = _matrix(emb) @ query
            order = np.argsort(-scores, kind="stable")[:k]
            hits = pl.DataFrame({"photo_id": emb["photo_id"].to_numpy()[order],
                                 "score": scores[order].astype(np.float32)})
        else:
            index = self.vector_index()
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
        return self._results(hits)

    def recent(self, k: int | None = None, **filters: Any) -> pl.DataFrame:
        """Photos newest first (by capture date), filters as `search`; `score` is null.
        What a gallery shows before anyone types."""
        allowed = self.filter_photos(**filters)
        photos = self.photos()
        p = photos.select("photo_id", "taken_at")
        if allowed is not None:
            p = p.filter(pl.col("photo_id").is_in(allowed.tolist()))
        p = p.sort(["taken_at", "photo_id"], descending=True, nulls_last=True)
        hits = (p.head(k) if k else p).select("photo_id", score=pl.lit(None, pl.Float32))
        return self._results(hits, by_score=False, photos=photos)

    def _results(self, hits: pl.DataFrame, by_score: bool = True,
                 photos: pl.DataFrame | None = None) -> pl.DataFrame:
        """Number `photo_id`, `score` hits (best first, or in their order) and add what a
        person looks at (from `photos` when the caller has read them already)."""
        photos = self.photos() if photos is None else photos
        info = photos.select("photo_id", "path", "taken_at").join(
            self.captions().select("photo_id", "caption"), on="photo_id", how="left")
        found = hits.join(info, on="photo_id", how="inner", maintain_order="left")
        if by_score:
            found = found.sort(["score", "photo_id"], descending=[True, False])
        return (found.with_row_index("rank", offset=1)
                .select(list(RESULT_SCHEMA)).cast(RESULT_SCHEMA))  # type: ignore[arg-type]

    def filter_photos(self, after: date | str | None = None, before: date | str | None = None,
                      person: str | Sequence[str] | None = None, place: str | None = None,
                      camera: str | None = None, tag: str | Sequence[str] | None = None,
                      photo_ids: Sequence[int] | None = None) -> np.ndarray | None:
        """The photo ids every given filter admits (None: no filter given)."""
        keep: set[int] | None = None

        def narrow(ids: Any) -> None:
            nonlocal keep
            got = {int(i) for i in ids}
            keep = got if keep is None else keep & got

        if photo_ids is not None:
            narrow(photo_ids)
        if after is not None or before is not None or camera:
            p = self.photos()
            cond = pl.lit(True)
            if after is not None:
                cond &= pl.col("taken_at") >= _when(after)
            if before is not None:
                cond &= pl.col("taken_at") < _when(before, end=True)
            if camera:
                cond &= pl.concat_str("camera_make", "camera_model", separator=" ",
                                      ignore_nulls=True).str.to_lowercase().str.contains(
                    camera.lower(), literal=True)
            narrow(p.filter(cond)["photo_id"])
        names = [person] if isinstance(person, str) else list(person or [])
        if names:
            faces = self.faces(encodings=False).select(
                "photo_id", name=pl.col("person_name").str.to_lowercase())
            for name in names:
                narrow(faces.filter(pl.col("name") == name.lower())["photo_id"])
        if place:
            pl_ = self.places()
            low = place.lower()
            narrow(pl_.filter(pl.any_horizontal(
                pl.col(c).str.to_lowercase() == low
                for c in ("country", "country_code", "region", "subregion", "city",
                          "locality")))["photo_id"])
        wanted = [tag] if isinstance(tag, str) else list(tag or [])
        if wanted:
            tags = self.scene_tags()
            for t in wanted:
                narrow(tags.filter(pl.col("tag") == t)["photo_id"])
        return None if keep is None else np.array(sorted(keep), np.int64)

    def embedding_pairs(self, max_distance: float = 0.01, k: int = 10) -> pl.DataFrame:
        """Pairs of photos whose CLIP vectors are within `max_distance` cosine distance
        (Immich's duplicate rule uses 0.01): `photo_id_a` < `photo_id_b`, `distance`."""
        emb = self.embeddings()
        empty = pl.DataFrame(schema={"photo_id_a": pl.Int64, "photo_id_b": pl.Int64,
                                     "distance": pl.Float32})
        if emb.height < 2:
            return empty
        index = self.vector_index()
        scores, ids = index.search(_matrix(emb), min(k + 1, emb.height))
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


def _matrix(emb: pl.DataFrame) -> np.ndarray:
    if emb.height == 0:
        return np.zeros((0, 1), np.float32)
    return emb["vector"].to_numpy().astype(np.float32, copy=False)


def _when(value: date | datetime | str, end: bool = False) -> datetime:
    """A filter bound; a date alone covers its whole day (both bounds include it)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value or ":" in value else \
            date.fromisoformat(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    d = datetime(value.year, value.month, value.day)
    return d + timedelta(days=1) if end else d
