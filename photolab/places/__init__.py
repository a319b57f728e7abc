"""Places: GPS sanity, offline reverse geocoding, optional online geocoders, a hierarchy."""
