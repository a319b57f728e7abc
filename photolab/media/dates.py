"""Dates stage: when was each photo taken, from ordered rules, vectorised with Polars.

Each `DateRule` turns the input frame into three columns: `local` (wall-clock time as the
camera showed it), `utc`, and `offset` (minutes east of UTC); any may be null. The first rule
whose result is plausible wins; its name becomes `taken_at_source`. Where the zone is unknown
but the photo has GPS, the zone at that place is looked up offline (timezonefinder).

The default order: a user's date > EXIF DateTimeOriginal > CreateDate / QuickTime (UTC) >
GPS date-time (UTC) > file-name patterns of cameras and apps > file mtime. Insert your own
`DateRule` anywhere in the list, or append a `FilenamePattern`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import polars as pl

from .metadata import tag

DT = pl.Datetime("us")
OUT_SCHEMA = {"local": DT, "utc": DT, "offset": pl.Int32}
DATES_SCHEMA = {"photo_id": pl.Int64, "taken_at": pl.String, "taken_at_utc": pl.String,
                "tz_offset": pl.String, "taken_at_source": pl.String, "error": pl.String}
EARLIEST = datetime(1826, 1, 1)  # the oldest surviving photograph


@dataclass(frozen=True)
class DateRule:
    """A named way to date photos: `extract(frame)` returns columns local, utc, offset.

    `label(frame)`, when given, names the variant that matched each row (shown as
    `taken_at_source` "name:label").
    """

    name: str
    extract: Callable[[pl.DataFrame], pl.DataFrame]
    label: Callable[[pl.DataFrame], pl.Series] | None = None


@dataclass(frozen=True)
class FilenamePattern:
    """A regular expression over the file name with named groups.

    Groups: Y m d (required), H M S (default 0), f (fraction digits), p (AM/PM), or `ms`
    alone for a Unix epoch in milliseconds (read as UTC).
    """

    name: str
    regex: str


_DT_RE = (r"^\s*(?P<Y>\d{4})[:\-](?P<m>\d{2})[:\-](?P<d>\d{2})[ T](?P<H>\d{2}):(?P<M>\d{2})"
          r"(?::(?P<S>\d{2}))?(?:\.(?P<f>\d+))?\s*(?P<z>Z|[+\-]\d{2}:?\d{2})?")
_OFFSET_RE = r"^\s*(?P<z>Z|[+\-]\d{2}:?\d{2})\s*$"


def _build(g: pl.Expr, has: set[str]) -> pl.Expr:
    """A naive datetime from the named string groups of a struct (null when impossible)."""
    def part(name: str, default: str) -> pl.Expr:
        return g.struct.field(name).fill_null(default) if name in has else pl.lit(default)

    hour = part("H", "0").cast(pl.Int32, strict=False)
    if "p" in has:
        p = g.struct.field("p").str.to_uppercase()
        hour = (pl.when(p == "PM").then(hour % 12 + 12).when(p == "AM").then(hour % 12)
                .otherwise(hour))
    frac = part("f", "0").str.slice(0, 6).str.pad_end(6, "0")
    text = pl.concat_str([g.struct.field("Y"), pl.lit("-"), g.struct.field("m"), pl.lit("-"),
                          g.struct.field("d"), pl.lit(" "), hour.cast(pl.String).str.zfill(2),
                          pl.lit(":"), part("M", "00"), pl.lit(":"), part("S", "00"),
                          pl.lit("."), frac])
    return text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", strict=False)


def _offset_minutes(z: pl.Expr) -> pl.Expr:
    """'+05:30' / '-0800' / 'Z' -> minutes east of UTC."""
    digits = z.str.replace_all(":", "")
    sign = pl.when(digits.str.starts_with("-")).then(-1).otherwise(1)
    hh = digits.str.slice(1, 2).cast(pl.Int32, strict=False)
    mm = digits.str.slice(3, 2).cast(pl.Int32, strict=False)
    return (pl.when(z == "Z").then(0).otherwise(sign * (hh * 60 + mm))).cast(pl.Int32)


def parse_datetime(text: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """EXIF / ISO date strings -> (naive datetime, offset minutes or null)."""
    g = text.str.extract_groups(_DT_RE)
    return _build(g, {"Y", "m", "d", "H", "M", "S", "f"}), _offset_minutes(g.struct.field("z"))


def parse_offset(text: pl.Expr) -> pl.Expr:
    return _offset_minutes(text.str.extract(_OFFSET_RE, 1))


def _frame(frame: pl.DataFrame, local: pl.Expr | None = None, utc: pl.Expr | None = None,
           offset: pl.Expr | None = None) -> pl.DataFrame:
    none = pl.lit(None)
    return frame.select(
        local=(local if local is not None else none).cast(DT),
        utc=(utc if utc is not None else none).cast(DT),
        offset=(offset if offset is not None else none).cast(pl.Int32),
    )


def _tags_or_null(frame: pl.DataFrame) -> pl.DataFrame:
    return frame if "tags" in frame.columns else frame.with_columns(tags=pl.lit(None, pl.String))


# -- the default rules ------------------------------------------------------------------------

def user_rule(frame: pl.DataFrame) -> pl.DataFrame:
    """A date a person set (column `user_date`, ISO 8601, offset optional)."""
    if "user_date" not in frame.columns:
        return _frame(frame)
    local, off = parse_datetime(pl.col("user_date"))
    return _frame(frame, local=local, offset=off)


def exif_original_rule(frame: pl.DataFrame) -> pl.DataFrame:
    """EXIF / XMP / maker-note DateTimeOriginal, with sub-seconds and OffsetTimeOriginal."""
    frame = _tags_or_null(frame)
    # an XMP sidecar's date is someone's correction: it wins over the file's own
    sidecar = pl.when(tag("Photolab:Sidecar").is_not_null()).then(tag("XMP:DateTimeOriginal"))
    local, off = parse_datetime(pl.coalesce(
        sidecar, tag("Composite:SubSecDateTimeOriginal"), tag("EXIF:DateTimeOriginal"),
        tag("XMP:DateTimeOriginal"), tag("Composite:DateTimeOriginal"),
        tag("MakerNotes:DateTimeOriginal"),
        # any other group's DateTimeOriginal (FLIR APP1 blocks, vendor XMP)
        pl.col("tags").str.extract(r'"[\w-]+:DateTimeOriginal": "([^"]+)"', 1)))
    off = pl.coalesce(off, parse_offset(tag("EXIF:OffsetTimeOriginal")))
    # a Google Takeout sidecar's UTC instant gives the zone of a zone-less local time
    # (rounded to 15 minutes, believed within 14 hours)
    utc = _takeout_utc()
    diff = ((local - utc).dt.total_minutes() / 15).round() * 15
    off = pl.coalesce(off, pl.when(diff.abs() <= 14 * 60).then(diff))
    return _frame(frame, local=local, offset=off)


def _takeout_utc() -> pl.Expr:
    return pl.from_epoch(tag("Takeout:PhotoTakenTime").cast(pl.Int64, strict=False),
                         time_unit="s").cast(DT)


def takeout_rule(frame: pl.DataFrame) -> pl.DataFrame:
    """Google Takeout's photoTakenTime (UTC), from the JSON sidecar beside the file."""
    frame = _tags_or_null(frame)
    return _frame(frame, utc=_takeout_utc())


def create_date_rule(frame: pl.DataFrame) -> pl.DataFrame:
    """Apple's QuickTime CreationDate (local + zone), EXIF/XMP CreateDate (local), else
    QuickTime CreateDate, which the QuickTime format defines as UTC."""
    frame = _tags_or_null(frame)
    apple, apple_off = parse_datetime(tag("QuickTime:CreationDate"))
    exif, exif_off = parse_datetime(pl.coalesce(
        tag("Composite:SubSecCreateDate"), tag("EXIF:CreateDate"), tag("XMP:CreateDate"),
        tag("XMP:DateCreated"), tag("IPTC:DateCreated")))
    exif_off = pl.coalesce(exif_off, parse_offset(tag("EXIF:OffsetTimeDigitized")))
    qt, _ = parse_datetime(tag("QuickTime:CreateDate"))
    local = pl.coalesce(apple, exif)
    offset = pl.when(apple.is_not_null()).then(apple_off).otherwise(exif_off)
    return _frame(frame, local=local, offset=offset,
                  utc=pl.when(local.is_null()).then(qt))


def gps_rule(frame: pl.DataFrame) -> pl.DataFrame:
    """GPS date and time stamps, which are UTC."""
    frame = _tags_or_null(frame)
    utc, _ = parse_datetime(pl.coalesce(tag("Composite:GPSDateTime"), tag("XMP:GPSDateTime")))
    return _frame(frame, utc=utc)


#: the separators a name may put between a date's parts (the same one twice) and between it
#: and its time
_SEPARATORS = ("", "-", "_", ".", " ")
#: a time after a date: hours, minutes, seconds, each joined directly or by - _ . : space
_TIME = (r"(?P<H>[01]\d|2[0-3])[-_.:h ]?(?P<M>[0-5]\d)[-_.:m ]?(?P<S>[0-5]\d)"
         r"(?:[.,]?(?P<f>\d{1,6}))?")


def _date(sep: str) -> str:
    """A year-first date (1826 to 2099: no photograph is older) with `sep` between its
    parts; month and day are checked here and by the calendar (30 February is no date)."""
    s = re.escape(sep)
    return (rf"(?P<Y>18[2-9]\d|19\d{{2}}|20\d{{2}}){s}(?P<m>0[1-9]|1[0-2]){s}"
            rf"(?P<d>0[1-9]|[12]\d|3[01])")


def date_patterns() -> list[FilenamePattern]:
    """The generic file-name dates, one template over every separator: "camera" (a date and a
    time: Android, Pixel, Samsung, Dropbox, exports, IMG20190825143012...; never inside a
    longer run of digits) and "date" (a date alone, set apart from letters and digits:
    "Scan 2019-05-12 family", "export_2019.05.12"; "DSCN2010_0512" is a counter)."""
    camera = [FilenamePattern("camera", rf"(?:^|\D){_date(sep)}[-_. T]?{_TIME}(?:\D|$)")
              for sep in _SEPARATORS]
    alone = [FilenamePattern("date", rf"(?:^|[^0-9A-Za-z]){_date(sep)}(?:[^0-9A-Za-z]|$)")
             for sep in _SEPARATORS]
    return camera + alone


FILENAME_PATTERNS: list[FilenamePattern] = [
    FilenamePattern("whatsapp", r"WhatsApp (?:Image|Video) (?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
                    r" at (?P<H>\d{1,2})\.(?P<M>\d{2})\.(?P<S>\d{2})(?:\s?(?P<p>[AaPp][Mm]))?"),
    FilenamePattern("whatsapp", r"^(?:IMG|VID|AUD|PTT|STK)-(?P<Y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"
                    r"-WA\d+"),
    FilenamePattern("screenshot", r"^Screen ?[Ss]hot (?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
                    r" at (?P<H>\d{1,2})\.(?P<M>\d{2})\.(?P<S>\d{2})(?:\s?(?P<p>[AaPp][Mm]))?"),
    FilenamePattern("screenshot", r"^Screenshot_(?P<Y>\d{4})-?(?P<m>\d{2})-?(?P<d>\d{2})[-_]"
                    r"(?P<H>\d{2})-?(?P<M>\d{2})-?(?P<S>\d{2})"),
    FilenamePattern("telegram", r"^photo_(?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})_(?P<H>\d{2})-"
                    r"(?P<M>\d{2})-(?P<S>\d{2})"),
    FilenamePattern("signal", r"^signal-(?P<Y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})-(?P<H>\d{2})-?"
                    r"(?P<M>\d{2})-?(?P<S>\d{2})(?:-(?P<f>\d{3}))?"),
    FilenamePattern("facebook", r"^FB_IMG_(?P<ms>\d{13})"),
    FilenamePattern("burst", r"BURST(?P<Y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?P<H>\d{2})(?P<M>\d{2})"
                    r"(?P<S>\d{2})(?P<f>\d{3})?"),
    *date_patterns(),
]


def filename_rule(patterns: Sequence[FilenamePattern] | None = None) -> DateRule:
    """A rule trying file-name patterns in order on the file's base name."""
    pats = list(FILENAME_PATTERNS if patterns is None else patterns)

    def extract(frame: pl.DataFrame) -> pl.DataFrame:
        name = pl.col("path").str.replace(r"^.*/", "")
        locals_, utcs = [], []
        for p in pats:
            has = set(re.compile(p.regex).groupindex)
            g = name.str.extract_groups(p.regex)
            if "ms" in has:
                utcs.append(pl.from_epoch(g.struct.field("ms").cast(pl.Int64, strict=False),
                                          time_unit="ms").cast(DT))
            else:
                locals_.append(_build(g, has))
        local = pl.coalesce(locals_) if locals_ else None
        utc = pl.coalesce(utcs) if utcs else None
        if local is not None and utc is not None:
            utc = pl.when(local.is_null()).then(utc)
        return _frame(frame, local=local, utc=utc)

    def source(frame: pl.DataFrame) -> pl.Series:
        name = frame["path"].str.replace(r"^.*/", "")
        out = pl.Series([None] * frame.height, dtype=pl.String)
        for p in reversed(pats):
            out = pl.select(pl.when(name.str.contains(p.regex)).then(pl.lit(p.name))
                            .otherwise(out)).to_series()
        return out

    return DateRule("filename", extract, label=source)


def mtime_rule(frame: pl.DataFrame) -> pl.DataFrame:
    """The file's modification time (UTC), the last resort."""
    return _frame(frame, utc=pl.from_epoch(pl.col("mtime_ns") // 1000, time_unit="us"))


DEFAULT_RULES: list[DateRule] = [
    DateRule("user", user_rule),
    DateRule("exif_original", exif_original_rule),
    DateRule("create_date", create_date_rule),
    DateRule("gps", gps_rule),
    DateRule("takeout", takeout_rule),
    filename_rule(),
    DateRule("mtime", mtime_rule),
]


# -- combining -----------------------------------------------------------------------------

def plausible(dt: pl.Expr, now: datetime | None = None) -> pl.Expr:
    """Not before photography, not on the 1970-01-01 camera default, not in the future."""
    latest = (now or datetime.now(UTC)).replace(tzinfo=None) + timedelta(days=1)
    return (dt.is_not_null() & (dt >= EARLIEST) & (dt <= latest)
            & (dt.dt.date() != datetime(1970, 1, 1).date()))


@cache
def _finder():  # type: ignore[no-untyped-def]
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()


def zone_offsets(lat: Sequence[float], lon: Sequence[float], when: Sequence[datetime],
                 is_utc: Sequence[bool]) -> list[int | None]:
    """Offset in minutes of the time zone at each place, at that local or UTC time."""
    out: list[int | None] = []
    for la, lo, t, u in zip(lat, lon, when, is_utc, strict=True):
        name = _finder().timezone_at(lng=lo, lat=la)
        if name is None:
            out.append(None)
            continue
        zone = ZoneInfo(name)
        aware = t.replace(tzinfo=UTC).astimezone(zone) if u else t.replace(tzinfo=zone)
        delta = aware.utcoffset()
        out.append(int(delta.total_seconds() // 60) if delta is not None else None)
    return out


def _format_offset(minutes: pl.Expr) -> pl.Expr:
    sign = pl.when(minutes < 0).then(pl.lit("-")).otherwise(pl.lit("+"))
    a = minutes.abs()
    return pl.concat_str([sign, (a // 60).cast(pl.String).str.zfill(2), pl.lit(":"),
                          (a % 60).cast(pl.String).str.zfill(2)])


def extract_dates(frame: pl.DataFrame, rules: Sequence[DateRule] | None = None,
                  now: datetime | None = None) -> pl.DataFrame:
    """Date every photo of a frame by the first rule that gives a plausible time.

    Parameters
    ----------
    frame : `photo_id`, `path`, `mtime_ns`, and where known `tags` (exiftool JSON),
        `lat`, `lon` and `user_date`.
    rules : ordered rules; `DEFAULT_RULES` when omitted.
    now : the reference for "in the future" (tests pin it).

    Returns
    -------
    Frame with `photo_id`, `taken_at` (local time, ISO 8601), `taken_at_utc` (ISO, null when
    the zone is unknown), `tz_offset` ('+02:00'), `taken_at_source` and `error`.

    Example
    -------
    >>> f = pl.DataFrame({"photo_id": [1], "path": ["/p/IMG_20190825_143012.jpg"],
    ...                   "mtime_ns": [0]})
    >>> extract_dates(f)["taken_at"][0], extract_dates(f)["taken_at_source"][0]
    ('2019-08-25T14:30:12', 'filename:camera')
    """
    rules = list(DEFAULT_RULES if rules is None else rules)
    for col, dtype in (("lat", pl.Float64), ("lon", pl.Float64)):
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype).alias(col))
    picked = frame.select("photo_id", "path", "lat", "lon").with_columns(
        local=pl.lit(None, DT), utc=pl.lit(None, DT), offset=pl.lit(None, pl.Int32),
        source=pl.lit(None, pl.String))
    for rule in rules:
        got = rule.extract(frame)
        ok = pl.Series(got.select(
            plausible(pl.col("local"), now) | plausible(pl.col("utc"), now)).to_series())
        take = ok & picked["source"].is_null()
        if not take.any():
            continue
        name = pl.Series([rule.name] * frame.height, dtype=pl.String)
        if rule.label is not None:
            name = rule.name + ":" + rule.label(frame)
        picked = picked.with_columns(
            local=pl.when(take).then(got["local"]).otherwise(pl.col("local")),
            utc=pl.when(take).then(got["utc"]).otherwise(pl.col("utc")),
            offset=pl.when(take).then(got["offset"]).otherwise(pl.col("offset")),
            source=pl.when(take).then(name).otherwise(pl.col("source")))
    # where the zone is unknown but GPS says where: the zone at that place
    need = picked.filter(pl.col("source").is_not_null() & pl.col("offset").is_null()
                         & pl.col("lat").is_not_null() & pl.col("lon").is_not_null())
    if need.height:
        when = need.select(pl.coalesce("local", "utc")).to_series().to_list()
        offs = zone_offsets(need["lat"].to_list(), need["lon"].to_list(), when,
                            need["local"].is_null().to_list())
        fill = need.select("photo_id").with_columns(gps_offset=pl.Series(offs, dtype=pl.Int32))
        picked = picked.join(fill, on="photo_id", how="left").with_columns(
            offset=pl.coalesce("offset", "gps_offset")).drop("gps_offset")
    # a UTC source with no zone: show it in the machine's zone for mtime, in UTC otherwise
    local_zone = datetime.now().astimezone().utcoffset() or timedelta(0)
    default_off = pl.when(pl.col("source") == "mtime").then(
        pl.lit(int(local_zone.total_seconds() // 60))).otherwise(0).cast(pl.Int32)
    picked = picked.with_columns(
        offset=pl.when(pl.col("local").is_null() & pl.col("utc").is_not_null())
        .then(pl.coalesce("offset", default_off)).otherwise(pl.col("offset")))
    minutes = pl.duration(minutes=pl.col("offset"))
    picked = picked.with_columns(
        local=pl.coalesce("local", pl.col("utc") + minutes),
        utc=pl.coalesce("utc", pl.col("local") - minutes))
    iso = "%Y-%m-%dT%H:%M:%S%.f"
    out = picked.select(
        "photo_id",
        taken_at=pl.col("local").dt.to_string(iso).str.replace(r"\.0+$", ""),
        taken_at_utc=pl.col("utc").dt.to_string(iso).str.replace(r"\.0+$", ""),
        tz_offset=_format_offset(pl.col("offset")),
        taken_at_source="source",
        error=pl.when(pl.col("source").is_null()).then(pl.lit("no plausible date")),
    )
    return out.cast(DATES_SCHEMA)  # type: ignore[arg-type]
