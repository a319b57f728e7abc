"""The previews stage, with real ffmpeg on corpus videos and motion photos."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import polars as pl

from photolab import Library

from .conftest import copy_files

FILES = ["misc/mde_with-gps.mov", "misc/fr_short_hamilton_clip.mp4",
         "motion/PXL_20200710_061629144.MP.jpg", "exif/ianare_Canon_40D.jpg"]


def _probe(path: str) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "stream=codec_name,codec_type,width,height", "-of", "json", path],
                         capture_output=True, text=True, check=True).stdout
    return {s["codec_type"]: s for s in json.loads(out)["streams"]}


def test_previews_play_in_a_browser(tmp_path: Path) -> None:
    src = tmp_path / "p"
    copy_files(src, FILES)
    broken = src / "broken.mp4"
    broken.write_bytes((src / "fr_short_hamilton_clip.mp4").read_bytes()[:3000])
    with Library(tmp_path / "lib") as lib:
        report = lib.ingest([src], show_progress=False,
                            skip=["faces", "people", "semantic", "tags", "captions"])
        # the broken video is an error, told once (by the thumbnails stage, which met it
        # first); the run went on
        assert report.errors.get("previews", 0) == 0 and report.errors["thumbnails"] == 1
        names = lib.photos(include_missing=True).select(
            "photo_id", name=pl.col("path").str.extract(r"([^/]+)$"), error="error")
        got = dict(zip(names["name"], names["photo_id"], strict=True))
        made = lib.previews(list(got.values())).join(names, on="photo_id")
        by = {r["name"]: r for r in made.iter_rows(named=True)}
        mov = by["mde_with-gps.mov"]  # QuickTime: made into an H.264 MP4
        assert mov["playable"] == "preview" and Path(mov["mp4"]).exists()
        streams = _probe(mov["mp4"])
        assert streams["video"]["codec_name"] == "h264"
        assert max(streams["video"]["width"], streams["video"]["height"]) <= 1920
        data = Path(mov["mp4"]).read_bytes()
        assert data.find(b"moov") < data.find(b"mdat")  # plays while it downloads
        clip = by["fr_short_hamilton_clip.mp4"]  # H.264 in MP4: plays as stored
        assert clip["playable"] == "as stored" and clip["mp4"] is None
        motion = by["PXL_20200710_061629144.MP.jpg"]  # the motion photo's own clip
        assert motion["playable"] == "preview" and Path(motion["mp4"]).read_bytes()[4:8] == b"ftyp"
        for r in (mov, clip, motion):  # an animated WebP for the tiles
            webp = Path(r["webp"]).read_bytes()
            assert webp[:4] == b"RIFF" and webp[8:12] == b"WEBP" and b"ANIM" in webp[:64]
        still = by["ianare_Canon_40D.jpg"]
        assert still["playable"] is None and still["webp"] is None
        assert "moov atom not found" in by["broken.mp4"]["error"]
        assert by["broken.mp4"]["playable"] is None
        assert not list((lib.root / "previews").rglob(".part-*"))  # nothing half-written
        # a rerun makes nothing again
        again = lib.ingest([src], show_progress=False,
                           skip=["faces", "people", "semantic", "tags", "captions"])
        assert again.counts.get("previews_done", 0) == 0
