"""Face boxes: EXIF orientation mapping and overlap, vectorised over many boxes.

Boxes are `(top, right, bottom, left)` like dlib and face_recognition, either in pixels or
normalised to 0..1 of the image's width and height.
"""

from __future__ import annotations

import numpy as np

#: EXIF orientation -> how a stored point (u, v) in 0..1 appears on the upright image
_TO_UPRIGHT = {
    1: lambda u, v: (u, v),
    2: lambda u, v: (1 - u, v),          # mirrored left-right
    3: lambda u, v: (1 - u, 1 - v),      # rotated 180
    4: lambda u, v: (u, 1 - v),          # mirrored top-bottom
    5: lambda u, v: (v, u),              # transposed
    6: lambda u, v: (1 - v, u),          # stored rotated 90 counter-clockwise: shown 90 CW
    7: lambda u, v: (1 - v, 1 - u),      # transversed
    8: lambda u, v: (v, 1 - u),          # shown 90 counter-clockwise
}


def to_upright(boxes: np.ndarray, orientation: int | None) -> np.ndarray:
    """Map normalised boxes on the stored image to normalised boxes on the upright image.

    >>> to_upright(np.array([[0.1, 0.5, 0.3, 0.2]]), 6).round(3).tolist()
    [[0.2, 0.9, 0.5, 0.7]]
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    f = _TO_UPRIGHT.get(orientation or 1, _TO_UPRIGHT[1])
    top, right, bottom, left = boxes.T
    u1, v1 = f(left, top)
    u2, v2 = f(right, bottom)
    return np.stack([np.minimum(v1, v2), np.maximum(u1, u2),
                     np.maximum(v1, v2), np.minimum(u1, u2)], axis=1)


def to_stored(boxes: np.ndarray, orientation: int | None) -> np.ndarray:
    """The inverse of `to_upright`: upright normalised boxes back onto the stored image.

    >>> box = np.array([[0.1, 0.5, 0.3, 0.2]])
    >>> all(np.allclose(to_stored(to_upright(box, o), o), box) for o in range(1, 9))
    True
    """
    inverse = {5: 5, 6: 8, 7: 7, 8: 6}.get(orientation or 1, orientation or 1)
    return to_upright(boxes, inverse)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in `a` with every box in `b` (n x m).

    >>> iou(np.array([[0, 10, 10, 0]]), np.array([[0, 10, 10, 5], [20, 30, 30, 20]])).tolist()
    [[0.5, 0.0]]
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)[:, None, :]
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)[None, :, :]
    h = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    w = np.clip(np.minimum(a[..., 1], b[..., 1]) - np.maximum(a[..., 3], b[..., 3]), 0, None)
    inter = h * w
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 1] - x[..., 3])  # noqa: E731
    union = area(a) + area(b) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match_boxes(old: list, new: list, min_iou: float = 0.5) -> list[int | None]:
    """For each new box, the index of the old box it replaces (best overlap first), or None.

    >>> match_boxes([(0, 10, 10, 0), (0, 30, 10, 20)], [(0, 31, 10, 21), (50, 60, 60, 50)])
    [1, None]
    """
    out: list[int | None] = [None] * len(new)
    if not old or not new:
        return out
    overlap = iou(np.array(new), np.array(old))
    for flat in np.argsort(-overlap, axis=None):
        i, j = divmod(int(flat), overlap.shape[1])
        if overlap[i, j] < min_iou:
            break
        if out[i] is None and j not in out:
            out[i] = j
    return out
