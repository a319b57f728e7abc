"""The curation service (`lib.curation`): keywords, ratings, titles, descriptions,
favourites, as decisions over what the files say; the columns `photos()` shows for them
(`lib.curation(frame)`); and writing them back to the files (`WriteBackService`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import polars as pl

from ..access import writes
from ..albums.verbs import album_members
from ..context import Service
from ..errors import PhotolabError
from ..materialised import EVERY, declare

if TYPE_CHECKING:
    from ..context import Context
    from ..faces.verbs import FacesService
    from ..photos import PhotosService
    from ..places.verbs import PlacesService
    from ..semantic.verbs import SemanticService

LIST = pl.List(pl.String)

#: what `curation` reads besides the photos it is given: people's decisions of every kind
#: (ratings, keywords, albums, names...) and the albums of the photos
declare("curation", decisions=EVERY, uses=("album_members", "named_in_photos"))


class CurationService(Service):
    """People's curation of photos (`lib.curation`; `lib.curation(frame)` applies it to a
    frame of photos). Uses the faces service (the people named in each photo)."""

    def __init__(self, ctx: Context, faces: FacesService):
        super().__init__(ctx)
        self.faces = faces

    def __call__(self, photos: pl.DataFrame) -> pl.DataFrame:
        return self.curation(photos)

    def _decide_each(self, kind: str, photo_ids: Iterable[int], value: object,
                     who: str | None) -> list[int]:
        ids = self.catalog.require_photos(photo_ids)
        if not ids:
            raise PhotolabError("no photos given")
        return self.catalog.add_decisions(kind, [(i, value) for i in ids], who or self.who)

    @writes
    def tag(self, photo_ids: Sequence[int], *keywords: str, who: str | None = None) -> list[int]:
        """Add keywords to photos (decisions; the files are not touched)."""
        words = sorted({k.strip() for k in keywords if k.strip()})
        if not words:
            raise PhotolabError("no keywords given")
        return self._decide_each("keywords", photo_ids, {"add": words}, who)

    @writes
    def untag(self, photo_ids: Sequence[int], *keywords: str,
              who: str | None = None) -> list[int]:
        """Remove keywords from photos, including ones the files carry."""
        words = sorted({k.strip() for k in keywords if k.strip()})
        if not words:
            raise PhotolabError("no keywords given")
        return self._decide_each("keywords", photo_ids, {"remove": words}, who)

    @writes
    def rate(self, photo_ids: Sequence[int], stars: int, who: str | None = None) -> list[int]:
        """Rate photos 0 (none) to 5 stars."""
        if not 0 <= int(stars) <= 5:
            raise PhotolabError(f"stars {stars}: 0 to 5")
        return self._decide_each("rating", photo_ids, {"stars": int(stars)}, who)

    @writes
    def set_title(self, photo_ids: Sequence[int], title: str,
                  who: str | None = None) -> list[int]:
        return self._decide_each("title", photo_ids, {"text": title}, who)

    @writes
    def set_description(self, photo_ids: Sequence[int], description: str,
                        who: str | None = None) -> list[int]:
        return self._decide_each("description", photo_ids, {"text": description}, who)

    @writes
    def favorite(self, photo_ids: Sequence[int], on: bool = True,
                 who: str | None = None) -> list[int]:
        return self._decide_each("favorite", photo_ids, {"on": bool(on)}, who)

    def curation(self, photos: pl.DataFrame) -> pl.DataFrame:
        """`photos` (with the media table's file-level columns) with people's decisions
        applied: `keywords`, `rating`, `title`, `description`, `favorite`, `albums`, `people`."""
        f = photos.with_columns(
            keywords=pl.col("keywords").str.json_decode(LIST).fill_null(pl.lit([], LIST)),
            file_people=pl.col("file_people").str.json_decode(LIST)
            .fill_null(pl.lit([], LIST)))
        # keywords: replay add/remove per photo and keyword, the newest decision wins; the
        # list work only for the photos a decision touched (a file's own list is sorted)
        d = self.catalog.active_decisions("keywords")
        if d.height:
            ops = (d.select("decision_id", "photo_id",
                            v=pl.col("value").str.json_decode(
                                pl.Struct({"add": LIST, "remove": LIST})))
                   .select("decision_id", "photo_id", add=pl.col("v").struct.field("add"),
                           remove=pl.col("v").struct.field("remove")))
            long = pl.concat([
                ops.select("decision_id", "photo_id", kw=pl.col(op), on=pl.lit(op == "add"))
                .explode("kw").drop_nulls("kw") for op in ("add", "remove")])
            last = long.sort("decision_id").group_by("photo_id", "kw").agg(pl.col("on").last())
            changed = (last.group_by("photo_id")
                       .agg(add=pl.col("kw").filter("on"), rm=pl.col("kw").filter(~pl.col("on")))
                       .join(f.select("photo_id", "keywords"), on="photo_id")
                       .select("photo_id", keywords=pl.concat_list("keywords", "add")
                               .list.set_difference("rm").list.unique().list.sort()))
            f = f.update(changed, on="photo_id")
        for kind, col, field, dtype in (("rating", "rating", "stars", pl.Int64),
                                        ("title", "title", "text", pl.String),
                                        ("description", "description", "text", pl.String),
                                        ("favorite", "file_favorite", "on", pl.Boolean)):
            latest = self.catalog.latest_decisions(kind).select(
                "photo_id", _user=pl.col("value").str.json_path_match(f"$.{field}"))
            f = f.join(latest, on="photo_id", how="left")
            user = pl.col("_user").cast(dtype, strict=False) if dtype != pl.Boolean else \
                pl.col("_user") == "true"
            base = pl.col(col).cast(dtype) if col in f.columns else pl.lit(None, dtype)
            f = f.with_columns(pl.when(pl.col("_user").is_not_null()).then(user)
                               .otherwise(base).alias(kind)).drop("_user")
        f = f.drop("file_favorite").with_columns(favorite=pl.col("favorite").fill_null(False))
        # albums: a person's, Takeout's (every album folder a copy of the same content sits
        # in: Takeout exports one copy per album) and, when asked, the top-level folders
        albums = (album_members(self.catalog, self.settings,
                                f.select("photo_id", "path", "content_hash"))
                  .group_by("photo_id").agg(all_albums=pl.col("name").unique().sort()))
        f = (f.join(albums, on="photo_id", how="left", maintain_order="left")
             .with_columns(albums=pl.col("all_albums").fill_null(pl.lit([], LIST)))
             .drop("all_albums"))
        names = self.faces.named_in_photos()  # people's names, not the clusters' guesses
        named = (names.join(f.select("photo_id", "file_people"), on="photo_id")
                 .select("photo_id", file_people=pl.concat_list("file_people", "named")
                         .list.unique().list.sort()))
        f = f.update(named, on="photo_id")
        return f.drop("file_people").with_columns(people=f["file_people"])


class WriteBackService(Service):
    """Writing people's curation back to the files (`lib.write_back(...)`). Uses the photos,
    places, faces and semantic services (what it writes: curation, places, names,
    captions)."""

    def __init__(self, ctx: Context, photos: PhotosService, places: PlacesService,
                 faces: FacesService, semantic: SemanticService):
        super().__init__(ctx)
        self.photos, self.places, self.faces, self.semantic = photos, places, faces, semantic

    def __call__(self, photo_ids: Sequence[int] | None = None,
                 fields: Iterable[str] | None = None, target: str = "sidecar",
                 dry_run: bool = False) -> pl.DataFrame:
        return self.write_back(photo_ids, fields, target, dry_run)

    @writes
    def write_back(self, photo_ids: Sequence[int] | None = None,
                   fields: Iterable[str] | None = None, target: str = "sidecar",
                   dry_run: bool = False) -> pl.DataFrame:
        """Write keywords, rating, people, places, title, description and corrected dates to
        XMP sidecars (`target="sidecar"`), or into the files (`target="inplace"`, after a
        backup, read back to check). `dry_run` returns what would be written. See
        `photolab.curation.writeback`."""
        from . import writeback

        if target not in ("sidecar", "inplace"):
            raise PhotolabError(f"target {target!r}: 'sidecar' or 'inplace'")
        return writeback.write_back(self, photo_ids, fields or writeback.FIELDS,
                                    target == "inplace", dry_run)
