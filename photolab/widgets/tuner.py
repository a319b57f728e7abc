"""A researcher's live tuner: move a clustering rule's parameters and see, at once, the
scores against labels, every face on a 2-D map coloured by cluster, and what changed.

The encodings are read once; each face's neighbours within the largest distance a slider
reaches are found once (`photolab.faces.methods.Neighbours`), so a move re-clusters from
them (no detection, no distance matrix again); the UMAP map is computed once and kept in
the library's cache folder. Needs `umap-learn` and `plotly` (`pip install photolab[widgets]`).
"""

from __future__ import annotations

import hashlib
import html
import inspect
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import numpy as np
import polars as pl

from ..errors import PhotolabError
from ..faces import methods as rules
from ..faces.evaluate import _foreign, choose, read_truth, score
from ..materialised import CACHE_DIR

if TYPE_CHECKING:
    from ..library import Library

#: how far a distance slider reaches (dlib's Euclidean scale)
REACH = 0.8


def umap_map(x: np.ndarray, folder: Path | None, seed: int = 0) -> np.ndarray:
    """The 2-D UMAP of `x`, kept in `folder` by the encodings' digest (computed once)."""
    digest = hashlib.blake2b(np.ascontiguousarray(x, dtype=np.float32).tobytes(),
                             digest_size=12).hexdigest()
    path = folder / f"tuner-umap-{digest}.npy" if folder is not None else None
    if path is not None and path.exists():
        return np.load(path)
    import umap

    xy = umap.UMAP(n_neighbors=min(15, len(x) - 1), random_state=seed,
                   n_jobs=1).fit_transform(x)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, xy)
        except OSError:  # a library on a read-only disk: computed again next time
            pass
    return np.asarray(xy)


def changed_faces(old: np.ndarray, new: np.ndarray) -> tuple[int, list[int]]:
    """Faces that left the cluster most of their old cluster's faces went to (a face in no
    cluster and still in none has not changed), and the new clusters they are in or left."""
    f = pl.DataFrame({"old": old, "new": new})
    follow = (f.filter(pl.col("old") >= 0).group_by("old", "new").len()
              .sort("len", descending=True).unique("old", keep="first")
              .select("old", went="new"))
    f = f.join(follow, on="old", how="left").with_columns(
        went=pl.when(pl.col("old") < 0).then(-1).otherwise("went"))
    moved = f.filter(pl.col("new") != pl.col("went"))
    clusters = sorted({int(c) for c in moved["new"].to_list() + moved["went"].to_list()
                       if c >= 0})
    return moved.height, clusters


class Tuner(w.VBox):
    """Sliders for a clustering rule's parameters; each move re-clusters the kept encodings
    and redraws the scores (with labels), the UMAP map of every face (colour: cluster;
    diamonds: labelled faces) and what changed. Clicking a point shows the face and its
    photo. "Use these" writes photolab's own parameters to `photolab.toml` and re-clusters
    the library (names kept).

    Parameters
    ----------
    library : the library whose faces are tuned.
    truth : labelled faces (`photolab.faces.evaluate.read_truth`'s forms), optional.
    method : a rule of `photolab.faces.methods.RULES` to start with.
    faces : `face_id`, `photo_id`, `encoding` to tune instead of the library's (generated
        faces, for a benchmark); "Use these" is then off.
    layout : the faces' 2-D positions (n x 2) to draw instead of their UMAP (a map made
        elsewhere: PCA, t-SNE).

    Example (a notebook cell)::

        Tuner(Library("~/Pictures/photolab"), truth="faces.csv")
    """

    def __init__(self, library: Library, truth: Any = None, method: str = "photolab",
                 faces: pl.DataFrame | None = None, layout: np.ndarray | None = None):
        import plotly.graph_objects as go

        self.lib = library
        own = faces is None
        if faces is None:
            faces = library.faces().filter(~pl.col("ignored") & pl.col("encoding").is_not_null())
        if faces.height < 3:
            raise PhotolabError("the tuner needs at least 3 faces with encodings")
        self.faces = faces.select("face_id", "photo_id", "encoding")
        self.x = self.faces["encoding"].to_numpy().astype(np.float64)
        self.photos = self.faces["photo_id"].to_numpy()
        n = len(self.x)
        self.truth: np.ndarray | None = None
        if truth is not None:
            t = read_truth(library, truth, faces)
            joined = self.faces.select("face_id").join(t, on="face_id", how="left")
            self.truth = joined["person"].to_numpy()
        self.near = rules.Neighbours.of(self.x, REACH, k=None if n <= 20_000 else 64)
        folder = library.root / CACHE_DIR if own else None
        self.xy = umap_map(self.x, folder) if layout is None else np.asarray(layout)
        self.labels = np.full(n, -1)
        self.seconds = 0.0
        self.method = w.Dropdown(options=list(rules.RULES), value=method, description="rule")
        self.sliders = w.VBox()
        self.scores = w.HTML()
        self.changes = w.HTML()
        self.use = w.Button(description="Use these", disabled=not own,
                            tooltip="write photolab's parameters to photolab.toml and "
                                    "re-cluster the library (names kept)")
        self.use.on_click(lambda _b: self.use_these())
        self.face = w.Image(format="jpeg", layout=w.Layout(width="160px", height="160px"))
        self.photo = w.Image(format="webp", layout=w.Layout(max_width="320px"))
        labelled = self.truth is not None
        symbols = (np.where(pl.Series(self.truth).is_not_null().to_numpy(), "diamond",
                            "circle") if labelled else "circle")
        self.fig = go.FigureWidget(layout=go.Layout(
            width=700, height=520, hovermode="closest", showlegend=False,
            title="faces (UMAP), coloured by cluster; diamonds: labelled"))
        self.fig.add_scattergl(x=self.xy[:, 0], y=self.xy[:, 1], mode="markers",
                               customdata=self.faces["face_id"].to_numpy(),
                               marker={"size": 6, "symbol": symbols, "colorscale": "Turbo"},
                               hovertemplate="face %{customdata}<extra></extra>")
        self.fig.data[0].on_click(self._clicked)
        self.method.observe(lambda _c: self._build_sliders(), names="value")
        self._build_sliders()
        super().__init__([w.HBox([self.method, self.use]), self.sliders, self.scores,
                          self.changes, w.HBox([self.fig, w.VBox([self.face, self.photo])])])
        self.add_class("photolab-tuner")

    # -- the rule and its parameters ----------------------------------------------------

    def params(self) -> dict[str, Any]:
        """The sliders' values."""
        return {s.description: s.value for s in self.sliders.children}

    def _build_sliders(self) -> None:
        # the rule's parameters as `compare` runs it (photolab's: the library's own)
        [(_, _, defaults)] = choose([self.method.value], self.lib)
        sliders = []
        for name, default in defaults.items():
            if name in rules.DISTANCES:
                s = w.FloatSlider(value=min(default, REACH), min=0.05, max=REACH, step=0.01,
                                  description=name, continuous_update=False)
            elif isinstance(default, float):
                s = w.FloatSlider(value=default, min=0.0, max=1.0, step=0.05,
                                  description=name, continuous_update=False)
            else:
                s = w.IntSlider(value=default, min=1, max=max(10, default * 2),
                                description=name, continuous_update=False)
            s.observe(lambda _c: self.recluster(), names="value")
            sliders.append(s)
        self.sliders.children = sliders
        self.labels = np.full(len(self.x), -1)
        self.recluster()

    def set(self, **params: Any) -> float:
        """Move sliders by name (as a person would); the seconds the redraw took."""
        for s in self.sliders.children:
            if s.description in params:
                s.value = params[s.description]
        return self.seconds

    def recluster(self) -> None:
        """Cluster with the sliders' values and redraw."""
        t0 = time.perf_counter()
        rule = rules.RULES[self.method.value]
        kw = self.params()
        if "near" in inspect.signature(rule).parameters:
            kw["near"] = self.near
        labels = np.asarray(rule(self.x, self.photos, **kw))
        moved, clusters = changed_faces(self.labels, labels)
        self.labels = labels
        with self.fig.batch_update():
            self.fig.data[0].marker.color = np.where(labels >= 0, labels % 97, -20)
        n_clusters = len(np.unique(labels[labels >= 0]))
        rows = [f"{n_clusters} clusters, {int((labels < 0).sum())} faces in none"]
        if self.truth is not None:
            has = pl.Series(self.truth).is_not_null().to_numpy()
            t = self.truth[has].astype(str)
            s = score(t.tolist(), labels[has].tolist())
            rows.append(f"BCubed precision {s['bcubed_precision']:.3f}, recall "
                        f"{s['bcubed_recall']:.3f}, F1 <b>{s['bcubed_f1']:.3f}</b>; "
                        f"{_foreign(t, labels[has])} foreign faces, "
                        f"{int((labels[has] < 0).sum())} labelled faces in no cluster")
        self.seconds = time.perf_counter() - t0
        rows.append(f"re-clustered and redrawn in {self.seconds:.3f} s")
        self.scores.value = "<div class='photolab-tuner-scores'>" + "<br>".join(rows) + \
            "</div>"
        shown = ", ".join(map(str, clusters[:20])) + (" ..." if len(clusters) > 20 else "")
        self.changes.value = (f"<div class='photolab-tuner-changes'>{moved} faces changed "
                              f"cluster{': clusters ' + html.escape(shown) if clusters else ''}"
                              "</div>")

    # -- a point, and keeping the parameters ----------------------------------------------

    def _clicked(self, trace: Any, points: Any, _state: Any) -> None:
        if points.point_inds:
            self.show_face(int(trace.customdata[points.point_inds[0]]))

    def show_face(self, face_id: int) -> None:
        """The face's crop and its photo beside the map."""
        try:
            self.face.value = self.lib.face_crop(face_id, 160)
            pid = int(self.faces.filter(pl.col("face_id") == face_id)["photo_id"].item())
            self.photo.value = self.lib.thumbnail(pid, "small").read_bytes()
        except (PhotolabError, OSError, ValueError):
            self.face.value = b""

    def use_these(self) -> str:
        """Write photolab's parameters (`cluster_radius`, `cluster_min_size`) to
        `photolab.toml` and re-cluster the library, people's names kept."""
        if self.method.value != "photolab":
            raise PhotolabError("only photolab's own rule can be the library's: choose "
                                "'photolab' to keep its parameters")
        p = self.params()
        radius, size = float(p["radius"]), int(p["min_cluster_size"])
        # (refused on a read-only library before anything is written or saved)
        self.lib.cluster_faces(radius=radius, min_cluster_size=size, backend="auto")
        s = self.lib.settings
        s.cluster_radius, s.cluster_min_size, s.cluster_backend = radius, size, "auto"
        s.save(self.lib.root)
        return f"cluster_radius = {radius}, cluster_min_size = {size}"
