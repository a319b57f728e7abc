"""How sharp a picture is: the variance of the Laplacian of its grey levels, on a fixed grid,
so pictures of any size compare (a blurred or blown-up picture scores low)."""

from __future__ import annotations

import numpy as np


def laplacian_variance(grey: np.ndarray, grid: int = 64) -> float:
    """The variance of the 4-neighbour Laplacian of `grey` resampled (nearest) to
    `grid` x `grid`; 0.0 for a picture smaller than 3 pixels a side.

    >>> laplacian_variance(np.full((100, 100), 128.0))
    0.0
    """
    if min(grey.shape) < 3:
        return 0.0
    rows = np.linspace(0, grey.shape[0] - 1, grid).round().astype(int)
    cols = np.linspace(0, grey.shape[1] - 1, grid).round().astype(int)
    c = np.asarray(grey, np.float32)[rows][:, cols]
    lap = c[:-2, 1:-1] + c[2:, 1:-1] + c[1:-1, :-2] + c[1:-1, 2:] - 4 * c[1:-1, 1:-1]
    return round(float(lap.var()), 2)
