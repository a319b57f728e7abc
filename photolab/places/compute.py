"""The places stage: frame of photos (with `tags`, `lat`, `lon`) -> a place per photo."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from .gazetteer import PLACE_SCHEMA, gazetteer
from .online import OnlineGeocoder
from .sanity import gps_columns

PLACES_SCHEMA = {"photo_id": pl.Int64, "lat": pl.Float64, "lon": pl.Float64, **PLACE_SCHEMA,
                 "source": pl.String, "reason": pl.String, "error": pl.String}
ONLINE_FIELDS = ("country_code", "country", "region", "subregion", "city")


def compute_places(frame: pl.DataFrame, online: OnlineGeocoder | None = None,
                   cached: Callable | None = None, store: Callable | None = None,
                   city_radius_km: float = 30.0) -> pl.DataFrame:
    """Reverse-geocode every photo with a usable position, all at once, offline; ask the
    online geocoder too when one is given (its answer wins where it has one). Photos
    without a position get `reason`."""
    f = frame.select("photo_id", "tags", "lat", "lon").with_columns(gps_columns())
    where = gazetteer().lookup(f["lat"].to_numpy(), f["lon"].to_numpy(), city_radius_km)
    out = pl.concat([f.select("photo_id", "lat", "lon", "reason"), where], how="horizontal")
    out = out.with_columns(source=pl.when(pl.col("lat").is_not_null()).then(pl.lit("gazetteer")),
                           error=pl.lit(None, dtype=pl.String))
    if online is not None and cached is not None and store is not None:
        has = out.filter(pl.col("lat").is_not_null())
        answers = online.reverse(list(has.select("lat", "lon").iter_rows()), cached, store)
        got = pl.DataFrame(
            [{"photo_id": pid, **{k: (a or {}).get(k) for k in ONLINE_FIELDS},
              "ok": a is not None and any((a or {}).get(k) for k in ONLINE_FIELDS)}
             for pid, a in zip(has["photo_id"], answers, strict=True)],
            schema={"photo_id": pl.Int64, **{k: pl.String for k in ONLINE_FIELDS},
                    "ok": pl.Boolean})
        out = out.join(got, on="photo_id", how="left", suffix="_online",
                       maintain_order="left").with_columns(
            [pl.when(pl.col("ok")).then(pl.col(f"{k}_online")).otherwise(pl.col(k)).alias(k)
             for k in ONLINE_FIELDS]
            + [pl.when(pl.col("ok")).then(pl.lit(online.provider)).otherwise("source")
               .alias("source"),
               pl.when(pl.col("ok").not_()).then(pl.lit(
                   f"{online.provider} gave no place; the offline gazetteer's is kept"))
               .alias("error")])
    return out.select(list(PLACES_SCHEMA)).cast(PLACES_SCHEMA)  # type: ignore[arg-type]
