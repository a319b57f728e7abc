"""Reverse geocoding 1M random land coordinates: photolab's one query against the
`reverse-geocode` package's own per-point API in a loop, side by side in one run.

    .venv/bin/python benchmarks/places.py [--n 1000000] [--loop-n 20000]

Land coordinates: GeoNames places with up to ~5 km of jitter. The package's per-point call
(`reverse_geocode.get`) is timed on --loop-n points and its rate applied to n (printed as
"~"); its batch call (`reverse_geocode.search`) is timed on all n as a second baseline.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import polars as pl
import reverse_geocode

from photolab.places.gazetteer import gazetteer, unit_vectors


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--loop-n", type=int, default=20_000)
    args = ap.parse_args()
    t = time.perf_counter()
    g = gazetteer()
    load = time.perf_counter() - t
    rng = np.random.default_rng(0)
    pick = rng.integers(0, g.places.height, args.n)
    lat = g.places["latitude"].to_numpy()[pick] + rng.normal(0, 0.03, args.n)
    lon = g.places["longitude"].to_numpy()[pick] + rng.normal(0, 0.03, args.n)
    reverse_geocode.get((0.0, 0.0))  # the package loads its data on first use

    t = time.perf_counter()
    ours = g.lookup(lat, lon)
    t_ours = time.perf_counter() - t

    t = time.perf_counter()
    g.tree.query(unit_vectors(lat, lon), workers=-1)  # type: ignore[attr-defined]
    t_nearest = time.perf_counter() - t

    m = min(args.loop_n, args.n)
    t = time.perf_counter()
    loop = [reverse_geocode.get((float(a), float(b))) for a, b in zip(lat[:m], lon[:m],
                                                                     strict=True)]
    t_loop = (time.perf_counter() - t) * args.n / m

    t = time.perf_counter()
    batch = reverse_geocode.search(list(zip(lat, lon, strict=True)))
    t_batch = time.perf_counter() - t

    agree = np.mean([o == r["country_code"] for o, r in
                     zip(ours["country_code"][:m], loop, strict=True)])
    same = np.mean([o == r["city"] for o, r in zip(ours["locality"], batch, strict=True)])
    rows = [("photolab: places and cities (nearest + 8 towns + 8 cities on the sphere)",
             t_ours, ""),
            ("photolab: nearest place only (one query on the sphere)", t_nearest, ""),
            (f"reverse_geocode.get in a loop (timed on {m}, scaled)", t_loop, "~"),
            ("reverse_geocode.search, one batch (nearest only, in degrees)", t_batch, "")]
    f = pl.DataFrame(rows, schema=["method", "seconds", "est"], orient="row").with_columns(
        per_s=args.n / pl.col("seconds"), x_vs_loop=t_loop / pl.col("seconds"))
    print(f"{args.n} coordinates; gazetteer loaded in {load:.2f} s")
    with pl.Config(tbl_width_chars=160, fmt_str_lengths=80, float_precision=2):
        print(f)
    print(f"same country as the package: {agree:.4f}; same nearest place: {same:.4f}")


if __name__ == "__main__":
    main()
