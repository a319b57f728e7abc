"""The face clustering rules of the field, each on photolab's own encodings (dlib's 128-d
vectors, Euclidean distances: one person's faces are usually within 0.6).

Every rule is a function `(encodings, photos, **params) -> labels` (-1: in no cluster;
`photos` is each face's photo, for the rules that keep a photo's faces apart) with its
published parameters as defaults, so `photolab.faces.evaluate.compare` and the `Tuner`
widget run them side by side. A researcher's own rule is any callable `encodings -> labels`.
`Neighbours` (each face's neighbours within a largest radius, computed once) lets the
distance rules run again in milliseconds as a threshold moves.

The parameters are those the projects publish in their code and settings (cited per rule);
they were set for their own embeddings, which this module does not have: each is exposed,
so the sweep or the tuner finds where it sits on dlib's scale.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .cluster import ATTACH_RADIUS, FaceClusterer, radius_graph

Rule = Callable[..., np.ndarray]
#: the rules' parameters that are distances (dlib's Euclidean scale)
DISTANCES = ("radius", "max_distance", "cluster_dist", "match_dist", "eps")


@dataclass
class Neighbours:
    """Each face's neighbours within `reach` (Euclidean), nearest first: a CSR matrix of
    distances (`graph`) computed once for many thresholds."""

    graph: Any
    reach: float

    @classmethod
    def of(cls, x: np.ndarray, reach: float = 0.8, k: int | None = None) -> Neighbours:
        """Neighbours of every row of `x` within `reach` (among its `k` nearest when
        given: for very many faces)."""
        g = radius_graph(np.asarray(x, dtype=np.float64), reach, k=k).tocsr()
        g.sort_indices()
        return cls(g, reach)

    def within(self, r: float) -> Any:
        """The graph cut at `r` (a COO matrix, both directions)."""
        if r > self.reach + 1e-12:
            raise ValueError(f"threshold {r} beyond the neighbours' reach {self.reach}")
        g = self.graph.tocoo()
        keep = g.data <= r
        import scipy.sparse as sp

        return sp.coo_matrix((g.data[keep], (g.row[keep], g.col[keep])), shape=g.shape)


def _neighbours(x: np.ndarray, r: float, near: Neighbours | None) -> Neighbours:
    return near if near is not None and near.reach >= r else Neighbours.of(x, r)


def _components(edges: Any, n: int, min_size: int) -> np.ndarray:
    """Connected groups of at least `min_size` faces (the rest -1), numbered 0, 1, ..."""
    from scipy.sparse.csgraph import connected_components

    _, comp = connected_components(edges, directed=False)
    member = np.bincount(comp)[comp] >= max(min_size, 1)
    _, labels = np.unique(np.where(member, comp, -1), return_inverse=True)
    return np.where(member, labels - (~member).any(), -1)


def photolab(x: np.ndarray, photos: np.ndarray | None = None, radius: float = ATTACH_RADIUS,
             min_cluster_size: int = 2, near: Neighbours | None = None) -> np.ndarray:
    """photolab's rule in use (`FaceClusterer`'s default "radius" backend): the faces linked
    by pairs of different photos within `radius` (0.5: docs/decisions.md, "Faces: strangers"),
    groups of at least `min_cluster_size`."""
    g = _neighbours(x, radius, near).within(radius)
    if photos is not None:
        photos = np.asarray(photos)
        keep = photos[g.row] != photos[g.col]
        g.row, g.col, g.data = g.row[keep], g.col[keep], g.data[keep]
    return _components(g, len(x), max(min_cluster_size, 2))


def hdbscan_package(x: np.ndarray, photos: np.ndarray | None = None, min_cluster_size: int = 2,
                    min_samples: int = 1, cluster_selection_epsilon: float = 0.0) -> np.ndarray:
    """HDBSCAN of the `hdbscan` package, the seed's method (photolab's first rule, before the
    attachment radius): min_cluster_size 2, min_samples 1."""
    return FaceClusterer(min_cluster_size, min_samples, cluster_selection_epsilon,
                         backend="hdbscan", radius=None).fit(x)[0]


def hdbscan_sklearn(x: np.ndarray, photos: np.ndarray | None = None, min_cluster_size: int = 2,
                    min_samples: int = 1) -> np.ndarray:
    """`sklearn.cluster.HDBSCAN` with the same parameters (epsilon 0: scikit-learn's fails
    above it under NumPy 2.4, issue #33219)."""
    return FaceClusterer(min_cluster_size, min_samples, backend="sklearn", radius=None).fit(x)[0]


def immich(x: np.ndarray, photos: np.ndarray | None = None, max_distance: float = 0.5,
           min_faces: int = 3, near: Neighbours | None = None) -> np.ndarray:
    """Immich's incremental rule (server `PersonService.handleRecognizeFaces`, defaults
    `machineLearning.facialRecognition.maxDistance` 0.5, `minFaces` 3): faces in the order
    they were found; a face's matches are its nearest `min_faces` within `max_distance`
    (itself included). It joins the person of its nearest neighbour within `max_distance`
    that has one; with none, it starts a new person if it is a core face (`min_faces`
    matches), else waits for a second pass, where it joins a neighbour's person or stays in
    none.

    Immich's 0.5 is a cosine distance between its ArcFace vectors. On dlib's vectors the same
    number as a cosine distance links nearly everyone (dlib's encodings are near unit length,
    so cosine distance is about half the squared Euclidean: 0.5 cosine is about 1.0
    Euclidean, against 0.6 for dlib's "same person"). The rule's role is its operating
    point, so here `max_distance` is Euclidean on dlib's scale with the same default 0.5,
    which sits where Immich's does on its own scale: a strict "same person"."""
    n = len(x)
    g = _neighbours(x, max_distance, near).graph
    person = np.full(n, -1)
    people = 0

    def neighbours(i: int) -> np.ndarray:
        lo, hi = g.indptr[i], g.indptr[i + 1]
        cols, d = g.indices[lo:hi], g.data[lo:hi]
        keep = d <= max_distance
        return cols[keep][np.argsort(d[keep], kind="stable")]

    deferred = []
    for i in range(n):
        near_i = neighbours(i)
        core = len(near_i) + 1 >= min_faces
        if min_faces > 1 and len(near_i) == 0:
            continue  # no match at all: skipped
        named = near_i[person[near_i] >= 0]
        if named.size:
            person[i] = person[named[0]]
        elif core:
            person[i], people = people, people + 1
        else:
            deferred.append(i)
    for i in deferred:
        near_i = neighbours(i)
        named = near_i[person[near_i] >= 0]
        if named.size:
            person[i] = person[named[0]]
    return person


def photoprism(x: np.ndarray, photos: np.ndarray | None = None, cluster_core: int = 4,
               cluster_dist: float = 0.64, match_dist: float = 0.46,
               near: Neighbours | None = None) -> np.ndarray:
    """PhotoPrism's rule (internal/ai/face: `ClusterCore` 4, `ClusterDist` 0.64,
    `MatchDist` 0.46): DBSCAN with `cluster_core` faces within `cluster_dist` making a
    cluster, then each face left out joins the cluster whose mean face is nearest, if
    within `match_dist`. Its distances are Euclidean, as dlib's."""
    from sklearn.cluster import DBSCAN

    g = _neighbours(x, cluster_dist, near).within(cluster_dist).tocsr()
    labels = DBSCAN(eps=cluster_dist, min_samples=cluster_core,
                    metric="precomputed").fit(g).labels_
    return _match_rest(x, labels, match_dist)


def _match_rest(x: np.ndarray, labels: np.ndarray, within: float) -> np.ndarray:
    """Faces in no cluster joined to the cluster of the nearest mean face within `within`."""
    from .cluster import nearest

    labels = np.asarray(labels).copy()
    ids = np.unique(labels[labels >= 0])
    rest = np.flatnonzero(labels < 0)
    if ids.size and rest.size:
        centres = np.stack([x[labels == c].mean(0) for c in ids])
        best, dist = nearest(x[rest], centres)
        ok = dist <= within
        labels[rest[ok]] = ids[best[ok]]
    return labels


def librephotos(x: np.ndarray, photos: np.ndarray | None = None, eps: float = 0.6,
                min_samples: int = 3, named: np.ndarray | None = None,
                min_probability: float = 0.5, near: Neighbours | None = None) -> np.ndarray:
    """LibrePhotos' rule (api/face_classify: DBSCAN with `min_samples` 3 groups the unknown
    faces; a classifier trained on the faces people named labels the rest): DBSCAN at `eps`
    (dlib's tolerance, 0.6), then, where some faces are `named` (a person id per face, -1
    unnamed), an MLP classifier (scikit-learn's, as LibrePhotos) trained on them gives each
    unnamed face the person it is surest of, if at least `min_probability`. Labels: people
    first (their ids), then the DBSCAN groups of what is left."""
    from sklearn.cluster import DBSCAN

    g = _neighbours(x, eps, near).within(eps).tocsr()
    groups = DBSCAN(eps=eps, min_samples=min_samples, metric="precomputed").fit(g).labels_
    if named is None or (np.asarray(named) >= 0).sum() < 2 or \
            len(np.unique(np.asarray(named)[np.asarray(named) >= 0])) < 2:
        return groups
    from sklearn.neural_network import MLPClassifier

    named = np.asarray(named)
    train = named >= 0
    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=2000, random_state=0)
    clf.fit(x[train], named[train])
    prob = clf.predict_proba(x)
    guess = clf.classes_[prob.argmax(1)]
    person = np.where(train, named, np.where(prob.max(1) >= min_probability, guess, -1))
    top = int(person.max(initial=-1)) + 1
    return np.where(person >= 0, person, np.where(groups >= 0, groups + top, -1))


#: the rules by name, in the order `compare` runs them
RULES: dict[str, Rule] = {
    "photolab": photolab, "hdbscan": hdbscan_package, "hdbscan-sklearn": hdbscan_sklearn,
    "dbscan-immich": immich, "dbscan-photoprism": photoprism,
    "dbscan-librephotos": librephotos}


def parameters(rule: Rule) -> dict[str, Any]:
    """A rule's tunable parameters and their defaults (numbers only)."""
    return {k: p.default for k, p in inspect.signature(rule).parameters.items()
            if isinstance(p.default, int | float) and not isinstance(p.default, bool)}
