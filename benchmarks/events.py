"""Event grouping at scale, and its quality against known events.

    python benchmarks/events.py [--n 100000 1000000] [--seed 0]

Generates a family's life of N photos with known events (days at home with an occasion or
two, some past midnight; trips abroad of 2-14 days through one to three cities, nights
between their days; 70-80% of photos geotagged, as phones are), then times
`photolab.events.group.group_events` and scores it (pairwise precision and recall of "same
event"), beside two baselines measured in the same run on the same photos:

- `gap only`: a new event after every 6-hour gap, with no place (what LibrePhotos' automatic
  albums and most time-clustering do), in the same vectorised Polars;
- `python loop`: photolab's own rule written as a loop over photos (what the code would be
  without Polars), for the time only.
"""

from __future__ import annotations

import argparse
import math
import time
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from photolab.events.group import (
    DEFAULT_GAP_HOURS,
    DEFAULT_TRIP_GAP_DAYS,
    group_events,
    pairwise_scores,
)

HOME = ("United States", "Washington", "Seattle", 47.61, -122.33)
AWAY = [("Italy", "Lazio", "Rome", 41.90, 12.50), ("Italy", "Tuscany", "Florence", 43.77, 11.26),
        ("France", "Ile-de-France", "Paris", 48.86, 2.35), ("Japan", "Tokyo", "Tokyo", 35.68,
                                                               139.69),
        ("Mexico", "Jalisco", "Guadalajara", 20.67, -103.35),
        ("United States", "California", "San Francisco", 37.77, -122.42),
        ("Spain", "Catalonia", "Barcelona", 41.39, 2.17),
        ("United Kingdom", "England", "London", 51.51, -0.13)]


def life(n: int, seed: int = 0) -> pl.DataFrame:
    """N photos with known events: `photo_id`, `taken_at`, `lat`, `lon`, `country`, `region`,
    `city`, `truth` (the event each photo belongs to)."""
    rng = np.random.default_rng(seed)
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("t", "place", "truth", "gps")}
    day, event, total = 0, 0, 0
    while total < n:
        day += int(rng.integers(1, 6))
        if rng.random() < 0.12:  # a trip abroad
            days = int(rng.integers(2, 15))
            stops = rng.choice(len(AWAY), size=int(rng.integers(1, 4)), replace=False)
            for d in range(days):
                k = int(rng.integers(5, 40))
                hours = np.sort(rng.uniform(8, 22, k))
                cols["t"].append((day + d) * 24.0 + hours)
                cols["place"].append(np.full(k, 1 + stops[min(d * len(stops) // days,
                                                               len(stops) - 1)]))
                cols["truth"].append(np.full(k, event))
                cols["gps"].append(rng.random(k) < 0.8)
                total += k
            day += days
        else:  # an occasion at home, now and then past midnight
            k = int(rng.integers(2, 60))
            start = rng.uniform(9, 19) if rng.random() < 0.9 else 20.5
            hours = start + np.sort(rng.uniform(0, 5, k))
            cols["t"].append(day * 24.0 + hours)
            cols["place"].append(np.zeros(k, np.int64))
            cols["truth"].append(np.full(k, event))
            cols["gps"].append(rng.random(k) < 0.7)
            total += k
        event += 1
    t, place = np.concatenate(cols["t"])[:n], np.concatenate(cols["place"])[:n]
    gps, truth = np.concatenate(cols["gps"])[:n], np.concatenate(cols["truth"])[:n]
    places = [HOME, *AWAY]
    jitter = rng.normal(0, 0.03, (n, 2))
    lat = np.array([p[3] for p in places])[place] + jitter[:, 0]
    lon = np.array([p[4] for p in places])[place] + jitter[:, 1]
    name = [np.array([p[i] for p in places])[place] for i in range(3)]
    origin = datetime(2000, 1, 1)
    f = pl.DataFrame({
        "photo_id": np.arange(1, n + 1), "taken_at": pl.Series(
            (t * 3600e6).astype(np.int64)).cast(pl.Duration("us")) + origin,
        "lat": np.where(gps, lat, np.nan), "lon": np.where(gps, lon, np.nan),
        "country": np.where(gps, name[0], None), "region": np.where(gps, name[1], None),
        "city": np.where(gps, name[2], None), "truth": truth})
    return f.with_columns(pl.col("lat", "lon").fill_nan(None))


def gap_only(f: pl.DataFrame, gap_hours: float = DEFAULT_GAP_HOURS) -> pl.DataFrame:
    s = f.sort("taken_at")
    gap = (s["taken_at"].diff().dt.total_seconds() / 3600).fill_null(math.inf)
    return s.select("photo_id", event=(gap > gap_hours).cum_sum())


def python_loop(f: pl.DataFrame, gap_hours: float = DEFAULT_GAP_HOURS,
                jump_km: float = 50.0) -> list[int]:
    """photolab's rule (gap, jump, days away as trips) as a loop over photos."""
    rows = f.sort("taken_at").select("taken_at", "lat", "lon", "country", "region").rows()
    counts: dict[tuple[str, str], int] = {}
    for r in rows:
        if r[3] is not None:
            counts[(r[3], r[4])] = counts.get((r[3], r[4]), 0) + 1
    home = max(counts, key=lambda k: counts[k])
    away_days: dict[object, bool] = {}
    for r in rows:
        if r[3] is not None:
            d = (r[0] - timedelta(hours=4)).date()
            away_days[d] = away_days.get(d, False) or (r[3], r[4]) != home
    trip_of: dict[object, int] = {}
    trip, prev, prev_away = -1, None, False
    for d in sorted(away_days):
        if away_days[d] and (not prev_away or (d - prev).days > DEFAULT_TRIP_GAP_DAYS):
            trip += 1
        if away_days[d]:
            trip_of[d] = trip
        prev, prev_away = d, away_days[d]
    spans: dict[int, list[object]] = {}
    for d, k in trip_of.items():
        spans.setdefault(k, [d, d])
        spans[k][1] = d
    starts = sorted((v[0], v[1], k) for k, v in spans.items())
    events, event, last_t, last_pos, last_trip, i = [], -1, None, None, None, 0
    for r in rows:
        d = (r[0] - timedelta(hours=4)).date()
        while i + 1 < len(starts) and starts[i + 1][0] <= d:
            i += 1
        in_trip = starts[i][2] if starts and starts[i][0] <= d <= starts[i][1] else None
        new = last_t is None or in_trip != last_trip
        if not new and in_trip is None:
            new = (r[0] - last_t).total_seconds() / 3600 > gap_hours
            if r[1] is not None and last_pos is not None:
                p1, p2 = math.radians(last_pos[0]), math.radians(r[1])
                dl = math.radians(r[2] - last_pos[1])
                a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(
                    dl / 2) ** 2
                new = new or 2 * 6371.0088 * math.asin(math.sqrt(a)) > jump_km
        event += new
        events.append(event)
        last_t, last_trip = r[0], in_trip
        if r[1] is not None:
            last_pos = (r[1], r[2])
    return events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print("n, method, seconds, x (vs python loop), precision, recall, f1")
    for n in args.n:
        f = life(n, args.seed)
        truth = f.select("photo_id", event="truth")
        t = time.perf_counter()
        ours = group_events(f)
        t_ours = time.perf_counter() - t
        t = time.perf_counter()
        base = gap_only(f)
        t_gap = time.perf_counter() - t
        t = time.perf_counter()
        loop = python_loop(f)
        t_loop = time.perf_counter() - t
        same = ours["event"].to_list() == [e for e in loop]
        for name, secs, found in (("photolab", t_ours, ours), ("gap only", t_gap, base),
                                  ("python loop", t_loop, None)):
            s = pairwise_scores(found.select("photo_id", "event"), truth) if found is not None \
                else {"precision": math.nan, "recall": math.nan, "f1": math.nan}
            print(f"{n}, {name}, {secs:.2f}, {t_loop / secs:.1f}, {s['precision']:.4f}, "
                  f"{s['recall']:.4f}, {s['f1']:.4f}")
        print(f"{n}: {f['truth'].n_unique()} true events, {ours['event'].n_unique()} found; "
              f"the loop gives the same events: {same}")


if __name__ == "__main__":
    main()
