"""Which GPS readings are a location, and why the others are not."""

from __future__ import annotations

import polars as pl

from ..media.metadata import first_tag

#: a numeric latitude in a vendor block (FLIR's APP1, maker notes), not in the GPS IFD
MAKER_GPS = r'"(APP\d+|MakerNotes|FLIR|[A-Za-z]+Maker\w*):GPSLatitude": *"?-?\d'


def gps_columns() -> list[pl.Expr]:
    """`lat`, `lon` (valid coordinates or null) and `reason` (null when valid) from the
    `tags` JSON and the media stage's `lat`/`lon` columns.

    The media stage reads the standard GPS tags; here an XMP-only position also counts, and
    each photo without a position says why: (0, 0), out of range, a GPS block without
    coordinates, GPS only in a maker-note block, or no GPS at all.
    """
    num = pl.Float64
    raw_lat = first_tag("Composite:GPSLatitude", "EXIF:GPSLatitude").cast(num, strict=False)
    raw_lon = first_tag("Composite:GPSLongitude", "EXIF:GPSLongitude").cast(num, strict=False)
    xmp_lat = first_tag("XMP:GPSLatitude").cast(num, strict=False)
    xmp_lon = first_tag("XMP:GPSLongitude").cast(num, strict=False)
    in_range = lambda la, lo: ((la.abs() <= 90) & (lo.abs() <= 180)  # noqa: E731
                               & ~((la == 0) & (lo == 0)))
    xmp_ok = in_range(xmp_lat, xmp_lon).fill_null(False)
    lat = pl.coalesce(pl.col("lat"), pl.when(xmp_ok).then(xmp_lat))
    lon = pl.coalesce(pl.col("lon"), pl.when(xmp_ok).then(xmp_lon))
    tags = pl.col("tags").fill_null("")
    reason = (
        pl.when(lat.is_not_null()).then(None)
        .when((raw_lat == 0) & (raw_lon == 0))
        .then(pl.lit("GPS (0, 0): the camera recorded no fix"))
        .when((raw_lat.abs() > 90) | (raw_lon.abs() > 180))
        .then(pl.format("GPS out of range ({}, {})", raw_lat.cast(pl.String).fill_null("none"),
                        raw_lon.cast(pl.String).fill_null("none")))
        .when(tags.str.contains(MAKER_GPS))
        .then(pl.lit("GPS only in a maker-note block, not in the standard GPS tags"))
        .when(tags.str.contains(r'"(EXIF|XMP|Composite|GPS):GPS'))
        .then(pl.lit("GPS block without coordinates"))
        .otherwise(pl.lit("no GPS in the file")))
    return [lat.alias("lat"), lon.alias("lon"), reason.alias("reason")]
