"""Capture dates: ordered rules on real files and real file-name patterns."""

from __future__ import annotations

import re
from datetime import datetime

import polars as pl
import pytest

from photolab.media.dates import (
    DEFAULT_RULES,
    DateRule,
    FilenamePattern,
    extract_dates,
    filename_rule,
)

NOW = datetime(2026, 1, 1)


def dates_for(names: list[str], **cols) -> pl.DataFrame:
    f = pl.DataFrame({"photo_id": list(range(len(names))),
                      "path": [f"/photos/{n}" for n in names],
                      "mtime_ns": [1_600_000_000 * 10**9] * len(names), **cols})
    return extract_dates(f, now=NOW)


@pytest.mark.parametrize(("name", "expected", "source"), [
    ("IMG_20190825_143012.jpg", "2019-08-25T14:30:12", "camera"),
    ("VID_20190825_143012.mp4", "2019-08-25T14:30:12", "camera"),
    ("PXL_20200710_061629144.MP.jpg", "2020-07-10T06:16:29.144", "camera"),
    ("20180812_101112.jpg", "2018-08-12T10:11:12", "camera"),
    ("IMG_20190825_143012_BURST001_COVER.jpg", "2019-08-25T14:30:12", "camera"),
    ("00000IMG_00000_BURST20190825143012_COVER.jpg", "2019-08-25T14:30:12", "burst"),
    ("IMG-20190304-WA0012.jpg", "2019-03-04T00:00:00", "whatsapp"),
    ("WhatsApp Image 2020-01-02 at 10.11.12.jpeg", "2020-01-02T10:11:12", "whatsapp"),
    ("WhatsApp Image 2020-01-02 at 10.11.12 PM.jpeg", "2020-01-02T22:11:12", "whatsapp"),
    ("Screenshot_20190825-143012.png", "2019-08-25T14:30:12", "screenshot"),
    ("Screenshot_2019-08-25-14-30-12.png", "2019-08-25T14:30:12", "screenshot"),
    ("Screenshot 2020-01-02 at 10.11.12.png", "2020-01-02T10:11:12", "screenshot"),
    ("Screen Shot 2019-01-02 at 1.11.12 AM.png", "2019-01-02T01:11:12", "screenshot"),
    ("photo_2021-03-04_10-11-12.jpg", "2021-03-04T10:11:12", "telegram"),
    ("signal-2020-01-02-101112.jpg", "2020-01-02T10:11:12", "signal"),
    ("signal-2021-03-04-10-11-12-123.jpg", "2021-03-04T10:11:12.123", "signal"),
    ("2019-08-25 14.30.12.jpg", "2019-08-25T14:30:12", "camera"),
    ("FB_IMG_1565000000000.jpg", "2019-08-05T10:13:20", "facebook"),
])
def test_filename_patterns(name: str, expected: str, source: str) -> None:
    row = dates_for([name]).row(0, named=True)
    assert row["taken_at"] == expected
    assert row["taken_at_source"] == f"filename:{source}"


@pytest.mark.parametrize(("name", "expected", "source"), [
    # a date and a time, joined or separated in every way phones and apps write them
    ("IMG20190825143012.jpg", "2019-08-25T14:30:12", "camera"),          # Oppo, Realme
    ("20190825_143012.jpg", "2019-08-25T14:30:12", "camera"),
    ("2019-08-25_14-30-12.jpg", "2019-08-25T14:30:12", "camera"),
    ("2019-08-25-14-30-12.jpg", "2019-08-25T14:30:12", "camera"),
    ("2019.08.25 14.30.12.jpg", "2019-08-25T14:30:12", "camera"),
    ("2019_08_25_14_30_12.jpg", "2019-08-25T14:30:12", "camera"),
    ("2019-08-25T143012.jpg", "2019-08-25T14:30:12", "camera"),
    ("2019-08-25 14h30m12.jpg", "2019-08-25T14:30:12", "camera"),
    ("Photo 2019-08-25 14 30 12.jpg", "2019-08-25T14:30:12", "camera"),
    ("PANO_20190825_143012.jpg", "2019-08-25T14:30:12", "camera"),
    ("MVIMG_20190825_143012.jpg", "2019-08-25T14:30:12", "camera"),
    ("DJI_20190825143012_0001.JPG", "2019-08-25T14:30:12", "camera"),
    ("Capture d'écran 2019-08-25 143012.png", "2019-08-25T14:30:12", "camera"),
    ("video-2019-08-25-14-30-12.mp4", "2019-08-25T14:30:12", "camera"),
    ("IMG_20190825_143012123.jpg", "2019-08-25T14:30:12.123", "camera"),
    ("IMG_20190825_143012_1.jpg", "2019-08-25T14:30:12", "camera"),
    # a date alone, with words around it: scanners, exports, albums
    ("Scan 2019-05-12.jpg", "2019-05-12T00:00:00", "date"),
    ("scan_2019_05_12_family.jpg", "2019-05-12T00:00:00", "date"),
    ("Export 2019.05.12 (1).jpg", "2019-05-12T00:00:00", "date"),
    ("Birthday party 20190512.jpg", "2019-05-12T00:00:00", "date"),
    ("2019-05-12.jpg", "2019-05-12T00:00:00", "date"),
    ("album-2019-05-12-3.jpg", "2019-05-12T00:00:00", "date"),
    ("Scan_1955-07-01_grandma.tif", "1955-07-01T00:00:00", "date"),
])
def test_dates_in_real_world_names(name: str, expected: str, source: str) -> None:
    row = dates_for([name]).row(0, named=True)
    assert (row["taken_at"], row["taken_at_source"]) == (expected, f"filename:{source}")


@pytest.mark.parametrize("name", [
    "DSCN2010_0512.jpg",         # a camera counter, not 12 May 2010
    "IMG_2019_1234.jpg",         # a year-like counter
    "P1000512.JPG", "100_2019.JPG", "tel 0612345678.jpg",
    "20191315.jpg",              # month 13
    "2019-05-32.jpg",            # day 32
    "IMG_20190230.jpg",          # 30 February
    "1700-01-01.jpg",            # before photography
    "12345678901234.jpg",        # digits that only look like a date and time
    "20190825143099.jpg",        # second 99, and the date is inside a longer number
    "2019-05-12x.jpg",           # glued to letters
    "IMG_20191325_143012.jpg",   # month 13
    "IMG_00000000_000000.jpg",   # year 0000
    "IMG_20190230_101010.jpg",   # 30 February
    "IMG_19700101_000000.jpg",   # camera epoch default
    "IMG_20990101_101010.jpg",   # future
    "DSC_0001.jpg", "holiday.jpg", "IMG_1234.JPG", "scan_12345678_123.jpg",
])
def test_impossible_or_absent_dates_fall_through_to_mtime(name: str) -> None:
    row = dates_for([name]).row(0, named=True)
    assert row["taken_at_source"] == "mtime"
    assert row["taken_at_utc"] == "2020-09-13T12:26:40"


def test_user_pattern_and_rule_can_be_added() -> None:
    pats = [FilenamePattern("scanner", r"^scan_(?P<Y>\d{4})(?P<m>\d{2})(?P<d>\d{2})_")]
    rules = [r if r.name != "filename" else filename_rule(pats) for r in DEFAULT_RULES]
    f = pl.DataFrame({"photo_id": [1], "path": ["/x/scan_19870605_123.jpg"], "mtime_ns": [0]})
    assert extract_dates(f, rules)["taken_at"][0] == "1987-06-05T00:00:00"
    fixed = DateRule("always", lambda fr: fr.select(
        local=pl.lit(datetime(2001, 2, 3)), utc=pl.lit(None, pl.Datetime("us")),
        offset=pl.lit(60, pl.Int32)))
    out = extract_dates(f, [fixed]).row(0, named=True)
    assert (out["taken_at"], out["taken_at_utc"], out["tz_offset"], out["taken_at_source"]) == (
        "2001-02-03T00:00:00", "2001-02-02T23:00:00", "+01:00", "always")


def by_rel(photos: pl.DataFrame, rel: str) -> dict:
    return photos.filter(pl.col("rel") == rel).row(0, named=True)


def test_exif_original_with_offset(corpus_photos) -> None:
    r = by_rel(corpus_photos, "misc/pillow_ultrahdr.jpg")
    assert r["taken_at_source"] == "exif_original"
    assert r["taken_at"] == datetime(2024, 5, 7, 9, 33, 4, 46000)
    assert r["tz_offset"] == "+08:00"
    assert r["taken_at_utc"].replace(tzinfo=None) == datetime(2024, 5, 7, 1, 33, 4, 46000)


def test_exif_dates_match_manifest(corpus_photos, manifest) -> None:
    n = 0
    for row in corpus_photos.filter(pl.col("error").is_null()).iter_rows(named=True):
        m = re.search(r"DateTimeOriginal=(\d{4}):(\d\d):(\d\d) (\d\d):(\d\d):(\d\d)",
                      manifest[row["rel"]]["notes"])
        if m and 1900 < int(m[1]) < 2026:
            assert row["taken_at_source"] == "exif_original", row["rel"]
            assert row["taken_at"].replace(microsecond=0) == datetime(*map(int, m.groups()))
            n += 1
    assert n >= 100


def test_future_exif_date_is_rejected(corpus_photos) -> None:
    r = by_rel(corpus_photos, "misc/pillow_exif_gps.jpg")  # DateTimeOriginal in 2099
    assert r["taken_at_source"] != "exif_original"
    assert r["taken_at"].year < 2099


def test_quicktime_dates(corpus_photos) -> None:
    mov = by_rel(corpus_photos, "misc/mde_with-gps.mov")  # Apple CreationDate with zone
    assert mov["taken_at_source"] == "create_date"
    assert mov["taken_at"] == datetime(2019, 7, 24, 11, 25, 40)
    assert mov["tz_offset"] == "+03:00"
    mp4 = by_rel(corpus_photos, "misc/mde_with-gps.mp4")  # QuickTime CreateDate is UTC
    assert mp4["taken_at_utc"].replace(tzinfo=None) == datetime(2017, 2, 22, 8, 20, 28)
    assert mp4["tz_offset"] == "+00:00"  # London in February, from the GPS position


def test_gps_timezone_fills_unknown_offset(corpus_photos) -> None:
    r = by_rel(corpus_photos, "dupes/ianare_iphone_hdr_NO.jpg")  # Madrid, April, no offset tag
    assert r["taken_at"].replace(microsecond=0) == datetime(2015, 4, 10, 20, 12, 23)
    assert r["tz_offset"] == "+02:00"
    assert r["taken_at_utc"].replace(tzinfo=None, microsecond=0) == datetime(2015, 4, 10, 18,
                                                                            12, 23)


def test_gps_datetime_rule(corpus_photos) -> None:
    r = by_rel(corpus_photos, "misc/immich_dates_gps-datetime.jpg")
    assert r["taken_at_source"] == "gps"
    assert r["taken_at_utc"] is not None


def test_user_date_wins_and_survives_recompute(tmp_path) -> None:
    from photolab import Library

    from .conftest import copy_files
    copy_files(tmp_path / "in", ["misc/pillow_ultrahdr.jpg"])
    with Library(tmp_path / "lib", who="ann") as lib:
        lib.ingest([tmp_path / "in"], show_progress=False, only=["scan", "metadata", "dates"])
        pid = lib.photos()["photo_id"][0]
        lib.set_date(pid, "1999-12-31T23:59:00+01:00")
        row = lib.photos().row(0, named=True)
        assert row["taken_at_source"] == "user"
        assert row["taken_at"] == datetime(1999, 12, 31, 23, 59)
        lib.run_stage("metadata", [pid], show_progress=False)  # invalidates dates
        lib.ingest([tmp_path / "in"], show_progress=False, only=["scan", "metadata", "dates"])
        assert lib.photos()["taken_at_source"][0] == "user"
        d = lib.decisions("date").row(0, named=True)
        assert d["who"] == "ann" and d["photo_id"] == pid
