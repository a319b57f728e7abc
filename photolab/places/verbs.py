"""The places service (`lib.places`): places, the hierarchy, covers, and corrections people
make."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import polars as pl

from ..access import writes
from ..context import Service
from ..errors import PhotolabError, PlaceNotFoundError
from ..materialised import kept
from ..shown import SHOWN
from .compute import PLACES_SCHEMA, compute_places
from .online import OnlineGeocoder

if TYPE_CHECKING:
    from ..context import Context
    from ..photos import PhotosService

PLACE_FIELDS = ("country", "region", "subregion", "city")
#: the decisions a place answer is computed from (a rating keeps it)
PLACE_DECISIONS = ("place",)
#: `place_hierarchy`'s region or city where the place has none
UNKNOWN_PLACE = "(unknown)"


class PlacesService(Service):
    """Where photos were taken (`lib.places`; `lib.places()` is `places()`). Uses the photos
    service (what ranks a place's photos for its cover)."""

    def __init__(self, ctx: Context, photos: PhotosService):
        super().__init__(ctx)
        self.photos = photos

    def __call__(self, photo_ids: Sequence[int] | None = None) -> pl.DataFrame:
        return self.places(photo_ids)

    def locate(self, frame: pl.DataFrame, tick: Callable[[int], None]) -> pl.DataFrame:
        """The places stage's work (see `photolab.stages`)."""
        s = self.settings
        online = (OnlineGeocoder(s.geocoder, dict(s.geocoder_options), s.geocoder_min_delay_s)
                  if s.geocoder else None)
        out = compute_places(frame, online, self.catalog.geocode_cached,
                             self.catalog.geocode_store, s.city_radius_km)
        tick(frame.height)
        return out

    def places(self, photo_ids: Sequence[int] | None = None) -> pl.DataFrame:
        """One row per present photo (or per one of `photo_ids`): `photo_id`, `lat`, `lon`,
        `country_code`, `country`,
        `region`, `subregion`, `city`, `distance_km` (to the city), `locality` (nearest
        populated place), `locality_km`, `source` (`gazetteer`, an online provider, or
        `user`), `reason` (why there is no place).

        A person's correction (`set_place`) wins over what was computed, field by field.
        """
        if photo_ids is None:
            return self._every_place()
        return self._places(photo_ids)

    @kept("places", tables=("photos", "places"), decisions=PLACE_DECISIONS)
    def _every_place(self) -> pl.DataFrame:
        return self._places(None)

    def _places(self, photo_ids: Sequence[int] | None) -> pl.DataFrame:
        cols = [c for c in PLACES_SCHEMA if c not in ("photo_id", "error")]
        sql = (f"SELECT p.photo_id, {', '.join('pl.' + c for c in cols)} FROM photos p "
               "LEFT JOIN places pl USING (photo_id) WHERE " + SHOWN)
        schema = {k: v for k, v in PLACES_SCHEMA.items() if k != "error"}
        f = (self.catalog.frame(f"{sql} ORDER BY p.photo_id", schema=schema)
             if photo_ids is None else
             self.catalog.frame_in(f"{sql} AND p.photo_id IN ({{ids}}) ORDER BY p.photo_id",
                                   photo_ids, schema=schema))
        user = self.catalog.latest_decisions("place")
        if user.height == 0:
            return f
        fields = {k: pl.col("value").str.json_path_match(f"$.{k}") for k in PLACE_FIELDS}
        u = user.select("photo_id", **{f"u_{k}": v for k, v in fields.items()})
        f = f.join(u, on="photo_id", how="left", maintain_order="left")
        decided = pl.any_horizontal([pl.col(f"u_{k}").is_not_null() for k in PLACE_FIELDS])
        return f.with_columns(
            [pl.coalesce(f"u_{k}", k).alias(k) for k in PLACE_FIELDS]
            + [pl.when(decided).then(pl.lit("user")).otherwise("source").alias("source"),
               pl.when(decided).then(None).otherwise("reason").alias("reason"),
               pl.when(decided & pl.col("u_country").is_not_null()
                       & (pl.col("u_country") != pl.col("country")))
               .then(None).otherwise("country_code").alias("country_code"),
               pl.when(decided).then(None).otherwise("distance_km").alias("distance_km")]
        ).drop([f"u_{k}" for k in PLACE_FIELDS])

    def place_names(self) -> list[str]:
        """Every country, region and city name of the present photos, sorted (what a place
        filter offers): distinct names in SQL, people's corrections applied to their photos
        only, not a frame of every photo."""
        decided = self.catalog.latest_decisions("place")["photo_id"]
        computed = self.catalog.frame_in(
            "SELECT DISTINCT pl.country, pl.region, pl.city FROM photos p JOIN places pl "
            "USING (photo_id) WHERE " + SHOWN + " AND p.photo_id NOT IN ({ids})",
            decided, schema={"country": pl.String, "region": pl.String, "city": pl.String})
        both = pl.concat([computed, self.places(decided.to_list())
                          .select("country", "region", "city")])
        return sorted({v for c in both.columns for v in both[c].drop_nulls().to_list()})

    def place_hierarchy(self) -> pl.DataFrame:
        """Country > region > city with photo counts (photos without a place left out)."""
        return self._place_hierarchy()

    @kept("place_hierarchy", uses=("places",))
    def _place_hierarchy(self) -> pl.DataFrame:
        return (self.places().filter(pl.col("country").is_not_null())
                .with_columns(pl.col("region", "city").fill_null(UNKNOWN_PLACE))
                .group_by("country", "region", "city").agg(n_photos=pl.len(),
                                                           photo_ids=pl.col("photo_id"))
                .sort(["country", "region", "n_photos", "city"],
                      descending=[False, False, True, False]))

    def place_covers(self) -> pl.DataFrame:
        """One row per place of `place_hierarchy` (a city, or its region's unknown city):
        `place_id` ("Country/Region/City", the sunburst's id), `country`, `region`, `city`,
        `n_photos`, `cover_photo_id` (its best photo, as an event's cover is chosen: see
        `photolab.events.best`); most photographed first."""
        return self._place_covers()

    @kept("place_covers", settings=("dupe_threshold",), uses=("place_hierarchy", "best_photos"))
    def _place_covers(self) -> pl.DataFrame:
        from ..events.best import CANDIDATES, best_first

        h = self.place_hierarchy().with_columns(
            place_id=pl.concat_str(["country", "region", "city"], separator="/"))
        members = h.select("place_id", photo_id="photo_ids").explode("photo_id")
        best = (best_first(members.join(self.photos.best_photos(), on="photo_id"), "place_id",
                           self.settings.dupe_threshold, CANDIDATES)
                .filter(pl.col("rank") == 1).select("place_id", cover_photo_id="photo_id"))
        return (h.join(best, on="place_id", how="left")
                .select("place_id", "country", "region", "city", "n_photos", "cover_photo_id")
                .sort(["n_photos", "place_id"], descending=[True, False]))

    def place_photos(self, place_id: str) -> list[int]:
        """The photo ids of one place of `place_hierarchy` at any level: "Italy",
        "Italy/Lazio" or "Italy/Lazio/Rome" (`PlaceNotFoundError` when it has none)."""
        country, region = pl.col("country"), pl.col("country") + "/" + pl.col("region")
        h = self.place_hierarchy().filter(
            (country == place_id) | (region == place_id)
            | (region + "/" + pl.col("city") == place_id))
        if h.height == 0:
            raise PlaceNotFoundError(f"no place {place_id!r}")
        return sorted(h["photo_ids"].explode().to_list())

    @writes
    def set_place(self, photo_ids: Sequence[int], city: str | None = None,
                  region: str | None = None, country: str | None = None,
                  subregion: str | None = None, who: str | None = None) -> list[int]:
        """"These photos (a trip) were in X": one decision per photo, kept by every
        recompute. Fields left None keep the computed value. Returns the decision ids."""
        value = {k: v for k, v in (("city", city), ("region", region), ("country", country),
                                   ("subregion", subregion)) if v is not None}
        if not value:
            raise PhotolabError("say at least one of city, region, subregion, country")
        ids = self.catalog.require_photos(photo_ids)
        return self.catalog.add_decisions("place", [(i, value) for i in ids], who or self.who)
