"""Thumbnails and motion photos on real corpus files, with real libvips, Pillow and ffmpeg."""

from __future__ import annotations

import subprocess

import numpy as np
import polars as pl
import pytest
import pyvips

from photolab.media.motion import locate_motion_video


def row(photos: pl.DataFrame, rel: str) -> dict:
    return photos.filter(pl.col("rel") == rel).row(0, named=True)


def thumb(lib, photos, rel: str, size: str = "small") -> pyvips.Image:
    return pyvips.Image.new_from_file(str(lib.thumbnail(row(photos, rel)["photo_id"], size)))


@pytest.mark.parametrize("rel", ["exif/ianare_Canon_40D.jpg", "heic/ianare_iphone_13_pro_max.HEIC",
                                 "misc/immich_8bit-sRGB.jxl", "misc/immich_8bit-sRGB.avif",
                                 "misc/ianare_BSG1.tiff", "misc/immich_denali.webp"])
def test_three_sizes_decode_with_the_right_long_side(corpus_lib, corpus_photos, rel) -> None:
    r = row(corpus_photos, rel)
    assert r["error"] is None
    for size, px in {"big": 1080, "small": 500, "tiny": 250}.items():
        im = thumb(corpus_lib, corpus_photos, rel, size)
        assert max(im.width, im.height) == min(px, max(r["width"], r["height"]))
        # aspect ratio of the displayed photo is kept
        assert im.width / im.height == pytest.approx(r["width"] / r["height"], rel=0.02)
        assert im.bands == 3 and im.interpretation == "srgb"


def _pixels(im: pyvips.Image) -> np.ndarray:
    return np.asarray(im.colourspace("b-w").thumbnail_image(64, height=64, size="force"),
                      dtype=np.float32)


@pytest.mark.parametrize("shape", ["landscape", "portrait"])
def test_exif_orientation_is_applied(corpus_lib, corpus_photos, shape) -> None:
    ref = _pixels(thumb(corpus_lib, corpus_photos, f"dupes/ianare_{shape}_1.jpg"))
    for n in range(2, 9):
        im = thumb(corpus_lib, corpus_photos, f"dupes/ianare_{shape}_{n}.jpg")
        assert (im.width > im.height) == (shape == "landscape"), n
        assert np.abs(_pixels(im) - ref).mean() < 8, f"orientation {n} not upright"


def test_heic_orientation_and_video_poster(corpus_lib, corpus_photos) -> None:
    im = thumb(corpus_lib, corpus_photos, "motion/ente_motionphoto.heic", "big")
    assert (im.width, im.height) == (810, 1080)  # 4000x3000 stored, Orientation 6
    poster = thumb(corpus_lib, corpus_photos, "misc/mde_with-gps.mov", "big")
    assert (poster.width, poster.height) == (320, 568)  # rotated like the player shows it
    assert poster.avg() > 5  # a real frame, not black


def test_damaged_files_have_clear_errors(corpus_photos) -> None:
    expect = {
        "corrupt/pillowheif_empty.heic": "File is empty",
        "corrupt/ukb_ukbench09268_corrupt.jpg": "File format error",
        "corrupt/pillow_truncated_jpeg.jpg": "damaged image data",
        "corrupt/pillow_truncated_image.png": "damaged image data",
    }
    for rel, text in expect.items():
        assert text in (row(corpus_photos, rel)["error"] or ""), rel
    fine = corpus_photos.filter(pl.col("rel").str.starts_with("exif/"))
    assert fine["error"].is_null().sum() >= fine.height - 1


def test_motion_photos_located_as_in_manifest(corpus_photos) -> None:
    flags = dict(corpus_photos.select("rel", "has_motion_video").iter_rows())
    assert flags["motion/PXL_20200710_061629144.MP.jpg"]
    assert flags["motion/ente_motionphoto.heic"]
    assert flags["motion/immich_samsung-one-ui-6.heic"]
    assert not flags["motion/ente_normalphoto_not_motion.jpg"]
    assert not flags["motion/ente_pixel_8_not_motion.jpg"]
    assert not flags["misc/pillow_ultrahdr.jpg"]
    assert sum(bool(v) for v in flags.values()) == 3


def test_motion_offsets_match_manifest() -> None:
    from .conftest import corpus_file

    assert locate_motion_video(corpus_file("motion/PXL_20200710_061629144.MP.jpg")) == (
        2728123, 1317283, "xmp_container")
    assert locate_motion_video(corpus_file("motion/ente_motionphoto.heic"))[0] == 1455411


def test_extracted_motion_video_plays(corpus_lib, corpus_photos) -> None:
    pid = row(corpus_photos, "motion/PXL_20200710_061629144.MP.jpg")["photo_id"]
    mp4 = corpus_lib.motion_video(pid)
    assert mp4.stat().st_size == 1317283
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                            "-of", "csv=p=0", str(mp4)], capture_output=True, text=True,
                           check=True)
    assert float(probe.stdout) > 0.5


def test_the_exiftool_preview_of_a_raw_libraw_does_not_read() -> None:
    """The fallback for a RAW LibRaw does not know: the largest JPEG exiftool finds (here a
    JPEG's EXIF thumbnail), or None."""
    from photolab.media.raw import exiftool_preview

    from .conftest import corpus_file

    path = str(corpus_file("exif/ianare_Canon_40D.jpg"))
    data = exiftool_preview(path)
    assert data == subprocess.run(["exiftool", "-b", "-ThumbnailImage", path],
                                  capture_output=True, check=True).stdout
    im = pyvips.Image.new_from_buffer(data, "")
    assert im.width > im.height > 10  # the camera's landscape preview
    assert exiftool_preview(str(corpus_file("misc/immich_density_plot.png"))) is None


def test_environment_yml_pins_match_pyproject() -> None:
    import tomllib

    from .conftest import REPO

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = project["dependencies"] + [d for ds in project["optional-dependencies"].values()
                                      for d in ds]
    env_text = (REPO / "environment.yml").read_text()
    for pin in pins:
        assert f"- {pin}" in env_text, pin


@pytest.mark.parametrize(("rel", "shift"), [("dupes/ianare_landscape_7.jpg", 10),
                                           ("faces_group/df_couple.jpg", 2)])
def test_thumbnails_are_colour_managed_to_srgb(rel: str, shift: float) -> None:
    """Channel means match Pillow+LittleCMS's conversion from the embedded profile, and
    differ from the unconverted pixels (Generic RGB has gamma 1.8)."""
    import io

    from PIL import Image, ImageCms

    from photolab.media.thumbnails import load_for_thumbnail

    from .conftest import corpus_file

    path = str(corpus_file(rel))
    ours = np.asarray(load_for_thumbnail(path, "image/jpeg", 64)[0]
                      .thumbnail_image(64, height=64, size="force"), dtype=float).mean((0, 1))
    with Image.open(path) as im:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))
        small = im.convert("RGB").resize((64, 64))
    ref = np.asarray(ImageCms.profileToProfile(small, profile, ImageCms.createProfile("sRGB")),
                     dtype=float).mean((0, 1))
    raw = np.asarray(small, dtype=float).mean((0, 1))
    assert np.abs(ours - ref).max() < 1.5
    assert np.abs(ours - raw).max() > shift


def test_a_files_error_is_its_own_whatever_the_threads(tmp_path) -> None:
    """libvips keeps one error buffer per process: with many threads failing at once, each
    file's error must still describe that file only, the same as decoded alone."""
    import os

    from photolab.media.thumbnails import make_thumbnails

    from .conftest import CORPUS

    corrupt = sorted(p for p in (CORPUS / "corrupt").iterdir()
                     if p.suffix.lower() in (".jpg", ".png") and p.stat().st_size < 500_000)
    good = [CORPUS / "exif" / "ianare_Canon_40D.jpg", CORPUS / "faces" / "fr_obama" / "obama.jpg"]
    files = (corrupt + good) * 4
    mime = {".jpg": "image/jpeg", ".png": "image/png"}
    frame = pl.DataFrame({"photo_id": range(len(files)),
                          "path_raw": [os.fsencode(p) for p in files],
                          "content_hash": [f"{i:064x}" for i in range(len(files))],
                          "mime": [mime[p.suffix.lower()] for p in files]})
    alone = {str(files[i]): e for i, e in zip(
        range(len(corrupt) + 2), make_thumbnails(frame.head(len(corrupt) + 2), tmp_path / "a",
                                                 workers=1)["error"], strict=True)}
    assert sum(e is not None for e in alone.values()) >= 5  # damaged files do fail
    together = make_thumbnails(frame, tmp_path / "b", workers=8)["error"].to_list()
    mixed = [(files[i].name, e, alone[str(files[i])]) for i, e in enumerate(together)
             if e != alone[str(files[i])]]
    assert not mixed, mixed


def test_another_files_message_in_libvips_buffer_does_not_change_an_error(tmp_path) -> None:
    """Another thread's "not a known file format" already in libvips' process-wide error
    buffer when a damaged JPEG fails sent it to Pillow, whose own error (OSError) skipped the
    decode-again-alone step: the file got "Truncated File Read" instead of its own message."""
    import os

    from photolab.media.thumbnails import make_thumbnails

    from .conftest import corpus_file

    real = corpus_file("exif/ianare_Nikon_D70.jpg").read_bytes()
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(real[: len(real) * 3 // 4])
    frame = pl.DataFrame({"photo_id": [1], "path_raw": [os.fsencode(truncated)],
                          "content_hash": ["ab" * 32], "mime": ["image/jpeg"]})
    alone = make_thumbnails(frame, tmp_path / "a", workers=1)["error"][0]
    notes = tmp_path / "notes.jpg"
    notes.write_text("a text file, not a photo")
    # leaves 'VipsForeignLoad: ".../notes.jpg" is not a known file format' in the buffer
    assert pyvips.vips_lib.vips_foreign_find_load(os.fsencode(notes)) == pyvips.ffi.NULL
    meanwhile = make_thumbnails(frame, tmp_path / "b", workers=1)["error"][0]
    assert alone.startswith("damaged image data")
    assert meanwhile == alone
