"""Online reverse geocoding through geopy, off by default.

A user turns it on in `photolab.toml`::

    geocoder = "nominatim"
    geocoder_options = { user_agent = "my-photos (me@example.org)" }
    geocoder_min_delay_s = 1.0        # Nominatim's usage policy: one request per second

Any geopy service name works (`photon`, `opencage`, `mapbox` with `api_key` in the options,
`domain` and `scheme` for a self-hosted server). Requests go through geopy's `RateLimiter`;
each answer is kept in the catalog (`geocode_cache`, keyed by the position rounded to about
11 m), so no place is asked twice. Nominatim's and Photon's answers are read into country,
region, subregion and city; other providers give their formatted address as `city`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import PhotolabError


def cache_key(lat: float, lon: float) -> str:
    return f"{lat:.4f},{lon:.4f}"


def parse(provider: str, raw: dict[str, Any] | None, address: str | None) -> dict[str, Any]:
    """country_code, country, region, subregion, city from a provider's raw answer."""
    if raw is None:
        return {}
    if provider == "nominatim":
        a = raw.get("address", {})
        city = next((a[k] for k in ("city", "town", "village", "municipality", "hamlet",
                                     "suburb") if a.get(k)), None)
        return {"country_code": (a.get("country_code") or "").upper() or None,
                "country": a.get("country"), "region": a.get("state") or a.get("region"),
                "subregion": a.get("county") or a.get("state_district"), "city": city}
    if provider == "photon":
        p = raw.get("properties", raw)
        return {"country_code": (p.get("countrycode") or "").upper() or None,
                "country": p.get("country"), "region": p.get("state"),
                "subregion": p.get("county") or p.get("district"),
                "city": p.get("city") or p.get("town") or p.get("village") or p.get("name")}
    return {"city": address}


@dataclass
class OnlineGeocoder:
    """A geopy reverse geocoder with a rate limit and the catalog as its cache.

    Parameters
    ----------
    provider : a geopy service name ("nominatim", "photon", "opencage", ...).
    options : keyword arguments for the geopy geocoder (user_agent, api_key, domain, scheme).
    min_delay_s : seconds between two requests.
    """

    provider: str
    options: dict[str, Any] = field(default_factory=dict)
    min_delay_s: float = 1.0

    def __post_init__(self) -> None:
        try:
            from geopy.extra.rate_limiter import RateLimiter
            from geopy.geocoders import get_geocoder_for_service
        except ImportError as e:
            raise PhotolabError("online geocoding needs geopy: "
                                "`pip install photolab[online]`") from e
        try:
            cls = get_geocoder_for_service(self.provider)
        except Exception as e:
            raise PhotolabError(f"geopy has no geocoder {self.provider!r}") from e
        options = {"timeout": 10, **self.options}
        if self.provider == "nominatim" and "user_agent" not in options:
            raise PhotolabError("Nominatim needs a user_agent that names you: set "
                                "geocoder_options = { user_agent = \"...\" } in photolab.toml")
        self._reverse = RateLimiter(cls(**options).reverse, min_delay_seconds=self.min_delay_s,
                                    max_retries=1, error_wait_seconds=self.min_delay_s)

    def reverse(self, points: Sequence[tuple[float, float]],
                cached: Callable[[str, list[str]], dict[str, str]],
                store: Callable[[str, dict[str, str]], None]) -> list[dict[str, Any] | None]:
        """Places for `points`, from the cache where asked before; None where the provider
        failed (the caller keeps the offline place)."""
        keys = [cache_key(la, lo) for la, lo in points]
        known = cached(self.provider, sorted(set(keys)))
        fresh: dict[str, str] = {}
        for key in dict.fromkeys(keys):
            if key in known:
                continue
            lat, lon = (float(v) for v in key.split(","))
            try:
                loc = self._reverse((lat, lon), exactly_one=True)
            except Exception:  # network, quota, server errors: the offline place stays
                continue
            answer = parse(self.provider, getattr(loc, "raw", None),
                           getattr(loc, "address", None)) if loc is not None else {}
            fresh[key] = json.dumps(answer)
        if fresh:
            store(self.provider, fresh)
        values = {**known, **fresh}
        return [json.loads(values[k]) if k in values else None for k in keys]
