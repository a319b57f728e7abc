"""Events: photos grouped by when and where they were taken (a pure stage over a frame).

A new event starts after a gap in time (`gap_hours`) or a jump in place (`jump_km` between
two consecutive geotagged photos); consecutive days away from home (the library's most
photographed region, or `home`) form one trip, whatever the gaps and jumps inside it.

Why 6 hours (`DEFAULT_GAP_HOURS`): longer than the lulls inside one occasion (a meal, a
drive, a nap at a party that goes past midnight), shorter than a night's sleep between the
last photo of an evening and the first of the next morning, so two days at home are two
events and a party from 21:00 to 02:00 is one. LibrePhotos' automatic albums cut at a
fixed gap too; time-gap clustering with a threshold of hours is what the event-detection
literature on personal photos starts from (Graham et al., "Time as essence for photo
browsing through personal digital libraries", JCDL 2002; Cooper et al., "Temporal event
clustering for digital photo collections", 2005). The tests' trees and the benchmark's
generated life (benchmarks/events.py) score the default: pairwise precision and recall of
"same event".
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

#: hours without a photo that end an event (see the module's docstring)
DEFAULT_GAP_HOURS = 6.0
#: kilometres between two consecutive geotagged photos that start a new event (a flight, a
#: drive to another town; a walk or a road trip with photos on the way moves less per photo)
DEFAULT_JUMP_KM = 50.0
#: how far apart two days away may be and still be one trip: 2 bridges one day between them
#: with no geotagged photo (no photos at all, or photos without GPS: nobody flies home for a
#: day); 3 also joined trips two days apart in benchmarks/events.py (precision 0.95 there,
#: 0.97 with 2)
DEFAULT_TRIP_GAP_DAYS = 2
#: a photo before this hour belongs to the day before (a party past midnight, a late dinner)
DAY_START_HOUR = 4

INPUT_SCHEMA = {"photo_id": pl.Int64, "taken_at": pl.Datetime("us"), "lat": pl.Float64,
                "lon": pl.Float64, "country": pl.String, "region": pl.String,
                "city": pl.String}
EARTH_KM = 6371.0088


def photo_day(col: str = "taken_at") -> pl.Expr:
    """The day a photo belongs to: its date, less `DAY_START_HOUR` hours (a photo at 01:30
    belongs to the evening before)."""
    return (pl.col(col) - timedelta(hours=DAY_START_HOUR)).dt.date()


def _km(lat1: pl.Expr, lon1: pl.Expr, lat2: pl.Expr, lon2: pl.Expr) -> pl.Expr:
    """Great-circle distance (haversine), in kilometres."""
    p1, p2 = lat1.radians(), lat2.radians()
    dp, dl = p2 - p1, (lon2 - lon1).radians()
    a = (dp / 2).sin() ** 2 + p1.cos() * p2.cos() * (dl / 2).sin() ** 2
    return 2 * EARTH_KM * a.sqrt().arcsin()


def home_of(frame: pl.DataFrame) -> tuple[str | None, str | None]:
    """The most photographed (country, region): the library's home. (None, None) with no
    place at all."""
    placed = frame.filter(pl.col("country").is_not_null())
    if placed.height == 0:
        return None, None
    top = (placed.group_by("country", "region").len()
           .sort(["len", "country", "region"], descending=[True, False, False], nulls_last=True))
    return top["country"][0], top["region"][0]


def at_home(home: str | tuple[str | None, str | None]) -> pl.Expr:
    """Whether a geotagged photo is at home: `home` is a (country, region) pair, or one
    name matched against the country, region and city (case-insensitive)."""
    if isinstance(home, tuple):
        country, region = home
        return (pl.col("country").eq_missing(country)
                & pl.col("region").eq_missing(region))
    name = home.strip().lower()
    return pl.any_horizontal([pl.col(c).str.to_lowercase() == name
                              for c in ("country", "region", "city")]).fill_null(False)


def group_events(frame: pl.DataFrame, gap_hours: float = DEFAULT_GAP_HOURS,
                 jump_km: float = DEFAULT_JUMP_KM,
                 home: str | tuple[str | None, str | None] | None = None,
                 trip_gap_days: int = DEFAULT_TRIP_GAP_DAYS) -> pl.DataFrame:
    """Which event each dated photo belongs to.

    Parameters
    ----------
    frame : `photo_id`, `taken_at` (local wall-clock time), `lat`, `lon`, `country`,
        `region`, `city` (nulls where unknown). Undated rows are left out.
    gap_hours : hours without a photo that end an event.
    jump_km : kilometres between consecutive geotagged photos that start a new event.
    home : a place name (country, region or city) or a (country, region) pair; None: the
        most photographed (country, region).
    trip_gap_days : days without a geotagged photo a trip may span between days away.

    Returns
    -------
    `photo_id`, `event` (0, 1, ... in time order), `trip` (the event is days away from home),
    `away` (the photo is geotagged away from home), sorted by time.

    Example
    -------
    >>> from datetime import datetime
    >>> f = pl.DataFrame({"photo_id": [1, 2, 3], "taken_at": [datetime(2020, 1, 1, 10),
    ...     datetime(2020, 1, 1, 12), datetime(2020, 1, 2, 10)]})
    >>> group_events(f)["event"].to_list()
    [0, 0, 1]
    """
    f = (frame.select([pl.col(c) if c in frame.columns else pl.lit(None, t).alias(c)
                       for c, t in INPUT_SCHEMA.items()])
         .cast(INPUT_SCHEMA)  # type: ignore[arg-type]
         .filter(pl.col("taken_at").is_not_null()).sort("taken_at", "photo_id")
         .with_columns(day=photo_day()))
    where = home if home is not None else home_of(f)
    placed = pl.col("country").is_not_null()
    f = f.with_columns(away=placed & ~at_home(where) if where != (None, None) else pl.lit(False))
    # trips: runs of days away among the days that have a geotagged photo, no more than
    # `trip_gap_days` apart; a day with a photo at home (and none away) ends a trip
    days = (f.filter(placed).group_by("day").agg(away=pl.col("away").any()).sort("day")
            .with_columns(prev=pl.col("day").shift(1), prev_away=pl.col("away").shift(1)))
    days = days.with_columns(start=pl.col("away") & (
        ~pl.col("prev_away").fill_null(False)
        | ((pl.col("day") - pl.col("prev")).dt.total_days() > trip_gap_days)))
    trips = (days.with_columns(trip=pl.col("start").cum_sum().cast(pl.Int64)).filter("away")
             .group_by("trip").agg(first=pl.col("day").min(), last=pl.col("day").max())
             .sort("first"))
    f = (f.join_asof(trips, left_on="day", right_on="first", strategy="backward")
         .with_columns(trip=pl.when(pl.col("day") <= pl.col("last")).then("trip")))
    # the rest: a gap in time or a jump in place starts an event
    gap = (pl.col("taken_at") - pl.col("taken_at").shift(1)).dt.total_seconds() / 3600
    prev_lat = pl.col("lat").forward_fill().shift(1)
    prev_lon = pl.col("lon").forward_fill().shift(1)
    jump = _km(prev_lat, prev_lon, pl.col("lat"), pl.col("lon")) > jump_km
    trip = pl.col("trip").fill_null(-1)
    new = (pl.int_range(pl.len()) == 0) | (trip != trip.shift(1)) | (
        pl.col("trip").is_null() & ((gap > gap_hours) | jump.fill_null(False)))
    return f.select("photo_id", event=(new.cum_sum() - 1).cast(pl.Int64),
                    trip=pl.col("trip").is_not_null(), away="away")


def pairwise_scores(found: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float]:
    """Pairwise precision and recall of "same event": of the pairs of photos put in one
    event, the share that truly are (precision), and of the true pairs, the share found
    (recall). `found` and `truth` have `photo_id`, `event`; counted from group sizes, so a
    million photos cost a join, not a million squared pairs.

    >>> t = pl.DataFrame({"photo_id": [1, 2, 3, 4], "event": [0, 0, 1, 1]})
    >>> pairwise_scores(t, t)
    {'precision': 1.0, 'recall': 1.0, 'f1': 1.0}
    """
    j = found.join(truth, on="photo_id", suffix="_true")

    def pairs(*cols: str) -> int:
        n = j.group_by(*cols).len()["len"]
        return int((n * (n - 1) // 2).sum())

    both, got, true = pairs("event", "event_true"), pairs("event"), pairs("event_true")
    p = both / got if got else 1.0
    r = both / true if true else 1.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}
