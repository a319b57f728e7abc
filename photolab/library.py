"""`Library`: the one object notebooks, widgets and the CLI use.

It opens a library folder (settings, catalog, thumbnails) into a `photolab.context.Context`
and builds each domain's service from it and from the services that domain uses, in an order
where each is built after the ones it uses (the constructors' arguments below are the whole
map of which domain uses which; `tests/test_layout.py` checks it has no cycle):

    faces       FacesService(ctx)                           photolab.faces.verbs
    curation    CurationService(ctx, faces)                 photolab.curation.verbs
    photos      PhotosService(ctx, curation)                photolab.photos
    places      PlacesService(ctx, photos)                  photolab.places.verbs
    semantic    SemanticService(ctx)                        photolab.semantic.verbs
    browse      BrowseService(ctx, photos, faces, places, semantic)   photolab.browse
    search      SearchService(ctx, semantic, browse)        photolab.semantic.queries
    words       WordsService(ctx, photos, places, faces, semantic, browse, search)
                                                            photolab.words
    events      EventsService(ctx, photos, places, semantic)          photolab.events.verbs
    albums      AlbumsService(ctx, photos, events, places)  photolab.albums.verbs
    shares      SharesService(ctx, albums)                  photolab.albums.shares
    duplicates  DuplicatesService(ctx, semantic)            photolab.dedupe.verbs
    members     MembersService(ctx, duplicates)             photolab.members
    write_back  WriteBackService(ctx, photos, places, faces, semantic)
                                                            photolab.curation.verbs
    ingest      IngestService(ctx, library)                 photolab.ingest (runs every
                                                            stage, so it uses them all)

Each service is an attribute (`lib.faces.cluster_faces()`); one whose domain has a main read
is callable as it (`lib.faces()`, `lib.photos()`, `lib.search("a dog")`). Every verb is also
a method of `Library` that hands the call to its service (`VERBS` says which), so notebooks
keep `lib.people()`, `lib.name_faces(...)`.
"""

from __future__ import annotations

import functools
import getpass
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .albums.shares import SharesService
from .albums.verbs import AlbumsService
from .browse import BrowseService
from .catalog import Catalog
from .context import Context, OnContext, Service
from .curation.verbs import CurationService, WriteBackService
from .dedupe.verbs import DuplicatesService
from .errors import PhotolabError
from .events.verbs import EventsService
from .faces.verbs import FacesService
from .ingest import IngestService
from .loaded import Loaded
from .materialised import Materialised
from .media import dates as dates_stage
from .members import MembersService
from .photos import PhotosService
from .places.verbs import PlacesService
from .semantic.queries import SearchService
from .semantic.verbs import SemanticService
from .settings import Settings
from .words import WordsService

CATALOG_FILE = "catalog.sqlite"

#: each service's class, by the attribute it is on a `Library`
SERVICES: dict[str, type[Service]] = {
    "faces": FacesService, "curation": CurationService, "photos": PhotosService,
    "places": PlacesService, "semantic": SemanticService, "browse": BrowseService,
    "search": SearchService, "words": WordsService, "events": EventsService,
    "albums": AlbumsService, "shares": SharesService, "duplicates": DuplicatesService,
    "members": MembersService,
    "write_back": WriteBackService, "ingest": IngestService,
}

#: the verbs `Library` hands to each service (its public methods of the same name)
VERBS: dict[str, tuple[str, ...]] = {
    "photos": ("photos", "tags", "jobs", "thumbnail", "motion_video", "previews", "user_dates",
        "decisions", "best_photos"),
    "faces": ("face_params", "clusterer", "cluster_faces", "add_face", "name_faces", "name_cluster",
        "move_faces", "rename_person", "merge_people", "remove_faces", "reject_faces",
        "split_faces", "accept_suggestions", "face_crop", "labels", "named_in_photos", "faces",
        "nearest_people", "face_encodings", "people"),
    "curation": ("tag", "untag", "rate", "set_title", "set_description", "favorite", "curation"),
    "places": ("places", "place_names", "place_hierarchy", "place_covers", "place_photos",
        "set_place"),
    "semantic": ("clip_params", "clip_fingerprint", "clip_model", "caption_params", "captioner",
        "tags_version", "embeddings", "scene_tags", "scene_tag_names", "captions",
        "vector_index", "embedding_pairs"),
    "browse": ("timeline_months", "tiles", "photo_details", "recent", "count_recent",
        "filter_photos"),
    "search": ("search_captions", "search", "similar"),
    "words": ("word_texts", "search_words", "has_vectors", "find"),
    "events": ("events", "events_left_out", "event", "event_photos", "set_event_title",
        "title_model", "suggest_event_titles", "on_this_day"),
    "albums": ("album_members", "albums", "album", "album_photos", "create_album",
        "add_to_album", "remove_from_album", "rename_album", "delete_album", "export",
        "keep_event"),
    "shares": ("share_album", "shares", "revoke_share"),
    "duplicates": ("duplicate_candidates", "duplicates", "not_duplicate", "keep",
        "resolve_duplicates", "undo"),
    "members": ("members", "add_member", "remove_member", "set_member_role", "named_by",
        "undo_member"),
    "write_back": ("write_back",),
    "ingest": ("set_date", "unpair", "stages", "stage", "ingest", "run_stage", "add_files"),
}


class Library(OnContext):
    """A photo library folder: `photolab.toml`, `catalog.sqlite`, `thumbs/`.

    Parameters
    ----------
    path : the library folder; created when missing.
    who : the name decisions are recorded under (default: the family member this library
        acts for, else the OS user).
    member : the family member this library acts for (default: $PHOTOLAB_MEMBER, which
        `photolab serve` sets for each member's pages): decisions are theirs, and writing
        verbs follow their role in the catalog at the moment they are called.
    date_rules : ordered date rules (default `photolab.media.dates.DEFAULT_RULES`).
    read_only : refuse every change (default: on when $PHOTOLAB_READONLY is set).

    Example
    -------
    >>> import tempfile
    >>> lib = Library(tempfile.mkdtemp())
    >>> lib.photos().columns[:3]
    ['photo_id', 'path', 'size_bytes']
    >>> lib.faces.people().height
    0
    """

    def __init__(self, path: str | os.PathLike[str], who: str | None = None,
                 date_rules: Sequence[dates_stage.DateRule] | None = None,
                 read_only: bool | None = None, member: str | None = None):
        root = Path(path).expanduser().resolve()
        if read_only is None:  # `photolab serve --read-only` sets it for its dashboards
            read_only = os.environ.get("PHOTOLAB_READONLY", "") not in ("", "0")
        if not read_only:
            root.mkdir(parents=True, exist_ok=True)
        elif not (root / CATALOG_FILE).exists():
            raise PhotolabError(f"no library at {root}")
        catalog = Catalog(root / CATALOG_FILE, read_only=read_only)
        member = member or os.environ.get("PHOTOLAB_MEMBER") or None
        self.ctx = ctx = Context(
            root=root, settings=Settings.load(root), catalog=catalog,
            # verbs' results kept for the catalog's generation (`photolab.materialised`)
            materialised=Materialised(catalog, root, writable=not read_only),
            # models and processes loaded once and kept (closed by `close()`)
            loaded=Loaded(), who=who or member or getpass.getuser(), member=member,
            read_only=read_only,
            date_rules=list(date_rules) if date_rules is not None else None)
        self.faces = FacesService(ctx)
        self.curation = CurationService(ctx, self.faces)
        self.photos = PhotosService(ctx, self.curation)
        self.places = PlacesService(ctx, self.photos)
        self.semantic = SemanticService(ctx)
        self.browse = BrowseService(ctx, self.photos, self.faces, self.places, self.semantic)
        self.search = SearchService(ctx, self.semantic, self.browse)
        self.words = WordsService(ctx, self.photos, self.places, self.faces, self.semantic,
                                  self.browse, self.search)
        self.events = EventsService(ctx, self.photos, self.places, self.semantic)
        self.albums = AlbumsService(ctx, self.photos, self.events, self.places)
        self.shares = SharesService(ctx, self.albums)
        self.duplicates = DuplicatesService(ctx, self.semantic)
        self.members = MembersService(ctx, self.duplicates)
        self.write_back = WriteBackService(ctx, self.photos, self.places, self.faces,
                                           self.semantic)
        self.ingest = IngestService(ctx, self)

    def __repr__(self) -> str:
        return f"Library({str(self.root)!r})"

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.materialised.flush()
        self.loaded.close()
        self.catalog.close()


def _hand_to(service: str, name: str) -> Callable[..., Any]:
    """A `Library` method that calls `name` on the service `service` (with its signature,
    docstring and `@writes` mark)."""
    method = getattr(SERVICES[service], name)

    @functools.wraps(method)
    def verb(self: Library, *args: Any, **kwargs: Any) -> Any:
        return getattr(getattr(self, service), name)(*args, **kwargs)

    verb.__qualname__ = f"Library.{name}"
    verb.service = service  # type: ignore[attr-defined]
    return verb


for _service, _names in VERBS.items():
    for _name in _names:
        setattr(Library, _name, _hand_to(_service, _name))
