"""The albums service (`lib.albums`): albums people make (decisions, with who and when, that
`undo` takes back), and the albums the library reads: Google Takeout's album folders and,
with `folder_albums = true`, the top-level folders of each source.

An album a person makes is the `album` decisions that name it: `create` (its id is that
decision's id), `add` and `remove` photos, `rename`, `delete`. Replayed on each read, the
newest decision about a photo wins. Albums the library reads have negative ids, derived from
their source and name, so they too stay the same from one read to the next.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ..access import writes
from ..context import Service
from ..errors import AlbumNotFoundError, PersonNotFoundError, PhotolabError
from ..materialised import EVERY, declare, kept
from ..progress import progress
from ..shown import SHOWN

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..context import Context
    from ..events.verbs import EventsService
    from ..photos import PhotosService
    from ..places.verbs import PlacesService
    from ..settings import Settings

ALBUM = "album"
SOURCES = ("photolab", "takeout", "folder")
MEMBER_SCHEMA = {"album_id": pl.Int64, "name": pl.String, "source": pl.String,
                 "photo_id": pl.Int64}
OP = pl.Struct({"op": pl.String, "album_id": pl.Int64, "name": pl.String,
                "photos": pl.List(pl.Int64)})
LIST = pl.List(pl.String)


def derived_id(source: str, name: str) -> int:
    """The id of an album the library reads (negative: never a decision's id)."""
    digest = hashlib.blake2b(f"{source}:{name}".encode(), digest_size=6).digest()
    return -(int.from_bytes(digest, "big") + 1)


def decided_albums(decisions: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """People's albums from their `album` decisions (oldest first, undone ones left out):
    (`album_id`, `name`, `created_by`, `created_at`, `updated_at`) of each live album, and
    (`album_id`, `photo_id`) of its photos."""
    empty = (pl.DataFrame(schema={"album_id": pl.Int64, "name": pl.String,
                                  "created_by": pl.String, "created_at": pl.String,
                                  "updated_at": pl.String}),
             pl.DataFrame(schema={"album_id": pl.Int64, "photo_id": pl.Int64}))
    if decisions.height == 0:
        return empty
    ops = decisions.select("decision_id", "who", "at", v=pl.col("value").str.json_decode(OP)
                           ).unnest("v").with_columns(
        album_id=pl.when(pl.col("op") == "create").then("decision_id").otherwise("album_id"))
    made = ops.filter(pl.col("op") == "create").select(
        "album_id", created_by="who", created_at="at")
    gone = ops.filter(pl.col("op") == "delete")["album_id"]
    live = made.filter(~pl.col("album_id").is_in(gone.implode()))
    names = (ops.filter(pl.col("op").is_in(["create", "rename"])).group_by("album_id")
             .agg(name=pl.col("name").last()))
    touched = ops.group_by("album_id").agg(updated_at=pl.col("at").last())
    albums = (live.join(names, on="album_id").join(touched, on="album_id")
              .select("album_id", "name", "created_by", "created_at", "updated_at"))
    members = (ops.filter(pl.col("op").is_in(["create", "add", "remove"]))
               .select("decision_id", "album_id", "photos", on=pl.col("op") != "remove")
               .explode("photos").drop_nulls("photos")
               .sort("decision_id").group_by("album_id", "photos").agg(pl.col("on").last())
               .filter("on").select("album_id", photo_id="photos")
               .filter(pl.col("album_id").is_in(live["album_id"].implode())))
    return albums, members


def takeout_members(files: pl.DataFrame, carriers: pl.DataFrame) -> pl.DataFrame:
    """Takeout's albums of `files` (`photo_id`, `content_hash`) from `carriers`
    (`content_hash`, `albums`: the JSON list the metadata stage read, of every photo that has
    one): every copy of a content is in every album any copy sits in."""
    by_content = (carriers.filter(pl.col("albums").is_not_null())
                  .select("content_hash", a=pl.col("albums").str.json_decode(LIST))
                  .explode("a").drop_nulls("a").unique())
    return (files.select("photo_id", "content_hash").join(by_content, on="content_hash")
            .select(album_id=pl.col("a").map_elements(lambda n: derived_id("takeout", n),
                                                      return_dtype=pl.Int64),
                    name="a", source=pl.lit("takeout"), photo_id="photo_id"))


def folder_members(paths: pl.DataFrame, roots: Sequence[str]) -> pl.DataFrame:
    """Each photo's top-level folder under the source it was scanned from, as an album
    (`photo_id`, `path`; photos right in a source's folder are in none)."""
    parts = []
    for root in sorted({str(Path(r)) for r in roots}, key=len, reverse=True):
        prefix = root.rstrip(os.sep) + os.sep
        parts.append(paths.filter(pl.col("path").str.starts_with(prefix)).select(
            "photo_id", name=pl.col("path").str.slice(len(prefix))
            .str.extract(f"^([^{os.sep}]+){os.sep}")))
    if not parts:
        return pl.DataFrame(schema=MEMBER_SCHEMA)
    f = pl.concat(parts).unique("photo_id", keep="first").drop_nulls("name")
    return f.select(album_id=pl.col("name").map_elements(lambda n: derived_id("folder", n),
                                                         return_dtype=pl.Int64),
                    name="name", source=pl.lit("folder"), photo_id="photo_id")


def decided(catalog: Catalog) -> tuple[pl.DataFrame, pl.DataFrame]:
    """People's albums and their photos, from the catalog's live `album` decisions."""
    return decided_albums(catalog.active_decisions(ALBUM))


declare("album_members", tables=("photos", "media"), decisions=(ALBUM,),
        settings=("folder_albums", "sources"))


def album_members(catalog: Catalog, settings: Settings,
                  photos: pl.DataFrame | None = None) -> pl.DataFrame:
    """`album_id`, `name`, `source`, `photo_id`: the albums of every present photo, or of
    `photos` (`photo_id`, `path`, `content_hash`: a frame a caller has already read), from
    each source (what `photos()` shows as a photo's `albums`, and `albums()` counts)."""
    schema = {"photo_id": pl.Int64, "path": pl.String, "content_hash": pl.String,
              "albums": pl.String}
    if photos is None:
        photos = catalog.frame(
            "SELECT p.photo_id, p.path, p.content_hash FROM photos p "
            "WHERE " + SHOWN, schema=schema)
    carriers = catalog.frame(  # the few photos Takeout put in albums
        "SELECT p.content_hash, m.albums FROM photos p JOIN media m USING (photo_id) "
        "WHERE " + SHOWN + " AND m.albums IS NOT NULL", schema=schema)
    albums, members = decided(catalog)
    present = photos.select("photo_id")
    parts = [members.join(present, on="photo_id").join(
        albums.select("album_id", "name"), on="album_id")
        .select("album_id", "name", source=pl.lit("photolab"), photo_id="photo_id"),
        takeout_members(photos, carriers)]
    if settings.folder_albums:
        parts.append(folder_members(photos, settings.sources))
    return pl.concat([p.cast(MEMBER_SCHEMA) for p in parts])  # type: ignore[arg-type]


class AlbumsService(Service):
    """Albums (`lib.albums`; `lib.albums()` lists them), keeping an event as an album, and
    export. Uses the photos, events (covers, an event's photos) and places services."""

    def __init__(self, ctx: Context, photos: PhotosService, events: EventsService,
                 places: PlacesService):
        super().__init__(ctx)
        self.photos, self.events, self.places = photos, events, places

    def __call__(self) -> pl.DataFrame:
        return self.albums()

    # -- reading ----------------------------------------------------------------------------

    def _decided(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        return decided(self.catalog)

    def album_members(self, photos: pl.DataFrame | None = None) -> pl.DataFrame:
        """`album_id`, `name`, `source`, `photo_id`: the albums of every present photo, or
        of `photos` (`photo_id`, `path`, `content_hash`: a frame a caller has already read),
        from each source."""
        return album_members(self.catalog, self.settings, photos)

    def albums(self) -> pl.DataFrame:
        """Every album: `album_id`, `name`, `source` (`photolab`: made by a person,
        `takeout`, `folder`), `n_photos`, `cover_photo_id`, `start`, `end` (the dates of its
        photos), `created_by`, `created_at`, `updated_at`; newest first."""
        return self._kept_albums()

    @kept("albums", decisions=EVERY, settings=("dupe_threshold",),
          uses=("album_members", "best_photos"))
    def _kept_albums(self) -> pl.DataFrame:
        return self._albums()

    def _albums(self) -> pl.DataFrame:
        albums, _ = self._decided()
        members = self.album_members()
        photos = self.photos.best_photos(members["photo_id"].unique().to_list())
        f = members.join(photos, on="photo_id")
        takeout = pl.col("source") == "takeout"  # Takeout keeps one copy per album
        f = pl.concat([f.filter(~takeout),
                       f.filter(takeout).unique(["album_id", "content_hash"], keep="first",
                                                maintain_order=True)])
        best = self._covers(f)
        every = self._index(members)
        counts = f.group_by("album_id").agg(
            n_photos=pl.len(), start=pl.col("taken_at").min(), end=pl.col("taken_at").max())
        return (every.join(counts, on="album_id", how="left").join(best, on="album_id",
                                                                    how="left")
                .join(albums.select("album_id", "created_by", "created_at", "updated_at"),
                      on="album_id", how="left")
                .with_columns(pl.col("n_photos").fill_null(0).cast(pl.Int64))
                .select("album_id", "name", "source", "n_photos", "cover_photo_id", "start",
                        "end", "created_by", "created_at", "updated_at")
                .sort(["end", "album_id"], descending=True, nulls_last=True))

    def _covers(self, f: pl.DataFrame) -> pl.DataFrame:
        from ..events.best import CANDIDATES, best_first

        return (best_first(f, "album_id", self.settings.dupe_threshold, CANDIDATES)
                .filter(pl.col("rank") == 1).select("album_id", cover_photo_id="photo_id"))

    def _find(self, album: int | str, every: pl.DataFrame) -> dict[str, Any]:
        """`every`'s row for an album id, or for a name (a person's album first, then
        Takeout's, then a folder's); `AlbumNotFoundError` when there is none."""
        if isinstance(album, str):
            hit = every.filter(pl.col("name") == album.strip()).sort(
                pl.col("source").replace_strict({s: i for i, s in enumerate(SOURCES)},
                                                return_dtype=pl.Int64))
        else:
            hit = every.filter(pl.col("album_id") == int(album))
        if hit.height == 0:
            raise AlbumNotFoundError(f"no album {album!r}")
        return hit.row(0, named=True)

    def _resolve(self, album: int | str, members: pl.DataFrame | None = None
                 ) -> dict[str, Any]:
        """`album_id`, `name`, `source` of an album by id or name, without counting or
        choosing covers (what the writing verbs and `album_photos` need)."""
        return self._find(album, self._index(
            self.album_members() if members is None else members))

    def _index(self, members: pl.DataFrame) -> pl.DataFrame:
        """`album_id`, `name`, `source` of every album: people's, and those `members` read."""
        albums, _ = self._decided()
        read = (members.filter(pl.col("source") != "photolab")
                .select("album_id", "name", "source").unique())
        return pl.concat([albums.select("album_id", "name", source=pl.lit("photolab")), read],
                         how="vertical_relaxed")

    def album(self, album: int | str) -> dict[str, Any]:
        """One album's row of `albums()`, by id or by name (a person's album first, then
        Takeout's, then a folder's); `AlbumNotFoundError` when there is none."""
        return self._find(album, self.albums())

    def album_photos(self, album: int | str) -> pl.DataFrame:
        """The photos of an album (by id or name), oldest first: `photo_id`, `path`,
        `taken_at`, `favorite`, `rating`, `people`, `mime`."""
        members = self.album_members()
        a = self._resolve(album, members)
        ids = members.filter(pl.col("album_id") == a["album_id"])["photo_id"]
        photos = self.photos(photo_ids=ids.to_list())
        if a["source"] == "takeout":  # Takeout keeps one copy of a photo per album
            photos = photos.unique("content_hash", keep="first", maintain_order=True)
        return (photos.select("photo_id", "path", "taken_at", "favorite", "rating", "people",
                              "mime")
                .sort("taken_at", "photo_id", nulls_last=True))

    # -- deciding ---------------------------------------------------------------------------

    def _own(self, album: int | str) -> dict[str, Any]:
        """A person's album (Takeout's and folders' are read from the files, not changed)."""
        a = self._resolve(album)
        if a["source"] != "photolab":
            raise PhotolabError(
                f"album {a['name']!r} is read from {a['source']}, not made here: keep a copy "
                f"with create_album(name, album_photos({a['album_id']})['photo_id'])")
        return a

    def _new_name(self, name: str, but: int | None = None) -> str:
        name = " ".join(str(name).split())
        if not name:
            raise PhotolabError("an album's name cannot be empty")
        albums, _ = self._decided()
        taken = albums.filter((pl.col("name").str.to_lowercase() == name.lower())
                              & (pl.col("album_id") != (but or 0)))
        if taken.height:
            raise PhotolabError(f"there is already an album called {taken['name'][0]!r} "
                                f"(album {taken['album_id'][0]})")
        return name

    def _album_op(self, op: str, who: str | None, **value: Any) -> int:
        return self.catalog.add_decision(ALBUM, None, {"op": op, **value}, who or self.who)

    def _photos_op(self, op: str, album: int | str, photo_ids: Sequence[int],
                   who: str | None) -> int:
        a = self._own(album)
        ids = self.catalog.require_photos(photo_ids)
        if not ids:
            raise PhotolabError("no photos given")
        return self._album_op(op, who, album_id=a["album_id"], photos=ids)

    @writes
    def create_album(self, name: str, photo_ids: Sequence[int] = (),
                     who: str | None = None) -> int:
        """A new album (an empty name or one already used is refused). Returns its id."""
        name = self._new_name(name)
        ids = self.catalog.require_photos(photo_ids)
        return self._album_op("create", who, name=name, photos=ids)

    @writes
    def add_to_album(self, album: int | str, photo_ids: Sequence[int],
                     who: str | None = None) -> int:
        """Put photos into an album (by id or name). Returns the decision id."""
        return self._photos_op("add", album, photo_ids, who)

    @writes
    def remove_from_album(self, album: int | str, photo_ids: Sequence[int],
                          who: str | None = None) -> int:
        """Take photos out of an album (the photos stay in the library)."""
        return self._photos_op("remove", album, photo_ids, who)

    @writes
    def rename_album(self, album: int | str, name: str, who: str | None = None) -> int:
        a = self._own(album)
        return self._album_op("rename", who, album_id=a["album_id"],
                              name=self._new_name(name, but=a["album_id"]))

    @writes
    def delete_album(self, album: int | str, who: str | None = None) -> int:
        """Delete an album (its photos stay in the library; `undo` brings it back)."""
        a = self._own(album)
        return self._album_op("delete", who, album_id=a["album_id"])

    @writes
    def keep_event(self, event_id: int, name: str | None = None,
                   who: str | None = None) -> int:
        """Keep an event as an album of its own (named by its title unless `name`); the
        album stays as it is when the events are recomputed. Returns the album id."""
        e = self.events.event(event_id)
        ids = self.events.event_photos(event_id)["photo_id"].to_list()
        return self.create_album(name or e["title"], ids, who=who)

    # -- sharing ----------------------------------------------------------------------------

    @writes
    def export(self, dest: str | os.PathLike[str], album: int | str | None = None,
               event: int | None = None, person: str | None = None,
               photo_ids: Sequence[int] | None = None, size: str = "original",
               show_progress: bool = False) -> pl.DataFrame:
        """Copy the photos of one album, event, person or list into a new folder `dest`, named
        by date, with their dates and places written into the copies (the originals are only
        read). `size`: "original", or "big" (JPEGs of the big thumbnail's size, 1080 px).

        `dest` must not exist, or be an empty folder; nothing is left there when the export
        fails. Returns `photo_id`, `source`, `file`, `status`, `error` (see
        `photolab.albums.export.export_files`)."""
        from .export import check_destination, export_files

        given = [x for x in (album, event, person, photo_ids) if x is not None]
        if len(given) != 1:
            raise PhotolabError("export one of: album=, event=, person=, photo_ids=")
        target = Path(dest).expanduser().resolve()
        check_destination(target)
        if album is not None:
            ids = self.album_photos(album)["photo_id"]
        elif event is not None:
            ids = self.events.event_photos(event)["photo_id"]
        elif person is not None:
            name = person.strip()
            ids = self.photos().filter(pl.col("people").list.contains(name))["photo_id"]
            if ids.len() == 0:
                raise PersonNotFoundError(f"nobody called {name!r} is named in a photo")
        else:
            ids = pl.Series(self.catalog.require_photos(photo_ids or []), dtype=pl.Int64)
        if ids.len() == 0:
            raise PhotolabError("nothing to export: no photos there")
        rows = (self.photos(photo_ids=ids.to_list())
                .join(self.places(ids.to_list()).select("photo_id", "country", "region", "city"),
                      on="photo_id", how="left")
                .sort("taken_at", "photo_id", nulls_last=True))
        raw = self.catalog.raw_paths(rows["photo_id"].to_list())
        with progress(rows.height, "export", show_progress) as p:
            return export_files(rows, raw, target, size, self.settings.thumb_sizes["big"],
                                p.update)
