"""The events service (`lib.events`): events computed from when and where photos were
taken (recomputed whenever photos, dates, places or decisions change, and kept in memory
until then), their titles, and "on this day" memories.

An event's id is its first catalogued photo's id: it stays while that photo stays in the
event, so a person's title for it survives photos added or taken away.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from ..access import writes
from ..context import Service
from ..errors import EventNotFoundError, PhotolabError
from ..materialised import kept
from .best import CANDIDATES, best_first
from .group import group_events, photo_day
from .titles import TitleModel, TitleParams, event_title, title_prompt

if TYPE_CHECKING:
    from ..context import Context
    from ..photos import PhotosService
    from ..places.verbs import PlacesService
    from ..semantic.verbs import SemanticService

EVENT_TITLE = "event_title"
#: date sources that say when a file was copied, not when the photo was taken
UNTRUSTED_SOURCES = ("mtime",)
EVENT_SCHEMA = {"event_id": pl.Int64, "title": pl.String, "start": pl.Datetime("us"),
                "end": pl.Datetime("us"), "n_photos": pl.Int64, "countries": pl.List(pl.String),
                "cities": pl.List(pl.String), "people": pl.List(pl.String),
                "cover_photo_id": pl.Int64, "trip": pl.Boolean, "title_by": pl.String}


class EventsService(Service):
    """Events, their titles, and memories (`lib.events`; `lib.events()` lists them). Uses the
    photos (what ranks them), places and semantic (scene tags, captions) services."""

    def __init__(self, ctx: Context, photos: PhotosService, places: PlacesService,
                 semantic: SemanticService):
        super().__init__(ctx)
        self.photos, self.places, self.semantic = photos, places, semantic
        self._computing = threading.local()  # the parts one `_event_state` computed

    def __call__(self) -> pl.DataFrame:
        return self.events()

    # -- events -----------------------------------------------------------------------------

    def _event_state(self) -> dict[str, Any]:
        """Every event and its photos, recomputed when the catalog or the settings changed
        (kept for the catalog's generation, `photolab.materialised`; a guest reads what the
        curator's process kept, or computes them in memory)."""
        self._computing.parts = {}
        try:
            left_out = self._event_part("left_out")
            return {"events": self._event_part("events"),
                    "members": self._event_part("members"),
                    "left_out": left_out.row(0, named=True) if left_out.height else {}}
        finally:
            self._computing.parts = {}

    @kept("events", uses=("best_photos", "places"),
          settings=("event_gap_hours", "event_jump_km", "home", "dupe_threshold"))
    def _event_part(self, part: str) -> pl.DataFrame:
        """One part of every event (`events`, `members`, `left_out`): the three are
        computed together the first time one is not kept."""
        parts = self._computing.__dict__.setdefault("parts", {})
        if not parts:
            parts.update(self._compute_events())
        return parts[part]

    def _compute_events(self) -> dict[str, pl.DataFrame]:
        s = self.settings
        photos = self.photos.best_photos()
        places = self.places().select("photo_id", "lat", "lon", "country", "region", "city")
        trusted = ~pl.col("taken_at_source").fill_null("").is_in(UNTRUSTED_SOURCES)
        dated = photos.filter(pl.col("taken_at").is_not_null() & trusted)
        left_out = pl.DataFrame({"file_time_only": [int(photos.filter(
            pl.col("taken_at").is_not_null() & ~trusted).height)],
            "undated": [int(photos["taken_at"].null_count())]})
        groups = group_events(dated.select("photo_id", "taken_at").join(
            places, on="photo_id", how="left"),
            s.event_gap_hours, s.event_jump_km, s.home or None)
        members = (groups.join(dated, on="photo_id").join(places.drop("lat", "lon"),
                                                           on="photo_id", how="left")
                   .with_columns(event_id=pl.col("photo_id").min().over("event")))
        return {"events": self._summarise(members), "members": members, "left_out": left_out}

    def _summarise(self, members: pl.DataFrame) -> pl.DataFrame:
        ordered = members.sort("taken_at", "photo_id")
        people = (ordered.select("event_id", name=pl.col("people")).explode("name")
                  .drop_nulls("name").group_by("event_id", "name").len()
                  .sort(["len", "name"], descending=[True, False])
                  .group_by("event_id", maintain_order=True).agg(people=pl.col("name")))
        covers = (best_first(members, "event_id", self.settings.dupe_threshold, CANDIDATES)
                  .filter(pl.col("rank") == 1).select("event_id", cover_photo_id="photo_id"))
        f = (ordered.group_by("event_id", maintain_order=True).agg(
                start=pl.col("taken_at").min(), end=pl.col("taken_at").max(), n_photos=pl.len(),
                countries=pl.col("country").drop_nulls().unique(maintain_order=True),
                cities=pl.col("city").drop_nulls().unique(maintain_order=True),
                # a trip is titled by where it went, not by the airport at home
                named=pl.col("city").filter(pl.col("away") | ~pl.col("trip"))
                .drop_nulls().unique(maintain_order=True),
                named_countries=pl.col("country").filter(pl.col("away") | ~pl.col("trip"))
                .drop_nulls().unique(maintain_order=True),
                trip=pl.col("trip").first())
             .join(people, on="event_id", how="left").join(covers, on="event_id", how="left")
             .with_columns(people=pl.col("people").fill_null(pl.lit([], pl.List(pl.String)))))
        titles = [event_title(ci, co, first, last) for ci, co, first, last in zip(
            f["named"].to_list(), f["named_countries"].to_list(),
            f.select(photo_day("start"))["start"],
            f.select(photo_day("end"))["end"], strict=True)]
        user = (self.catalog.active_decisions(EVENT_TITLE)
                .select(v=pl.col("value").str.json_decode(
                    pl.Struct({"event_id": pl.Int64, "title": pl.String})))
                .unnest("v").group_by("event_id").agg(pl.col("title").last().alias("mine")))
        return (f.with_columns(title=pl.Series(titles, dtype=pl.String))
                .join(user, on="event_id", how="left")
                .with_columns(title_by=pl.when(pl.col("mine").is_not_null()).then(pl.lit("user"))
                              .otherwise(pl.lit("places")),
                              title=pl.coalesce("mine", "title"))
                .select(list(EVENT_SCHEMA)).cast(EVENT_SCHEMA)  # type: ignore[arg-type]
                .sort("start", descending=True))

    def events(self) -> pl.DataFrame:
        """Photos grouped into events by when and where they were taken (see
        `photolab.events.group`), newest first: `event_id`, `title` (a person's, or made from
        the places and dates), `start`, `end`, `n_photos`, `countries`, `cities` (in the order
        they were reached), `people` (most photographed first), `cover_photo_id`, `trip`
        (days away from home), `title_by` (`user` or `places`).

        Photos dated only by their file's time are in no event (they would all fall on the
        day of the copy), nor are undated ones: `events_left_out()` counts them.
        """
        return self._event_state()["events"]

    def events_left_out(self) -> dict[str, int]:
        """How many present photos are in no event: `file_time_only` (dated only by the
        file's modification time), `undated`."""
        return dict(self._event_state()["left_out"])

    def event(self, event_id: int) -> dict[str, Any]:
        """One event's row of `events()`; `EventNotFoundError` when there is none."""
        hit = self.events().filter(pl.col("event_id") == int(event_id))
        if hit.height == 0:
            raise EventNotFoundError(f"no event {event_id} (events are recomputed as photos "
                                     "change: see events())")
        return hit.row(0, named=True)

    def event_photos(self, event_id: int) -> pl.DataFrame:
        """The photos of one event, in time order: `photo_id`, `path`, `taken_at`, `country`,
        `region`, `city`, `people`, `favorite`, `rating`, `mime`."""
        self.event(event_id)
        return (self._event_state()["members"].filter(pl.col("event_id") == int(event_id))
                .sort("taken_at", "photo_id")
                .select("photo_id", "path", "taken_at", "country", "region", "city", "people",
                        "favorite", "rating", "mime"))

    @writes
    def set_event_title(self, event_id: int, title: str, who: str | None = None) -> int:
        """A person's title for an event (or an accepted suggestion). Returns the decision id."""
        self.event(event_id)
        title = " ".join(str(title).split())
        if not title:
            raise PhotolabError("an event's title cannot be empty")
        return self.catalog.add_decision(EVENT_TITLE, None,
                                         {"event_id": int(event_id), "title": title},
                                         who or self.who)

    def title_model(self) -> TitleModel:
        """The `title_model` GGUF, loaded once (`ModelNotFoundError` says how to get one)."""
        params = TitleParams(model=self.settings.title_model)
        return self.loaded.get("titles", params, lambda: TitleModel(params), TitleModel.close)

    def suggest_event_titles(self, event_ids: Sequence[int] | None = None) -> pl.DataFrame:
        """Titles the `title_model` proposes from each event's places, dates, people, scene
        tags and captions: `event_id`, `title` (now), `suggestion`. Nothing is stored: accept
        one with `set_event_title`."""
        model = self.title_model()
        events = self.events()
        if event_ids is not None:
            events = events.filter(pl.col("event_id").is_in([int(i) for i in event_ids]))
        members = self._event_state()["members"].filter(
            pl.col("event_id").is_in(events["event_id"].implode()))
        ids = members["photo_id"].to_list()
        scenes = (self.semantic.scene_tags(ids).join(members.select("photo_id", "event_id"),
                                            on="photo_id")
                  .group_by("event_id", "tag").len().sort("len", descending=True)
                  .group_by("event_id", maintain_order=True).agg(pl.col("tag").head(5)))
        captions = (self.semantic.captions(ids).join(members.select("photo_id", "event_id"),
                                            on="photo_id")
                    .group_by("event_id").agg(pl.col("caption").head(5)))
        scene_of = dict(scenes.iter_rows())
        caption_of = dict(captions.iter_rows())
        out = [(e["event_id"], e["title"],
                model.propose(title_prompt(e, scene_of.get(e["event_id"], []),
                                           caption_of.get(e["event_id"], []))))
               for e in events.iter_rows(named=True)]
        return pl.DataFrame(out, schema={"event_id": pl.Int64, "title": pl.String,
                                         "suggestion": pl.String}, orient="row")

    # -- memories ---------------------------------------------------------------------------

    def on_this_day(self, day: date | str | None = None, window_days: int = 0) -> pl.DataFrame:
        """Photos taken on this calendar day (within `window_days` either side) in earlier
        years, grouped by year (newest year first) and best first within each year:
        favourites, ratings, people and sharp photos first, second copies of a photo left
        out. Columns: `year`, `years_ago`, `rank`, `photo_id`, `path`, `taken_at`,
        `favorite`, `rating`, `people`, `score`."""
        if day is None:
            day = date.today()
        elif isinstance(day, str):
            try:
                day = date.fromisoformat(day)
            except ValueError as e:
                raise PhotolabError(f"day {day!r}: give YYYY-MM-DD") from e
        if window_days < 0:
            raise PhotolabError("window_days cannot be negative")
        f = self.photos.best_photos().filter(
            pl.col("taken_at").is_not_null()
            & ~pl.col("taken_at_source").fill_null("").is_in(UNTRUSTED_SOURCES))
        taken = pl.col("taken_at").dt.date()
        # the anniversary of each photo's day in this year and the years either side (a
        # window across New Year), 29 February kept on the 28th in other years
        diffs = []
        for year in (day.year - 1, day.year, day.year + 1):
            leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
            d = pl.when((taken.dt.month() == 2) & (taken.dt.day() == 29) & (not leap)) \
                .then(28).otherwise(taken.dt.day())
            diffs.append((pl.date(year, taken.dt.month(), d) - pl.lit(day)).dt.total_days()
                         .abs())
        before = day - timedelta(days=window_days)
        hits = (f.with_columns(off=pl.min_horizontal(diffs))
                .filter((pl.col("off") <= window_days) & (taken < before))
                .with_columns(year=pl.col("taken_at").dt.year()))
        ranked = best_first(hits, "year", self.settings.dupe_threshold)
        return (ranked.with_columns(years_ago=pl.lit(day.year, pl.Int32) - pl.col("year"))
                .select("year", "years_ago", "rank", "photo_id", "path", "taken_at",
                        "favorite", "rating", "people", "score")
                .sort(["year", "rank"], descending=[True, False]))
