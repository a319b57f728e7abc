"""Face detection and 128-d encodings with dlib, in worker processes.

This is what `face_recognition` does (HOG or CNN detector, 68-point landmarks, the ResNet
encoder), called on dlib directly with the model files of the `face_recognition_models`
package: the wrapper itself pins the source-only `dlib` distribution (see docs/decisions.md).
dlib is neither fast nor safe on threads (two threads measured 9x slower, then crashed), so
each worker process loads the models once and takes photos from a queue.
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import ModelNotFoundError
from ..media.sharpness import laplacian_variance

MODEL_FILES = {"landmarks": "shape_predictor_68_face_landmarks.dat",
               "encoder": "dlib_face_recognition_resnet_model_v1.dat",
               "cnn": "mmod_human_face_detector.dat"}

FACE_STRUCT = pl.Struct({"top": pl.Int64, "right": pl.Int64, "bottom": pl.Int64,
                         "left": pl.Int64, "image_width": pl.Int64, "image_height": pl.Int64,
                         "encoding": pl.Binary, "source": pl.String, "file_name": pl.String,
                         "side_px": pl.Int64, "sharpness": pl.Float64,
                         "detector_score": pl.Float64})
FACES_SCHEMA = {"photo_id": pl.Int64, "error": pl.String, "faces": pl.List(FACE_STRUCT)}


@dataclass(frozen=True)
class FaceParams:
    """How faces are found.

    Parameters
    ----------
    model : "hog" (fast on a CPU) or "cnn" (dlib's MMOD detector, for turned faces; much
        slower on a CPU).
    upsample : times the detector doubles the working image (finds faces down to ~40 px at 1,
        ~80 px at 0).
    image_size : long side of the working image in pixels; at or below the big thumbnail's
        size the stored thumbnail is used, above it the original is decoded.
    min_face_px : faces smaller than this (in working-image pixels) are dropped.
    jitters : encoder re-samples per face (1 is face_recognition's default).
    models_dir : a folder holding the dlib model files; default: `face_recognition_models`.
    """

    model: str = "hog"
    upsample: int = 1
    image_size: int = 1080
    min_face_px: int = 20
    jitters: int = 1
    models_dir: str | None = None

    def version(self) -> str:
        p = asdict(self)
        p.pop("models_dir")
        return "2:" + ":".join(f"{k}={v}" for k, v in p.items())


def models_dir(explicit: str | None = None) -> Path:
    """The folder with dlib's model files, or a `ModelNotFoundError` saying how to get it."""
    if explicit:
        folder = Path(explicit).expanduser()
    else:
        spec = importlib.util.find_spec("face_recognition_models")
        if spec is None or not spec.submodule_search_locations:
            raise ModelNotFoundError(
                "the face models are not installed: `pip install face_recognition_models==0.3.0`"
                " (part of `pip install photolab[faces]`), or set `face_models_dir` in "
                f"photolab.toml to a folder holding {', '.join(MODEL_FILES.values())}")
        folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    missing = [f for f in MODEL_FILES.values() if not (folder / f).exists()]
    if missing:
        raise ModelNotFoundError(f"{folder} lacks the face model files {missing}")
    return folder


# -- in the worker process ----------------------------------------------------------------

_MODELS: dict[str, Any] = {}


def _init(folder: str, model: str) -> None:
    import dlib

    _MODELS["landmarks"] = dlib.shape_predictor(str(Path(folder) / MODEL_FILES["landmarks"]))
    _MODELS["encoder"] = dlib.face_recognition_model_v1(str(Path(folder) / MODEL_FILES["encoder"]))
    _MODELS["detector"] = (dlib.cnn_face_detection_model_v1(str(Path(folder) / MODEL_FILES["cnn"]))
                           if model == "cnn" else dlib.get_frontal_face_detector())


def _load(task: dict[str, Any], size: int) -> np.ndarray:
    import pyvips

    from ..media.paths import utf8_paths
    from ..media.thumbnails import load_for_thumbnail

    if task["thumb"] is not None:
        im = pyvips.Image.new_from_file(task["thumb"])
    elif task["use_thumb"]:
        raise ValueError("no thumbnail to look for faces in (see the thumbnails error)")
    else:
        with utf8_paths([task["path_raw"]]) as (path,):
            im, _ = load_for_thumbnail(path, task["mime"], size)
    if max(im.width, im.height) > size:
        im = im.thumbnail_image(size, height=size, size="down")
    if im.bands < 3:
        im = im.extract_band(0).bandjoin([im.extract_band(0)] * 2)
    return np.ascontiguousarray(im.extract_band(0, n=3).numpy(), dtype=np.uint8)


def _detect_one(task: dict[str, Any]) -> dict[str, Any]:
    """Faces of one photo: detected boxes, plus the file's own regions, with encodings."""

    from .geometry import iou

    if task["thumb"] is None and task["use_thumb"]:
        # the thumbnails stage failed on this file and says why; counted there, once
        return {"photo_id": task["photo_id"], "error": None, "faces": None}
    p = FaceParams(**task["params"])
    img = _load(task, p.image_size)
    h, w = img.shape[:2]
    if p.model == "cnn":
        found = _MODELS["detector"](img, p.upsample)
        rects, scores = [r.rect for r in found], [float(r.confidence) for r in found]
    else:  # the HOG detector's score: how far past its threshold (0) the face is
        rects, scores, _ = _MODELS["detector"].run(img, p.upsample, 0.0)
        rects, scores = list(rects), [float(x) for x in scores]
    boxes = np.array([[max(r.top(), 0), min(r.right(), w), min(r.bottom(), h), max(r.left(), 0)]
                      for r in rects], dtype=np.float64).reshape(-1, 4)
    side = np.minimum(boxes[:, 1] - boxes[:, 3], boxes[:, 2] - boxes[:, 0])
    big = side >= p.min_face_px
    boxes = boxes[big]
    detector_scores: list[float | None] = [s for s, b in zip(scores, big, strict=True) if b]
    names: list[str | None] = [None] * len(boxes)
    sources = ["detected"] * len(boxes)
    regions = task["regions"]
    if regions:
        rboxes = np.array([r["box"] for r in regions]) * [h, w, h, w]
        detected = len(boxes)
        overlap = iou(boxes, rboxes) if detected else np.zeros((0, len(regions)))
        for j, r in enumerate(regions):
            i = int(overlap[:, j].argmax()) if detected else -1
            if i >= 0 and overlap[i, j] >= 0.3 and names[i] is None:
                names[i] = r["name"]           # the detector's tighter box, the file's name
            else:
                boxes = np.vstack([boxes, rboxes[j]])
                names.append(r["name"])
                sources.append("file")
                detector_scores.append(None)
    # a name without a box (Google Takeout's "people"): given only when it cannot be wrong,
    # one unnamed face and one name
    loose = [n for n in task.get("names", []) if n not in names]
    if len(loose) == 1 and len(boxes) == 1 and names[0] is None:
        names[0] = loose[0]
    codes = _encode(img, boxes, p.jitters)
    W, H = task["upright_size"] or (w, h)
    scaled = (boxes * [H / h, W / w, H / h, W / w]).round().astype(int)
    quality = face_quality(img, boxes)
    return {"photo_id": task["photo_id"], "error": None, "faces": [
        {"top": int(t), "right": int(r), "bottom": int(b), "left": int(left),
         "image_width": int(W), "image_height": int(H), "encoding": codes[i].tobytes(),
         "source": sources[i], "file_name": names[i], "side_px": quality[i][0],
         "sharpness": quality[i][1], "detector_score": detector_scores[i]}
        for i, (t, r, b, left) in enumerate(scaled)]}


def _encode(img: np.ndarray, boxes: np.ndarray, jitters: int) -> np.ndarray:
    """The 128-d encodings of `boxes` (top, right, bottom, left in `img`'s pixels): dlib's
    landmarks in each box, then its encoder."""
    import dlib

    shapes = dlib.full_object_detections()
    for t, r, b, left in boxes.round().astype(int):
        shapes.append(_MODELS["landmarks"](img, dlib.rectangle(int(left), int(t), int(r), int(b))))
    if not len(boxes):
        return np.zeros((0, 128), np.float32)
    return np.asarray(_MODELS["encoder"].compute_face_descriptor(img, shapes, jitters),
                      dtype=np.float32).reshape(-1, 128)


def encode_drawn(task: dict[str, Any], box: tuple[int, int, int, int],
                 params: FaceParams) -> dict[str, Any]:
    """A face a person drew on one photo (`task`: see `face_tasks`), `box` (top, right,
    bottom, left) in pixels of the upright original: encoded as the faces stage encodes a
    detected face (the same image, landmarks and encoder), in this process, as a row of
    the faces table (`source` "user"). A photo whose pixels cannot be read raises
    `ValueError`."""
    if "encoder" not in _MODELS:
        _init(str(models_dir(params.models_dir)), "hog")
    img = _load(task, params.image_size)
    h, w = img.shape[:2]
    W, H = task["upright_size"] or (w, h)
    scaled = np.array([box], dtype=np.float64) * [h / H, w / W, h / H, w / W]
    (side, sharpness), = face_quality(img, scaled)
    t, r, b, left = (int(v) for v in box)
    return {"top": t, "right": r, "bottom": b, "left": left, "image_width": int(W),
            "image_height": int(H), "encoding": _encode(img, scaled, params.jitters)[0].tobytes(),
            "source": "user", "file_name": None, "side_px": side, "sharpness": sharpness,
            "detector_score": None}


def face_quality(img: np.ndarray, boxes: np.ndarray) -> list[tuple[int, float]]:
    """For each box (top, right, bottom, left) of `img`, what the encoder had to work with:
    its shorter side in pixels, and its sharpness (the variance of the Laplacian of its grey
    levels, on the face scaled to 64 px, so faces of any size compare; a blurred or
    blown-up face scores low).

    >>> flat = np.full((100, 100, 3), 128, np.uint8)
    >>> face_quality(flat, np.array([[10, 60, 60, 10]]))
    [(50, 0.0)]
    """
    grey = img[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    out = []
    for t, r, b, left in np.asarray(boxes).round().astype(int):
        t, left = max(t, 0), max(left, 0)
        crop = grey[t:max(b, t + 1), left:max(r, left + 1)]
        out.append((int(min(crop.shape)), laplacian_variance(crop)))
    return out


def _safe_detect(task: dict[str, Any]) -> dict[str, Any]:
    try:
        return _detect_one(task)
    except ValueError as e:
        return {"photo_id": task["photo_id"], "error": str(e)[:500], "faces": None}
    except Exception as e:  # one bad image must not stop the run
        return {"photo_id": task["photo_id"], "error": f"{type(e).__name__}: {e}"[:500],
                "faces": None}


# -- in the library's process -------------------------------------------------------------

class FaceDetector:
    """A pool of worker processes, each holding the dlib models; reused across batches.

    Parameters
    ----------
    params : detection settings.
    workers : processes (default: one per core).
    """

    def __init__(self, params: FaceParams, workers: int | None = None):
        self.params = params
        self.folder = str(models_dir(params.models_dir))
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # forkserver: the library's process has exiftool and libvips threads running
            ctx = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init,
                                             initargs=(self.folder, self.params.model))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def _run(self, tasks: Sequence[dict[str, Any]], tick: Callable[[int], None] | None,
             ) -> list[dict[str, Any] | None]:
        params = asdict(self.params)
        futures = [self._executor().submit(_safe_detect, {**t, "params": params}) for t in tasks]
        rows: list[dict[str, Any] | None] = []
        for fut in futures:
            try:
                rows.append(fut.result())
            except BrokenProcessPool:  # a worker died (dlib crash, out of memory)
                rows.append(None)
            if tick:
                tick(1)
        if any(r is None for r in rows):
            self.close()
        return rows

    def detect(self, tasks: Sequence[dict[str, Any]],
               tick: Callable[[int], None] | None = None) -> pl.DataFrame:
        """Run `tasks` (see `face_tasks`); one row per photo with its faces or its error.

        When a worker process dies, the photos it took down are retried one at a time, so
        only the photo that kills the detector is recorded as an error.
        """
        rows = self._run(tasks, tick)
        for i, t in enumerate(tasks):
            if rows[i] is None:
                rows[i] = self._run([t], None)[0] or {
                    "photo_id": t["photo_id"], "faces": None,
                    "error": "the face detector's process died on this image"}
        return pl.DataFrame(rows, schema=FACES_SCHEMA, orient="row")


def _takeout_people(tags_json: str | None) -> list[str]:
    if not tags_json or "Takeout:People" not in tags_json:
        return []
    return [str(n) for n in json.loads(tags_json).get("Takeout:People", []) if n]


def face_tasks(frame: pl.DataFrame, thumbs_dir: Path, thumb_sizes: dict[str, int],
               params: FaceParams) -> list[dict[str, Any]]:
    """What each worker needs for one photo: the image to read, the upright original size
    and the face regions the file names.

    `frame` has `photo_id`, `path_raw`, `content_hash`, `mime`, `width`, `height`,
    `orientation` and `tags`.
    """
    from ..media.thumbnails import thumb_path
    from .regions import face_regions

    fits = sorted((px, name) for name, px in thumb_sizes.items() if px >= params.image_size)
    tasks = []
    for r in frame.iter_rows(named=True):
        thumb = thumb_path(thumbs_dir, r["content_hash"], fits[0][1]) if fits else None
        # the media stage stores the size as shown, after the EXIF orientation
        size = (r["width"], r["height"]) if r["width"] and r["height"] else None
        tasks.append({"photo_id": r["photo_id"], "path_raw": r["path_raw"], "mime": r["mime"],
                      "thumb": str(thumb) if thumb is not None and thumb.exists() else None,
                      "use_thumb": thumb is not None,
                      "upright_size": size,
                      "regions": face_regions(r["tags"], r["orientation"]),
                      "names": _takeout_people(r["tags"])})
    return tasks
