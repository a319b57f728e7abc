"""Zero-shot scene tags: CLIP text prompts per label, scored against each photo's vector.

Labels come in groups; within a group a photo's scores are a softmax over the group's labels
(CLIP's logit scale of 100 on cosine similarity), so "indoor" and "outdoor" compete with each
other but not with "food". A photo keeps the labels scoring at least `min_score`, at most
`top` per group. Change `SCENE_LABELS` (or pass your own) and the tags stage re-runs.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import polars as pl

#: group -> label -> prompts (averaged); the documented label list
SCENE_LABELS: dict[str, dict[str, list[str]]] = {
    "setting": {
        "indoor": ["a photo taken indoors", "a photo of a room"],
        "outdoor": ["a photo taken outdoors", "a photo of an outdoor scene"],
    },
    "scene": {
        "beach": ["a photo of a beach", "a photo of the sea shore"],
        "mountain": ["a photo of mountains", "a photo of a mountain landscape"],
        "city": ["a photo of a city street", "a photo of city buildings"],
        "countryside": ["a photo of fields and countryside", "a photo of farmland"],
        "forest": ["a photo of a forest", "a photo of trees in the woods"],
        "snow": ["a photo of snow", "a photo of a winter scene"],
        "water": ["a photo of a lake or river", "a photo of water"],
        "garden": ["a photo of a garden", "a photo of flowers"],
        "food": ["a photo of food", "a photo of a meal on a plate"],
        "document": ["a photo of a document", "a photo of text on a page"],
        "screenshot": ["a screenshot of a computer screen", "a screenshot of a phone"],
        "pet": ["a photo of a pet", "a photo of a dog or a cat"],
        "animal": ["a photo of a wild animal", "a photo of a bird"],
        "portrait": ["a portrait photo of a person", "a photo of a person's face"],
        "group": ["a photo of a group of people", "a photo of a crowd"],
        "party": ["a photo of a party", "a photo of a celebration"],
        "sport": ["a photo of people playing sport", "a photo of a sports game"],
        "vehicle": ["a photo of a car", "a photo of a vehicle"],
        "building": ["a photo of a building", "a photo of architecture"],
        "art": ["a photo of a painting", "a photo of a drawing or artwork"],
        "night": ["a photo taken at night", "a photo of city lights at night"],
        "sunset": ["a photo of a sunset", "a photo of a sunrise"],
    },
}
LOGIT_SCALE = 100.0


def labels_version(labels: dict[str, dict[str, list[str]]], min_score: float, top: int) -> str:
    """A short digest of the label list and rule (part of the tags stage version)."""
    text = json.dumps([labels, min_score, top], sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def label_table(labels: dict[str, dict[str, list[str]]]) -> pl.DataFrame:
    """One row per prompt: `group`, `tag`, `prompt`."""
    return pl.DataFrame(
        [(g, t, p) for g, tags in labels.items() for t, ps in tags.items() for p in ps],
        schema=["group", "tag", "prompt"], orient="row")


def label_vectors(prompt_vectors: np.ndarray, table: pl.DataFrame) -> tuple[pl.DataFrame,
                                                                            np.ndarray]:
    """Average each label's prompt vectors: (frame of `group`, `tag`; unit vectors)."""
    keys = table.select("group", "tag").unique(maintain_order=True)
    index = table.join(keys.with_row_index("k"), on=["group", "tag"])["k"].to_numpy()
    sums = np.zeros((keys.height, prompt_vectors.shape[1]), np.float64)
    np.add.at(sums, index, prompt_vectors)
    sums /= np.linalg.norm(sums, axis=1, keepdims=True)
    return keys, sums.astype(np.float32)


def score_tags(vectors: np.ndarray, keys: pl.DataFrame, label_vecs: np.ndarray,
               min_score: float = 0.2, top: int = 3) -> pl.DataFrame:
    """Tags of each row of `vectors`: a softmax within each label group, the `top` best of
    each group kept when at least `min_score`. Returns `row`, `tag`, `score`, best first."""
    logits = LOGIT_SCALE * vectors @ label_vecs.T
    groups = keys["group"].to_numpy()
    tags = keys["tag"].to_numpy()
    parts = []
    for g in dict.fromkeys(groups):
        cols = np.flatnonzero(groups == g)
        z = logits[:, cols] - logits[:, cols].max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        best = np.argsort(-p, axis=1)[:, :top]
        score = np.take_along_axis(p, best, axis=1)
        rows = np.repeat(np.arange(len(p)), best.shape[1])
        parts.append(pl.DataFrame({"row": rows, "tag": tags[cols][best].ravel(),
                                   "score": score.ravel()}))
    out = pl.concat(parts) if parts else pl.DataFrame(
        schema={"row": pl.Int64, "tag": pl.String, "score": pl.Float64})
    return out.filter(pl.col("score") >= min_score).sort(["row", "score"],
                                                         descending=[False, True])
