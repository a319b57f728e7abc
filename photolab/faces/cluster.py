"""Group face encodings into clusters (HDBSCAN), apply people's constraints, suggest names.

Pure functions over frames and arrays: the library feeds them the catalog's faces and the
replayed `Labels`, and stores what comes back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl

from ..errors import PhotolabError
from .labels import Labels

#: dlib's own "same person" distance: encodings closer than this are usually one person
DLIB_TOLERANCE = 0.6

#: a face joins a person only through a face of another photo at most this far away. dlib's
#: 0.6 let strangers' faces (0.59 to 0.62 from their nearest wrong face on the corpus) into
#: people's clusters; every same-person nearest neighbour there is within 0.49. Chosen by the
#: sweep in docs/decisions.md ("Faces: strangers")
ATTACH_RADIUS = 0.5


@dataclass(frozen=True)
class FaceClusterer:
    """HDBSCAN over 128-d face encodings.

    Parameters
    ----------
    min_cluster_size : the fewest faces a cluster may have.
    min_samples : neighbours that make a face a core point (None: `min_cluster_size`).
    cluster_selection_epsilon : clusters closer than this (Euclidean, dlib units) merge.
    metric : any metric the backend accepts ("euclidean" is what dlib's encoder is trained for).
    backend : "sklearn" (`sklearn.cluster.HDBSCAN`: 2.4x faster than the `hdbscan` package
        on 10k faces, but it fails on any epsilon > 0 with NumPy >= 2.4, scikit-learn issue
        #33219), "hdbscan" (the `hdbscan` package), "knn" (HDBSCAN over the graph of each
        face's `neighbours` nearest faces: 8x faster on 10k faces, at BCubed F1 0.995 instead
        of 0.997; neither exact backend finished 100k faces in 10 minutes), "exact": one of
        the two HDBSCANs up to `exact_max` faces (sklearn at epsilon 0, the hdbscan package
        above), "knn" past; "radius": the connected groups of faces within `radius` of a
        face of another photo (single linkage cut at `radius`; over each face's
        `neighbours` nearest past `exact_max` faces). "auto" is "radius": it scored best
        on every corpus face, strangers included (BCubed F1 0.995 against 0.880 for
        HDBSCAN, docs/decisions.md).
    neighbours : graph degree of the "knn" backend (and of "radius" past `exact_max`).
    exact_max : where "auto" stops computing every pair.
    radius : the attachment radius: whatever the backend, a face stays in a cluster only
        through a face of another photo at most this far (None: no cut).

    The defaults were chosen by a sweep on the labelled corpus faces (docs/decisions.md).

    >>> FaceClusterer().min_cluster_size
    2
    """

    min_cluster_size: int = 2
    min_samples: int | None = 1
    cluster_selection_epsilon: float = 0.0
    metric: str = "euclidean"
    backend: str = "auto"
    neighbours: int = 16
    exact_max: int = 20_000
    radius: float | None = ATTACH_RADIUS

    def params(self) -> dict[str, object]:
        return asdict(self)

    def fit(self, encodings: np.ndarray, groups: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
        """Cluster labels (-1: noise) and membership probabilities for each encoding.
        `groups` (the photo of each face) keeps faces of one photo from linking."""
        x = np.asarray(encodings, dtype=np.float64)
        n = len(x)
        ms = self.min_samples or self.min_cluster_size
        if n < max(self.min_cluster_size, 2) or n <= ms:
            return np.full(n, -1), np.zeros(n)
        backend = "radius" if self.backend == "auto" else self.backend
        if backend == "radius":
            return self._linked(x, groups, None)
        labels, prob = self._hdbscan(x, backend, ms)
        if (labels < 0).all():  # HDBSCAN never makes a handful of faces one cluster
            return self._linked(x, groups, None)
        if self.radius is None:
            return labels, prob
        cut, _ = self._linked(x, groups, labels)
        return cut, np.where(cut >= 0, prob, 0.0)

    def _linked(self, x: np.ndarray, groups: np.ndarray | None, within: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Groups of faces linked by pairs within the radius (of different photos, in one
        cluster of `within` when given); groups under `min_cluster_size` are noise.
        Probability: 1 - (distance to the nearest linked face) / radius."""
        import scipy.sparse as sp
        from scipy.sparse.csgraph import connected_components

        r = self.radius if self.radius is not None else DLIB_TOLERANCE
        n = len(x)
        g = radius_graph(x, r, self.metric, self.neighbours if n > self.exact_max else None)
        keep = np.ones(g.nnz, dtype=bool)
        if groups is not None:
            groups = np.asarray(groups)
            keep &= groups[g.row] != groups[g.col]
        if within is not None:
            keep &= (within[g.row] == within[g.col]) & (within[g.row] >= 0)
        rows, cols, d = g.row[keep], g.col[keep], g.data[keep]
        graph = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        sizes = np.bincount(comp)
        member = sizes[comp] >= max(self.min_cluster_size, 2)
        _, labels = np.unique(np.where(member, comp, -1), return_inverse=True)
        labels = np.where(member, labels - (~member).any(), -1)
        nearest = np.full(n, np.inf)
        np.minimum.at(nearest, rows, d)
        prob = np.where(member, np.clip(1 - nearest / r, 0, 1), 0.0)
        return labels, prob

    def _hdbscan(self, x: np.ndarray, backend: str, ms: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(x)
        eps = float(self.cluster_selection_epsilon)
        kw = dict(min_cluster_size=self.min_cluster_size, min_samples=ms,
                  cluster_selection_epsilon=eps, metric=self.metric)
        if backend == "exact":
            backend = "knn" if n > self.exact_max else "sklearn" if eps == 0 else "hdbscan"
        if backend == "knn":
            x = knn_graph(x, min(self.neighbours, n - 1), self.metric)
            kw["metric"] = "precomputed"
            backend = "sklearn" if eps == 0 else "hdbscan"
        if backend == "sklearn":
            from sklearn.cluster import HDBSCAN

            try:
                model = HDBSCAN(**kw, copy=True).fit(x)
            except TypeError as e:
                raise PhotolabError(
                    "scikit-learn's HDBSCAN fails with cluster_selection_epsilon > 0 under "
                    "NumPy 2.4 (scikit-learn issue #33219): use backend='hdbscan' or "
                    "epsilon 0") from e
        elif backend == "hdbscan":
            try:
                import hdbscan
            except ImportError as e:
                raise PhotolabError("backend 'hdbscan' needs `pip install hdbscan` "
                                    "(part of photolab[faces])") from e
            model = hdbscan.HDBSCAN(**kw, core_dist_n_jobs=1).fit(x)
        else:
            raise PhotolabError(f"unknown clustering backend {backend!r}: "
                                "auto, radius, exact, sklearn, hdbscan or knn")
        return np.asarray(model.labels_), np.asarray(model.probabilities_)


def radius_graph(x: np.ndarray, r: float, metric: str = "euclidean",
                 k: int | None = None) -> Any:
    """Pairs of rows within `r` of each other (a COO matrix of distances, both directions);
    with `k`, only among each row's k nearest neighbours (for very many faces)."""
    import scipy.sparse as sp
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(algorithm="brute", metric=metric).fit(x)
    if k is None:
        g = nn.radius_neighbors_graph(x, radius=r, mode="distance")
    else:
        g = nn.kneighbors_graph(x, n_neighbors=min(k, len(x) - 1), mode="distance")
        g.data[g.data > r] = 0
    g = sp.coo_matrix(g.maximum(g.T))
    off = (g.row != g.col) & (g.data <= r)
    # an exact duplicate sits at distance 0: keep it as an edge
    return sp.coo_matrix((np.maximum(g.data[off], 1e-12), (g.row[off], g.col[off])),
                         shape=g.shape)


def knn_graph(x: np.ndarray, k: int, metric: str = "euclidean") -> Any:
    """A symmetric sparse graph of each point's `k` nearest neighbours (distances as
    weights), its connected components chained by edges longer than any real one so that
    HDBSCAN sees one component whose top splits are those components."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components
    from sklearn.neighbors import NearestNeighbors

    g = NearestNeighbors(n_neighbors=k, algorithm="brute", metric=metric).fit(x)
    g = g.kneighbors_graph(mode="distance")
    g = g.maximum(g.T).tocsr()
    g.data = np.maximum(g.data, 1e-9)  # an explicit 0 would read as "no edge"
    n, labels = connected_components(g, directed=False)
    if n > 1:
        reps = np.unique(labels, return_index=True)[1]
        far = np.full(n - 1, 10 * float(g.data.max()))
        chain = sp.coo_matrix((far, (reps[:-1], reps[1:])), shape=g.shape)
        g = (g + chain + chain.T).tocsr()
    return g


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between every row of `a` and every row of `b` (n x m), without
    the n x m x d array a broadcast would build.

    >>> distances(np.array([[0.0, 0.0]]), np.array([[3.0, 4.0], [0.0, 1.0]])).tolist()
    [[5.0, 1.0]]
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.clip(d2, 0, None))


def nearest(a: np.ndarray, b: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """For each row of `a`, the index of its nearest row of `b` (the first of equals) and
    the distance, a chunk of `a` at a time (the full n x m matrix of a million faces would
    not fit in memory).

    Measured in float32 first (one matrix product: about 20x cheaper than float64), then
    exactly, in float64, against the rows of `b` whose squared float32 distance is within
    1e-3 of the row's least: float32's rounding of a squared distance between encodings is
    about 1e-6, so the nearest is always among them, and there are one or two.

    >>> best, dist = nearest(np.array([[0.0, 0.0], [3.0, 3.5]]), np.array([[3.0, 4.0], [0.0, 1.0]]))
    >>> best.tolist(), dist.tolist()
    ([1, 0], [1.0, 0.5])
    """
    best = np.zeros(len(a), dtype=np.int64)
    dist = np.zeros(len(a), dtype=np.float64)
    b64 = np.asarray(b, dtype=np.float64)
    b32 = b64.astype(np.float32)
    half = np.einsum("ij,ij->i", b32, b32) / 2
    for i in range(0, len(a), chunk):
        x = np.asarray(a[i:i + chunk], dtype=np.float64)
        # a row's squared distances less its own squared norm, halved: |b|^2 / 2 - x.b
        g = np.subtract(half[None, :], x.astype(np.float32) @ b32.T)
        rows, cols = np.nonzero(g <= g.min(axis=1, keepdims=True) + 5e-4)
        diff = x[rows] - b64[cols]
        exact = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        order = np.lexsort((cols, exact, rows))  # by row, then distance, then index
        first = order[np.r_[True, rows[order][1:] != rows[order][:-1]]]
        best[i + rows[first]] = cols[first]
        dist[i + rows[first]] = exact[first]
    return best, dist


#: a face encoding as a Polars column: 128 float32
ENCODING_DTYPE = pl.Array(pl.Float32, 128)


def encoding_column(blobs: pl.Expr) -> pl.Expr:
    """Stored float32 blobs (512 bytes, little-endian) -> `ENCODING_DTYPE`, in one copy (no
    Python object per face: a million photos' faces once took 3 GB on the way)."""
    return blobs.bin.reinterpret(dtype=ENCODING_DTYPE, endianness="little")


def decode(encodings: pl.Series) -> np.ndarray:
    """Stored float32 blobs -> an (n, 128) array."""
    if encodings.len() == 0:
        return np.zeros((0, 128), dtype=np.float32)
    return encodings.to_frame("e").select(encoding_column(pl.col("e")))["e"].to_numpy()


def constrain(faces: pl.DataFrame, labels: Labels) -> pl.DataFrame:
    """Apply what people decided to a raw clustering.

    `faces` has `face_id`, `photo_id`, `cluster_id` (null: noise) and `probability`.
    Faces split apart by a person land in different clusters; two faces of one photo never
    share a cluster (the less typical one leaves it). Cluster ids are renumbered by size,
    0 the largest.
    """
    f = faces
    next_id = int(f["cluster_id"].max() or 0) + 1
    for split_off, rest in labels.splits:
        here = f.filter(pl.col("face_id").is_in(rest) & pl.col("cluster_id").is_not_null())
        shared = here["cluster_id"].to_list()
        clash = pl.col("face_id").is_in(split_off) & pl.col("cluster_id").is_in(shared)
        f = f.with_columns(cluster_id=pl.when(clash).then(pl.col("cluster_id") + next_id)
                           .otherwise("cluster_id"))
        next_id = int(f["cluster_id"].max() or 0) + 1
    rank = pl.col("probability").rank("ordinal", descending=True).over("cluster_id", "photo_id")
    f = f.with_columns(cluster_id=pl.when(pl.col("cluster_id").is_not_null() & (rank > 1))
                       .then(None).otherwise("cluster_id"))
    sizes = (f.filter(pl.col("cluster_id").is_not_null()).group_by("cluster_id").len()
             .sort(["len", "cluster_id"], descending=[True, False])
             .with_row_index("new_id").select("cluster_id", pl.col("new_id").cast(pl.Int64)))
    return (f.join(sizes, on="cluster_id", how="left", maintain_order="left")
            .with_columns(cluster_id=pl.col("new_id")).drop("new_id"))


def cluster_votes(named: pl.DataFrame) -> pl.DataFrame:
    """`cluster_id`, `vote`, `share`: each cluster's majority person among its named faces
    (`named`: `cluster_id`, `person_id` of the faces people named)."""
    return (named.filter(pl.col("cluster_id").is_not_null())
            .group_by("cluster_id", "person_id").len()
            .with_columns(share=pl.col("len") / pl.col("len").sum().over("cluster_id"))
            .sort(["len", "person_id"], descending=[True, False])
            .unique("cluster_id", keep="first")
            .select("cluster_id", vote="person_id", share="share"))


def suggest(faces: pl.DataFrame, near: pl.DataFrame, labels: Labels,
            tolerance: float = DLIB_TOLERANCE,
            votes: pl.DataFrame | None = None) -> pl.DataFrame:
    """Who each face is: people's names first, then suggestions.

    `faces` has `face_id`, `photo_id`, `cluster_id`, `probability`; `near` has `face_id`,
    `person_id`, `dist`: each face's nearest named person's centroid (`photolab.faces
    .nearest`). A cluster holding named faces suggests its majority person for the rest
    (`cluster`, confidence = that person's share of the named faces x membership); any other
    face gets the nearest named person's centroid when closer than `tolerance`
    (`classifier`, confidence = 1 - distance / tolerance). A face is never suggested for a
    person it was removed from, nor for a person already in its photo. `votes`
    (`cluster_votes` of every face) lets `faces` be some whole photos of a larger set.

    Returns `face_id`, `person_id`, `assigned_by`, `confidence`.
    """
    user = labels.assignments().join(faces.select("face_id"), on="face_id", how="semi")
    f = faces.join(user.with_columns(assigned_by=pl.lit("user"), confidence=pl.lit(1.0)),
                   on="face_id", how="left", maintain_order="left")
    named = f.filter(pl.col("assigned_by") == "user")
    anyone = votes is not None or named.height > 0
    votes = cluster_votes(named) if votes is None else votes
    f = f.join(votes, on="cluster_id", how="left", maintain_order="left").with_columns(
        person_id=pl.coalesce("person_id", "vote"),
        assigned_by=pl.coalesce("assigned_by", pl.when(pl.col("vote").is_not_null())
                                .then(pl.lit("cluster"))),
        confidence=pl.coalesce("confidence", pl.col("share") * pl.col("probability")),
    ).drop("vote", "share")
    # nearest named centroid for faces neither named nor in a named cluster
    if anyone:
        f = f.join(near.select("face_id", c_person="person_id",
                               c_conf=1 - pl.col("dist") / tolerance),
                   on="face_id", how="left", maintain_order="left").with_columns(
            person_id=pl.when(pl.col("person_id").is_null() & (pl.col("c_conf") > 0))
            .then("c_person").otherwise("person_id"),
            assigned_by=pl.when(pl.col("assigned_by").is_null() & (pl.col("c_conf") > 0))
            .then(pl.lit("classifier")).otherwise("assigned_by"),
            confidence=pl.when(pl.col("confidence").is_null() & (pl.col("c_conf") > 0))
            .then("c_conf").otherwise("confidence")).drop("c_person", "c_conf")
    # a face removed from a person is never suggested for it again
    rejected = labels.rejections().with_columns(rej=pl.lit(True))
    f = f.join(rejected, on=["face_id", "person_id"], how="left", maintain_order="left")
    suggested = pl.col("assigned_by").is_in(["cluster", "classifier"])
    drop = suggested & pl.col("rej").fill_null(False)
    # one photo shows a person once: a person's name wins, then the most confident suggestion
    order = (pl.col("assigned_by") != "user").cast(pl.Int8) * 10 - pl.col("confidence")
    dup = (pl.col("person_id").is_not_null()
           & (order.rank("ordinal").over("photo_id", "person_id") > 1))
    clear = drop | (suggested & dup)
    return f.select(
        "face_id",
        person_id=pl.when(clear).then(None).otherwise("person_id"),
        assigned_by=pl.when(clear).then(None).otherwise("assigned_by"),
        confidence=pl.when(clear).then(None).otherwise("confidence"))
