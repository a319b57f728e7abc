"""Previews stage: what a browser needs to play a video or a motion photo.

For each video a browser cannot play as stored (HEVC, MOV, AVI, MTS, ...: anything but
H.264/VP8/VP9/AV1 in MP4 or WebM), an H.264/AAC MP4 of at most 1080p with its index at the
front; for each motion photo, its embedded clip as such an MP4; and for both, a short
animated WebP (3 s, 8 frames a second, 250 px) that a timeline tile plays when pointed at or
tapped. ffmpeg does the work (LibrePhotos makes animated video thumbnails the same way). Files
go to `<library>/previews/` by content hash; a damaged video is an error for that file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import polars as pl

from ..errors import ToolNotFoundError
from .motion import extract_motion_video
from .paths import utf8_paths

PREVIEW_SCHEMA = {"photo_id": pl.Int64, "playable": pl.String, "mp4": pl.String,
                  "webp": pl.String, "error": pl.String}
#: video codecs and containers browsers play as stored
PLAYABLE_CODECS = {"h264", "vp8", "vp9", "av1"}
PLAYABLE_MIMES = {"video/mp4", "video/webm"}
#: at most 1080p: the longer side 1920, the shorter 1080, even sizes for H.264
SCALE = ("scale=w='min(1920,iw)':h='min(1080,ih)':force_original_aspect_ratio=decrease,"
         "scale=trunc(iw/2)*2:trunc(ih/2)*2")
TIMEOUT_S = 600


def preview_paths(previews_dir: Path, content_hash: str) -> tuple[Path, Path]:
    """Where a photo's MP4 and animated WebP go."""
    base = previews_dir / content_hash[:2] / content_hash
    return base.with_suffix(".mp4"), base.with_suffix(".webp")


def _ffmpeg(*args: str) -> None:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise ToolNotFoundError("ffmpeg is not installed: run scripts/setup.sh")
    run = subprocess.run([exe, "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args],
                         capture_output=True, text=True, timeout=TIMEOUT_S)
    if run.returncode != 0:
        raise ValueError((run.stderr.strip().splitlines() or ["ffmpeg failed"])[-1][:300])


def video_codec(path: str) -> str | None:
    """The first video stream's codec name (ffprobe), or None without one."""
    exe = shutil.which("ffprobe")
    if exe is None:
        raise ToolNotFoundError("ffmpeg is not installed: run scripts/setup.sh")
    run = subprocess.run([exe, "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=codec_name", "-of", "json", path], capture_output=True,
                         text=True, timeout=120)
    if run.returncode != 0:
        raise ValueError((run.stderr.strip().splitlines() or ["ffprobe failed"])[-1][:300])
    streams = json.loads(run.stdout or "{}").get("streams") or []
    return streams[0].get("codec_name") if streams else None


def _write(make: Callable[[str], None], dest: Path) -> None:
    """Make a file beside `dest` and move it there whole (a killed run leaves no half)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=dest.suffix, dir=dest.parent)
    os.close(fd)
    try:
        make(tmp)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def to_mp4(src: str, dest: Path) -> None:
    """An H.264/AAC MP4 of at most 1080p, playable as it downloads."""
    _write(lambda out: _ffmpeg("-i", src, "-map", "0:v:0", "-map", "0:a:0?", "-vf", SCALE,
                               "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
                               "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
                               "-movflags", "+faststart", "-f", "mp4", out), dest)


def to_animated_webp(src: str, dest: Path) -> None:
    """The first 3 seconds, 8 frames a second, 250 px wide, looping."""
    _write(lambda out: _ffmpeg("-t", "3", "-i", src, "-map", "0:v:0", "-an",
                               "-vf", "fps=8,scale=250:-2,format=yuva420p",
                               "-loop", "0", "-c:v", "libwebp_anim", "-quality", "50",
                               "-f", "webp", out), dest)


def make_previews(frame: pl.DataFrame, previews_dir: Path,
                  tick: Callable[[int], None] = lambda n: None) -> pl.DataFrame:
    """Previews for the videos and motion photos of `frame`.

    Parameters
    ----------
    frame : `photo_id`, `path_raw`, `content_hash`, `mime`, `has_motion_video`,
        `motion_offset`, `motion_length`, `unreadable` (the thumbnails stage could not read
        the file: it said why, so this stage says nothing more of it).
    previews_dir : where the files go.

    Returns
    -------
    `photo_id`, `playable` (`as stored`, `preview`, or null for a still), `mp4` and `webp`
    (file names under `previews_dir`, null where none), `error`.
    """
    rows = []
    for r in frame.iter_rows(named=True):
        playable = mp4 = webp = error = None
        video = (r["mime"] or "").startswith("video/")
        if (video or r["has_motion_video"]) and not r.get("unreadable"):
            mp4_path, webp_path = preview_paths(previews_dir, r["content_hash"])
            try:
                with utf8_paths([r["path_raw"]]) as (path,):
                    if r["has_motion_video"] and not video:
                        extract_motion_video(r["path_raw"], r["motion_offset"],
                                             r["motion_length"], mp4_path)
                        clip, playable = str(mp4_path), "preview"
                    elif r["mime"] in PLAYABLE_MIMES and video_codec(path) in PLAYABLE_CODECS:
                        clip, playable = path, "as stored"
                    else:
                        to_mp4(path, mp4_path)
                        clip, playable = str(mp4_path), "preview"
                    to_animated_webp(clip, webp_path)
                mp4 = mp4_path.name if playable == "preview" else None
                webp = webp_path.name
            except (ValueError, OSError, subprocess.TimeoutExpired) as e:
                playable, mp4, webp = None, None, None
                error = f"cannot make a preview: {e}"
        rows.append((r["photo_id"], playable, mp4, webp, error))
        tick(1)
    return pl.DataFrame(rows, schema=PREVIEW_SCHEMA, orient="row")
