"""Finding photos by words without a CLIP model: what people and files say about each photo
(title, description, keywords, people, albums), where it was taken, with what, when, and its
caption, as one lowercase, accent-free text per photo.

`search_words("alice rome 2019")` gives the photos whose text has every word (each word
matches the start of a word: "flor" finds Florence), most mentions first, then newest.
`find` is what a search box calls: these word matches, or, when no photo has every word and
the library has CLIP vectors and the model loads, the photos that look like the description
(a nearest-neighbour search always answers k photos, so it never pads a word match).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import polars as pl

from .context import Service
from .errors import PhotolabError
from .materialised import kept

if TYPE_CHECKING:
    from .browse import BrowseService
    from .context import Context
    from .faces.verbs import FacesService
    from .photos import PhotosService
    from .places.verbs import PlacesService
    from .semantic.queries import SearchService
    from .semantic.verbs import SemanticService

#: words a description has that no photo's text is about
STOP_WORDS = frozenset({
    "a", "an", "and", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to",
    "with", "photo", "photos", "picture", "pictures", "pic", "pics", "image", "images"})


def plain(text: pl.Expr) -> pl.Expr:
    """Lowercase text without accents ("Zürich" -> "zurich")."""
    return text.str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_lowercase()


def query_words(text: str) -> list[str]:
    """The words of a description that a photo's text must have."""
    import unicodedata

    flat = "".join(c for c in unicodedata.normalize("NFKD", text.lower())
                   if not unicodedata.combining(c))
    return [w for w in re.findall(r"\w+", flat) if w not in STOP_WORDS]


class WordsService(Service):
    """Finding photos by words (`lib.words`). Uses the photos, places, faces, semantic
    (captions, scene tags), browse (filters, result rows) and search services."""

    def __init__(self, ctx: Context, photos: PhotosService, places: PlacesService,
                 faces: FacesService, semantic: SemanticService, browse: BrowseService,
                 search: SearchService):
        super().__init__(ctx)
        self.photos, self.places, self.faces = photos, places, faces
        self.semantic, self.browse, self.search = semantic, browse, search

    def word_texts(self) -> pl.DataFrame:
        """`photo_id`, `text`, `taken_at`: what `search_words` matches, per present photo
        (kept for the catalog's generation)."""
        return self._word_texts()

    @kept("word-texts", tables=("captions", "scene_tags", "photos"),
          uses=("photos", "places", "faces"))
    def _word_texts(self) -> pl.DataFrame:
        photos = self.photos()
        places = self.places().select("photo_id", "country", "region", "subregion", "city",
                                      "locality")
        who = (self.faces(encodings=False).drop_nulls("person_name")
               .group_by("photo_id").agg(faces=pl.col("person_name").unique()))
        caption = self.semantic.captions().select("photo_id", "caption")
        scenes = self.semantic.scene_tags().group_by("photo_id").agg(scenes=pl.col("tag"))
        t = pl.col("taken_at")
        parts = [
            pl.col("title"), pl.col("description"), pl.col("keywords").list.join(" "),
            pl.col("people").list.join(" "), pl.col("faces").list.join(" "),
            pl.col("albums").list.join(" "), pl.col("country"), pl.col("region"),
            pl.col("subregion"), pl.col("city"), pl.col("locality"), pl.col("camera_make"),
            pl.col("camera_model"), pl.col("caption"), pl.col("scenes").list.join(" "),
            t.dt.strftime("%Y %B %A"),
            pl.when(pl.col("mime").str.starts_with("video/")).then(pl.lit("video")),
            pl.when(pl.col("has_motion_video")).then(pl.lit("motion live")),
            pl.when(pl.col("favorite")).then(pl.lit("favourite favorite")),
        ]
        return (photos.select("photo_id", "title", "description", "keywords", "people",
                              "albums", "camera_make", "camera_model", "taken_at", "mime",
                              "has_motion_video", "favorite")
                .join(places, on="photo_id", how="left")
                .join(who, on="photo_id", how="left")
                .join(caption, on="photo_id", how="left")
                .join(scenes, on="photo_id", how="left")
                .select("photo_id", "taken_at",
                        text=plain(pl.concat_str(parts, separator=" ", ignore_nulls=True))))

    def search_words(self, text: str, k: int | None = 50, **filters: Any) -> pl.DataFrame:
        """Photos whose words (title, description, keywords, people, albums, places,
        camera, month and year, caption, scene tags) include every word of `text`; most
        mentions first, then newest. Filters and columns as `search`; `score` is the number
        of mentions."""
        words = query_words(text)
        if not words:
            raise PhotolabError("search needs some words")
        f = self.word_texts()
        allowed = self.browse.filter_photos(**filters)
        if allowed is not None:
            f = f.filter(pl.col("photo_id").is_in(allowed.tolist()))
        pats = [rf"\b{re.escape(w)}" for w in words]
        hits = (f.filter(pl.all_horizontal([pl.col("text").str.contains(p) for p in pats]))
                .with_columns(score=pl.sum_horizontal([pl.col("text").str.count_matches(p)
                                                       for p in pats]).cast(pl.Float32))
                .sort(["score", "taken_at", "photo_id"], descending=[True, True, True],
                      nulls_last=True))
        if k:
            hits = hits.head(k)
        return self.browse.results(hits.select("photo_id", "score"), by_score=False)

    def has_vectors(self) -> bool:
        """Whether any photo has a vector of the current CLIP model (so "looks like"
        searches and "more like this" can answer)."""
        return self.catalog.frame("SELECT 1 FROM embeddings WHERE model = ? LIMIT 1",
                                  [self.semantic.clip_fingerprint()]).height > 0

    def find(self, text: str, k: int = 50, **filters: Any) -> pl.DataFrame:
        """What a search box answers: the photos whose words have every word of `text`
        (`search_words`); when none has, and there are CLIP vectors and the model loads,
        the photos that look like `text` (`search`). Columns as `search`."""
        words = self.search_words(text, k, **filters)
        if words.height or not self.has_vectors():
            return words
        try:
            return self.search(text, k, **filters)
        except PhotolabError:
            return words  # no model to hand: the words are all there is
