"""Ingest throughput on N real-sized JPEGs, against the naive way, in one run.

    .venv/bin/python benchmarks/ingest.py [--n 500] [--naive-n 100] [--naive-ml-n 20]

The tree is generated once into benchmarks/out/tree-N: corpus photos upscaled to 12 MP
(4000x3000) JPEGs with their EXIF kept, each one cropped differently so every file has its
own content. Then, on the same machine in the same run:

- photolab, without models: `Library.ingest` skipping the model stages (scan+hash, exiftool
  processes, dates, three WebP thumbnails with libvips shrink-on-load on worker threads,
  pHash and pixel digest, motion-photo search, places);
- naive, without models: for each file, one `exiftool -j` process plus Pillow `thumbnail` for
  the same three WebP sizes and imagehash pHashes of the small one and its mirror (what a
  straightforward script does), on the first --naive-n files;
- photolab, whole ingest: the same plus faces (dlib on the stored thumbnail, worker
  processes) and clustering; CLIP and captions run only where their models are installed
  (the report says which ran);
- naive, with faces: the naive loop plus face_recognition's way for each file (the full-size
  image, dlib's HOG detector upsampling once, 68 landmarks, the ResNet encoding, in one
  process), on the first --naive-ml-n files;
- floor: libvips decoding each JPEG at the shrink-on-load size, nothing else, on one thread
  and on all threads: the bound the thumbnail stage cannot beat.

Figures are photos per second and ratios between them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import imagehash
import pyvips
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
CORPUS = (HERE / "../../shared/corpus").resolve()
SOURCES = ["exif/ianare_Canon_40D.jpg", "exif/mde_Apple_iPhone_6.jpg", "exif/ianare_Nikon_D70.jpg",
           "exif/mde_Samsung_SM-G935L_Galaxy_S7_Edge.jpg", "dupes/ianare_iphone_hdr_NO.jpg",
           "misc/immich_nature_prairie_falcon.jpg", "exif/mde_Canon_EOS_7D.jpg",
           "exif/ianare_Pentax_K10D.jpg"]
SIZES = {"big": 1080, "small": 500, "tiny": 250}


def make_tree(n: int) -> Path:
    out = HERE / "out" / f"tree-{n}"
    if out.is_dir() and len(list(out.glob("*.jpg"))) == n:
        return out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    bases = [pyvips.Image.new_from_file(str(CORPUS / s)).autorot() for s in SOURCES
             if (CORPUS / s).exists()]
    print(f"generating {n} 12 MP JPEGs in {out} ...", file=sys.stderr)
    for i in range(n):
        base = bases[i % len(bases)]
        scale = 4000 / base.width * 1.02
        big = base.resize(scale)
        dx, dy = (i // len(bases)) % 17, (i // len(bases)) % 13
        im = big.crop(dx, dy, 4000, min(3000, big.height - dy))
        im.jpegsave(str(out / f"IMG_20200101_{i:06d}.jpg"), Q=90)
    return out


MODEL_STAGES = ["faces", "people", "semantic", "tags", "captions"]


def ingest_photolab(tree: Path, skip: list[str]) -> tuple[float, dict[str, float], list[str]]:
    """Seconds for the whole ingest, per stage, and the stages skipped for want of a model."""
    from photolab import Library

    with tempfile.TemporaryDirectory() as d, Library(d) as lib:
        t = time.perf_counter()
        report = lib.ingest([tree], skip=skip, show_progress=False)
        total = time.perf_counter() - t
        assert report.counts["thumbnails_done"] == report.counts["files"]
        assert sum(report.errors.values()) == 0, report.errors
    return total, report.seconds, sorted(report.skipped)


def _naive_faces() -> object:
    """face_recognition's pipeline, built from the same dlib models photolab loads."""
    import dlib

    from photolab.faces.detect import MODEL_FILES, models_dir

    folder = models_dir()
    detector = dlib.get_frontal_face_detector()
    landmarks = dlib.shape_predictor(str(folder / MODEL_FILES["landmarks"]))
    encoder = dlib.face_recognition_model_v1(str(folder / MODEL_FILES["encoder"]))

    def encode(im: Image.Image) -> int:
        import numpy as np

        rgb = np.asarray(im.convert("RGB"))
        found = detector(rgb, 1)
        for box in found:
            encoder.compute_face_descriptor(rgb, landmarks(rgb, box), 1)
        return len(found)

    return encode


def naive(files: list[Path], faces: bool = False) -> float:
    encode = _naive_faces() if faces else None
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        for f in files:
            hashlib.blake2b(f.read_bytes(), digest_size=16).hexdigest()
            json.loads(subprocess.run(["exiftool", "-j", "-n", "-G", str(f)],
                                      capture_output=True, check=True).stdout)
            with Image.open(f) as im:
                im = ImageOps.exif_transpose(im)
                if encode is not None:  # face_recognition.load_image_file: the full image
                    encode(im)
                for name, px in SIZES.items():
                    im.thumbnail((px, px))
                    im.save(Path(d) / f"{f.stem}-{name}.webp", quality=80)
                    if name == "small":  # the duplicate hashes photolab stores too
                        imagehash.phash(im), imagehash.phash(ImageOps.mirror(im))
        return time.perf_counter() - t


def decode_floor(files: list[Path], workers: int) -> float:
    def one(f: Path) -> None:
        pyvips.Image.thumbnail(str(f), 1080, height=1080, size="down").copy_memory()

    t = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, files))
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--naive-n", type=int, default=100, help="files for the naive baseline")
    ap.add_argument("--naive-ml-n", type=int, default=20,
                    help="files for the naive baseline with faces (slow: full-size images)")
    args = ap.parse_args()
    tree = make_tree(args.n)
    files = sorted(tree.glob("*.jpg"))
    for f in files:  # warm the page cache so every contender reads from memory
        f.read_bytes()
    cores = os.cpu_count() or 1
    total, stages, _ = ingest_photolab(tree, MODEL_STAGES)
    naive_s = naive(files[: args.naive_n])
    ml_total, ml_stages, no_model = ingest_photolab(tree, [])
    naive_ml_s = naive(files[: args.naive_ml_n], faces=True)
    floor_1 = decode_floor(files, 1)
    floor_n = decode_floor(files, cores)

    ours, theirs = args.n / total, args.naive_n / naive_s
    print(f"machine: {cores} cores; tree: {args.n} JPEGs of 4000x3000, "
          f"{sum(f.stat().st_size for f in files) / 1e6:.0f} MB")
    print("\n== the same work without models ==")
    print(f"photolab ingest (model stages skipped): {ours:7.1f} photos/s  "
          f"({total:.1f} s for {args.n})")
    for name, secs in stages.items():
        print(f"  {name:<10} {args.n / secs:8.1f} photos/s  {secs:6.1f} s  "
              f"{100 * secs / total:4.0f}% of the ingest")
    print(f"naive (exiftool per file + Pillow): {theirs:5.1f} photos/s "
          f"({naive_s:.1f} s for {args.naive_n})")
    print(f"ratio photolab / naive, without models: {ours / theirs:.1f}x")
    ml_ours, ml_theirs = args.n / ml_total, args.naive_ml_n / naive_ml_s
    print("\n== the same work with faces ==")
    print(f"photolab whole ingest: {ml_ours:7.1f} photos/s  ({ml_total:.1f} s for {args.n}; "
          f"faces {ml_stages.get('faces', 0.0):.1f} s; no model here for: "
          f"{', '.join(no_model) or 'none'})")
    print(f"naive + face_recognition's way on the full image: {ml_theirs:5.2f} photos/s "
          f"({naive_ml_s:.1f} s for {args.naive_ml_n})")
    print(f"ratio photolab / naive, with faces: {ml_ours / ml_theirs:.1f}x")
    print(f"\ndecode floor, libvips shrink-on-load only: {args.n / floor_1:.1f} photos/s on 1 "
          f"thread, {args.n / floor_n:.1f} on {cores}")
    thumbs = stages.get("thumbnails", 0.0)
    print(f"thumbnail stage vs its decode floor ({cores} threads): "
          f"{floor_n / thumbs:.0%} of the stage is JPEG decode")


if __name__ == "__main__":
    main()
