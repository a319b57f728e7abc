"""Library settings: defaults live here, overrides in `<library>/photolab.toml`."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from .errors import PhotolabError
from .events.group import DEFAULT_GAP_HOURS, DEFAULT_JUMP_KM

SETTINGS_FILE = "photolab.toml"


@dataclass
class Settings:
    """Tunables of one library. Every field has a default; the toml file overrides any of them.

    Parameters
    ----------
    sources : folders `photolab ingest` scans when it is given no roots.
    batch_size : photos per catalog transaction and per exiftool call.
    workers : threads for hashing and thumbnails (libvips and hashlib release the GIL);
        one more than the cores measured 9% faster than one per core on 12 MP JPEGs.
    thumb_sizes : long-side pixel sizes of the big, small and tiny WebP thumbnails.
    thumb_quality : WebP quality of the thumbnails.
    thumb_effort : WebP encoder effort, 0 (fast) to 6 (small).
    max_pixels : images with more pixels than this are refused as decompression bombs.
    raw_preview_min_px : a camera RAW's embedded preview makes its thumbnails when its short
        side is at least this (Immich's rule); otherwise its sensor data is decoded
        (`photolab.media.raw`). A change applies to RAWs thumbnailed after it
        (`lib.run_stage("thumbnails", photo_ids)` redoes some now).
    max_upload_mb : files added from elsewhere (`add_files`, the app's uploads) larger than
        this are refused.
    dupe_threshold : pHash Hamming radius for near duplicates (see docs/decisions.md).
    follow_symlinks : follow symlinked folders while scanning (loops are detected).
    face_model, face_upsample, face_image_size, face_min_size, face_jitters : face detection
        (see `photolab.faces.detect.FaceParams`); `face_models_dir` a folder with dlib's model
        files ("" : the `face_recognition_models` package).
    cluster_min_size, cluster_min_samples, cluster_epsilon, cluster_metric, cluster_backend,
        cluster_radius : face clustering (see `photolab.faces.cluster.FaceClusterer`).
    face_min_side, face_min_sharpness : the quality floor: a face smaller (pixels the encoder
        saw) or blurrier than this is kept, and can be named, but is never clustered nor
        suggested for anyone (see docs/decisions.md, "Faces: strangers").
    suggest_tolerance : a face is suggested for the nearest named person closer than this
        (0.5: every corpus stranger stays unsuggested; 0.6, dlib's tolerance, suggested 6 of
        24 as someone).
    city_radius_km : how far the city a photo is "in" may be (see `places.gazetteer`).
    geocoder, geocoder_options, geocoder_min_delay_s : an online reverse geocoder through
        geopy ("" : off, the default), its options, and the seconds between requests.
    map_tiles : the map widget's tiles: a plotly map style ("open-street-map", "carto-positron",
        "white-bg" for none) or a raster tile URL template with {z}/{x}/{y}.
    clip_model, clip_pretrained, clip_cache_dir, clip_batch : the CLIP model of the semantic
        stage (see `photolab.semantic.clip.ClipParams`); weights are read from local files only.
    clip_index : the FAISS index kind, "auto" (flat below 50k photos, HNSW above), "flat" or
        "hnsw"; `clip_ef_search` the HNSW search breadth.
    tag_min_score, tag_top : scene tags a photo keeps (see `photolab.semantic.tags`).
    dupe_clip_distance : also group photos whose CLIP vectors are within this cosine distance
        as near duplicates (0 : off; Immich uses 0.01).
    caption_model, caption_mmproj, caption_handler, caption_prompt, caption_max_tokens :
        the captions stage (off while `caption_model` is ""; see
        `photolab.semantic.captions.CaptionParams`).
    ray_shared_library : with `engine="ray"`, Ray workers see the library folder on a shared
        filesystem and write thumbnails into it (True, the default: no bytes cross the
        network twice); False ships each batch's thumbnails to and from the workers, which
        then need to see only the photos.
    event_gap_hours, event_jump_km : a new event starts after this many hours without a
        photo, or this far between two consecutive geotagged photos (see
        `photolab.events.group`).
    home : the place a trip is away from: a country, region or city name ("" : the
        library's most photographed region).
    folder_albums : show each source's top-level folders as albums too.
    title_model : a GGUF text model that proposes event titles ("" : off; see
        `photolab.events.titles`).
    extensions : file suffixes (lower case) that the scan picks up.
    """

    sources: list[str] = field(default_factory=list)
    batch_size: int = 64
    workers: int = field(default_factory=lambda: (os.cpu_count() or 2) + 1)
    thumb_sizes: dict[str, int] = field(
        default_factory=lambda: {"big": 1080, "small": 500, "tiny": 250})
    thumb_quality: int = 80
    thumb_effort: int = 2
    max_pixels: int = 400_000_000
    raw_preview_min_px: int = 1440
    max_upload_mb: int = 4096
    dupe_threshold: int = 8
    follow_symlinks: bool = True
    face_model: str = "hog"
    face_upsample: int = 1
    face_image_size: int = 1080
    face_min_size: int = 20
    face_jitters: int = 1
    face_models_dir: str = ""
    cluster_min_size: int = 2
    cluster_min_samples: int = 1
    cluster_epsilon: float = 0.0
    cluster_metric: str = "euclidean"
    cluster_backend: str = "auto"
    cluster_radius: float = 0.5
    face_min_side: int = 0
    face_min_sharpness: float = 500.0
    suggest_tolerance: float = 0.5
    city_radius_km: float = 30.0
    geocoder: str = ""
    geocoder_options: dict[str, str] = field(default_factory=dict)
    geocoder_min_delay_s: float = 1.0
    map_tiles: str = "open-street-map"
    clip_model: str = "ViT-B-32"
    clip_pretrained: str = "laion2b_s34b_b79k"
    clip_cache_dir: str = ""
    clip_batch: int = 32
    clip_index: str = "auto"
    clip_ef_search: int = 64
    tag_min_score: float = 0.2
    tag_top: int = 3
    dupe_clip_distance: float = 0.0
    caption_model: str = ""
    caption_mmproj: str = ""
    caption_handler: str = "moondream"
    caption_prompt: str = "Describe this photo in one sentence."
    caption_max_tokens: int = 48
    ray_shared_library: bool = True
    event_gap_hours: float = DEFAULT_GAP_HOURS
    event_jump_km: float = DEFAULT_JUMP_KM
    home: str = ""
    folder_albums: bool = False
    title_model: str = ""
    extensions: list[str] = field(default_factory=lambda: sorted(DEFAULT_EXTENSIONS))

    @classmethod
    def load(cls, library_dir: Path) -> Settings:
        """Read `photolab.toml` from a library folder; unknown keys are an error."""
        path = library_dir / SETTINGS_FILE
        if not path.exists():
            return cls()
        with path.open("rb") as f:
            data = tomllib.load(f)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise PhotolabError(
                f"{path}: unknown settings {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)

    def save(self, library_dir: Path) -> None:
        """Write every setting that differs from its default to `photolab.toml`."""
        default = Settings()
        data = {k: v for k, v in dataclasses.asdict(self).items() if getattr(default, k) != v}
        tmp = library_dir / (SETTINGS_FILE + ".tmp")
        tmp.write_text(tomli_w.dumps(data))
        tmp.replace(library_dir / SETTINGS_FILE)


#: the suffixes of the camera RAW formats LibRaw reads (the scan lists files by suffix; the
#: format is then read from the content, so a RAW named .tif is still decoded as a RAW)
RAW_EXTENSIONS = frozenset({
    ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".sr2", ".srf", ".raf", ".orf",
    ".rw2", ".raw", ".pef", ".srw", ".3fr", ".fff", ".dcr", ".kdc", ".k25", ".erf", ".mef",
    ".mrw", ".rwl", ".x3f", ".iiq"})
DEFAULT_EXTENSIONS = {
    # still images
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp",
    ".heic", ".heif", ".hif", ".avif", ".jxl", ".mpo",
    # camera RAW (photolab.media.raw): LibRaw decodes them
    *RAW_EXTENSIONS,
    # videos
    ".mp4", ".mov", ".m4v", ".3gp", ".avi", ".mkv", ".webm", ".mts", ".m2ts",
}
