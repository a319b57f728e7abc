"""The faces service (`lib.faces`): faces, clusters, suggestions, and naming.

Computed (detections, clusters) and decided (names, moves, merges, removals) stay apart:
clusters live in `face_clusters` and are replaced by every `cluster_faces`; what people
decided is in the decision log and is applied on every read, so reclustering or re-detecting
never loses a name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

from ..access import writes
from ..errors import (
    ClusterNotFoundError,
    FaceNotFoundError,
    PersonNotFoundError,
    PhotolabError,
    PhotoNotFoundError,
)
from . import store
from .cluster import FaceClusterer, decode, distances
from .detect import FaceDetector, FaceParams, face_tasks
from .reads import FaceReads

#: an ingest reclusters everything when this share of the faces is new, else it places the
#: new faces into the clusters of their nearest neighbours
RECLUSTER_SHARE = 0.1


class FacesService(FaceReads):
    """Faces and people (`lib.faces`; `lib.faces()` is `faces()`): detection's work for the
    faces stage, clustering, and people's decisions about faces. Uses no other service."""

    def __call__(self, encodings: bool = True) -> pl.DataFrame:
        return self.faces(encodings)

    # -- the faces stage's work (see `photolab.stages`) -------------------------------------

    def face_params(self) -> FaceParams:
        """Face detection settings from `photolab.toml`."""
        s = self.settings
        return FaceParams(model=s.face_model, upsample=s.face_upsample,
                          image_size=s.face_image_size, min_face_px=s.face_min_size,
                          jitters=s.face_jitters, models_dir=s.face_models_dir or None)

    def detect(self, frame: pl.DataFrame, tick: Callable[[int], None]) -> pl.DataFrame:
        """The faces stage's work on a batch of photos (`photolab.stages.FACES`)."""
        params = self.face_params()
        cpus = self.cpu_limit or os.cpu_count() or 1
        detector = self.loaded.get("faces", (params, cpus),
                                   lambda: FaceDetector(params, cpus), FaceDetector.close)
        return detector.detect(face_tasks(frame, self.thumbs_dir, self.settings.thumb_sizes,
                                          params), tick)

    # -- clustering -------------------------------------------------------------------------

    def clusterer(self, **overrides: object) -> FaceClusterer:
        """The library's clustering settings, with `overrides` applied."""
        s = self.settings
        params = dict(min_cluster_size=s.cluster_min_size, min_samples=s.cluster_min_samples,
                      cluster_selection_epsilon=s.cluster_epsilon, metric=s.cluster_metric,
                      backend=s.cluster_backend, radius=s.cluster_radius)
        return FaceClusterer(**{**params, **overrides})  # type: ignore[arg-type]

    @writes
    def cluster_faces(self, clusterer: FaceClusterer | None = None,
                      **params: object) -> pl.DataFrame:
        """Recluster every face (except rejected ones) and store the clusters.

        People's names, moves and removals are decisions, applied on top of every clustering,
        so this never loses one. Parameters override the library's settings for this run,
        e.g. `cluster_faces(min_cluster_size=3, cluster_selection_epsilon=0.4)`.
        Returns `faces()`.
        """
        c = clusterer or self.clusterer(**params)
        job = self.catalog.start_job("cluster", c.params())
        status, n = "failed", 0
        try:
            n = self._cluster(c)
            status = "done"
        finally:
            self.catalog.finish_job(job, status, {"clustered": n}, 0, {})
        return self.faces()

    def update_clusters(self) -> int:
        """After an ingest: recluster when many faces are new, else place the few new ones
        beside their nearest clustered face (within dlib's 0.6; HDBSCAN has no cheap
        incremental update). Returns how many faces were clustered or placed."""
        rows = store.face_rows(self.catalog).filter(pl.col("encoding").is_not_null())
        new = rows.filter(~pl.col("seen"))
        if new.height == 0:
            return 0
        old = rows.filter(pl.col("cluster_id").is_not_null()
                          & ~pl.col("face_id").is_in(list(self.labels().ignored)))
        if new.height >= RECLUSTER_SHARE * rows.height or old.height == 0:
            return self._cluster(self.clusterer())
        good = ~new.select(self._low_quality()).to_series()
        d = distances(decode(new["encoding"]), decode(old["encoding"]))
        # never beside a face of its own photo
        d[new["photo_id"].to_numpy()[:, None] == old["photo_id"].to_numpy()[None, :]] = np.inf
        best = d.argmin(axis=1)
        dist = d[np.arange(len(d)), best]
        r = self.settings.cluster_radius
        near = (dist <= r) & good.to_numpy()
        store.write_clusters(self.catalog, pl.DataFrame({
            "face_id": new["face_id"],
            "cluster_id": pl.Series(np.where(near, old["cluster_id"].to_numpy()[best], -1))
            .replace(-1, None),
            "probability": np.where(near, 1 - dist / r, 0.0)}), replace=False)
        return int(near.sum())

    def _cluster(self, c: FaceClusterer) -> int:
        """Cluster and store; returns how many faces landed in a cluster."""
        every = store.face_rows(self.catalog)
        rows = every.filter(pl.col("encoding").is_not_null() & ~self._low_quality()
                            & ~pl.col("face_id").is_in(list(self.labels().ignored)))
        labels, prob = c.fit(decode(rows["encoding"]), rows["photo_id"].to_numpy())
        found = pl.DataFrame({
            "face_id": rows["face_id"],
            "cluster_id": pl.Series(labels, dtype=pl.Int64).replace(-1, None),
            "probability": prob.astype(np.float64)})
        # rejected faces and faces without an encoding are stored as seen, in no cluster
        store.write_clusters(self.catalog, every.select("face_id").join(
            found, on="face_id", how="left", maintain_order="left"))
        return int((labels >= 0).sum())

    # -- decisions --------------------------------------------------------------------------

    def _faces_of(self, face_ids: Sequence[int],
                  every: pl.DataFrame | None = None) -> pl.DataFrame:
        """The `faces()` rows of these faces (from `every` when the caller has it)."""
        ids = [int(i) for i in face_ids]
        if not ids:
            raise PhotolabError("no faces given")
        every = self.faces(encodings=False) if every is None else every
        f = every.filter(pl.col("face_id").is_in(ids))
        missing = set(ids) - set(f["face_id"])
        if missing:
            raise FaceNotFoundError(f"no faces {sorted(missing)} in this library")
        return f

    @writes
    def name_faces(self, face_ids: Sequence[int], name: str, who: str | None = None) -> int:
        """These faces show `name` (a new person when nobody has that name). Returns the
        person_id."""
        return self._assign(self._faces_of(face_ids), _name(name), who)[0]

    @writes
    def add_face(self, photo_id: int, box: Sequence[int], name: str | None = None,
                 who: str | None = None) -> int:
        """A face the detector missed, drawn by a person: `box` is (top, right, bottom,
        left) in pixels of the upright photo (as `faces()` gives boxes). It is encoded as
        detected faces are, clusters and is suggested like them, stays through every
        re-detection, and is a decision (`face_add`: `undo` takes it out). `name`: named at
        once. Returns its face_id.

        Example: `lib.add_face(12, (40, 180, 160, 60), name="Ada")`.
        """
        from .detect import encode_drawn

        f = self.catalog.inputs([int(photo_id)], with_tags=True)
        if f.height == 0:
            raise PhotoNotFoundError(f"no present photo {photo_id}")
        row = f.row(0, named=True)
        t, r, b, left = _box(box, row["width"], row["height"], photo_id)
        params = self.face_params()
        task = face_tasks(f, self.thumbs_dir, self.settings.thumb_sizes, params)[0]
        try:
            face = encode_drawn(task, (t, r, b, left), params)
        except ValueError as e:
            raise PhotolabError(f"photo {photo_id}: its pixels cannot be read ({e})") from None
        who = who or self.who
        with self.catalog.transaction() as c:
            face_id = store.add_drawn_face(c, int(photo_id), face, who)
        if name is not None:
            self._assign(self._faces_of([face_id]), _name(name), who)
        return face_id

    @writes
    def assign(self, face_ids: Sequence[int], person: int | str,
               who: str | None = None) -> tuple[int, list[int]]:
        """These faces show `person` (an id, or a name: made when new). Returns the
        person_id and the decisions recorded (what an "undo" button takes back)."""
        return self._assign(self._faces_of(face_ids),
                            _name(person) if isinstance(person, str) else person, who)

    def _assign(self, f: pl.DataFrame, person: int | str,
                who: str | None) -> tuple[int, list[int]]:
        person_id, d = store.assign_faces(self.catalog, f["face_id"].to_list(), person,
                                          who or self.who)
        made = [d]
        former = f.filter((pl.col("assigned_by") == "user") & (pl.col("person_id") != person_id))
        for old, ids in former.group_by("person_id"):  # moved: never suggested back
            made.append(self.catalog.add_decision("face_unassign", None, {
                "faces": ids["face_id"].to_list(), "person_id": int(old[0])}, who or self.who))
        return person_id, made

    @writes
    def name_cluster(self, cluster_id: int, name: str, who: str | None = None) -> int:
        """Every face now in a cluster shows `name`. Returns the person_id."""
        f = self.faces(encodings=False).filter(pl.col("cluster_id") == cluster_id)
        if f.height == 0:
            raise ClusterNotFoundError(f"no cluster {cluster_id}")
        return self._assign(f, _name(name), who)[0]

    @writes
    def move_faces(self, face_ids: Sequence[int], person: int | str,
                   who: str | None = None) -> int:
        """Move faces to another person (an id, or a name: made when new)."""
        return self._assign(self._faces_of(face_ids), person, who)[0]

    @writes
    def rename_person(self, person_id: int, name: str, who: str | None = None) -> int:
        """Give a person a new name; another person with that name must be merged instead."""
        name = name.strip()
        other = store.person_named(self.catalog, name, who or self.who, create=False)
        if other is not None and other != person_id:
            raise PhotolabError(f"{name!r} is already person {other}: "
                                f"merge_people({person_id}, {other}) joins them")
        if person_id not in set(self.labels().people()["person_id"]):
            raise PersonNotFoundError(f"no person {person_id}")
        return self.catalog.add_decision("person_name", None,
                                         {"person_id": int(person_id), "name": name},
                                         who or self.who)

    @writes
    def merge_people(self, person_id: int, into: int, who: str | None = None) -> int:
        """`person_id` is the same person as `into`: their faces and name go to `into`."""
        known = set(self.labels().people()["person_id"])
        for p in (person_id, into):
            if p not in known:
                raise PersonNotFoundError(f"no person {p}")
        if person_id == into:
            raise PhotolabError("a person cannot be merged into themself")
        return self.catalog.add_decision("person_merge", None,
                                         {"person_id": int(person_id), "into": int(into)},
                                         who or self.who)

    @writes
    def remove_faces(self, face_ids: Sequence[int], person_id: int | None = None,
                     who: str | None = None) -> list[int]:
        """These faces are not the person they are named or suggested as (or `person_id`);
        they are never suggested for that person again. Returns the decision ids."""
        f = self._faces_of(face_ids)
        if person_id is not None:
            f = f.with_columns(person_id=pl.lit(person_id, dtype=pl.Int64))
        f = f.filter(pl.col("person_id").is_not_null())
        return [self.catalog.add_decision("face_unassign", None, {
                    "faces": ids["face_id"].to_list(), "person_id": int(p[0])}, who or self.who)
                for p, ids in f.group_by("person_id", maintain_order=True)]

    @writes
    def reject_faces(self, face_ids: Sequence[int], who: str | None = None) -> int:
        """Not faces worth naming (a poster, a stranger, a false detection): left out of
        clusters and suggestions."""
        f = self._faces_of(face_ids)
        return self.catalog.add_decision("face_ignore", None,
                                         {"faces": f["face_id"].to_list()}, who or self.who)

    @writes
    def split_faces(self, face_ids: Sequence[int], who: str | None = None) -> int:
        """These faces are not the same person as the rest of their cluster: they leave it."""
        every = self.faces(encodings=False)
        f = self._faces_of(face_ids, every)
        clusters = f["cluster_id"].drop_nulls().unique().to_list()
        rest = every.filter(
            pl.col("cluster_id").is_in(clusters) & ~pl.col("face_id").is_in(f["face_id"].to_list()))
        if rest.height == 0:
            raise PhotolabError("nothing to split from: the faces are alone in their cluster")
        return self.catalog.add_decision("face_split", None, {
            "faces": f["face_id"].to_list(), "from": rest["face_id"].to_list()}, who or self.who)

    @writes
    def accept_suggestions(self, person_id: int | None = None, min_confidence: float = 0.0,
                           who: str | None = None) -> int:
        """Confirm suggested names (of one person, or all) at or above `min_confidence`.
        Returns how many faces were named."""
        f = self.faces(encodings=False).filter(
            pl.col("assigned_by").is_in(["cluster", "classifier"])
            & (pl.col("confidence") >= min_confidence))
        if person_id is not None:
            f = f.filter(pl.col("person_id") == person_id)
        for p, ids in f.group_by("person_id", maintain_order=True):
            store.assign_faces(self.catalog, ids["face_id"].to_list(), int(p[0]), who or self.who)
        return f.height

    # -- showing ----------------------------------------------------------------------------

    def face_crop(self, face_id: int, size: int = 160, margin: float = 0.3) -> bytes:
        """A JPEG of one face (square-ish, with `margin` around the box), from the thumbnail."""
        row = self.catalog.frame(
            "SELECT f.top, f.right, f.bottom, f.left, f.image_width, f.image_height, "
            "p.content_hash FROM faces f JOIN photos p USING (photo_id) WHERE face_id = ?",
            [int(face_id)])
        if row.height == 0:
            raise FaceNotFoundError(f"no face {face_id}")
        r = row.row(0, named=True)
        return _crop(str(self.thumbs_dir), r["content_hash"], r["top"], r["right"], r["bottom"],
                     r["left"], r["image_width"], r["image_height"], size, margin)


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise PhotolabError("a person's name cannot be empty")
    return name


@lru_cache(maxsize=2048)
def _crop(thumbs: str, content_hash: str, top: int, right: int, bottom: int, left: int,
          width: int, height: int, size: int, margin: float) -> bytes:
    import pyvips

    from ..media.thumbnails import thumb_path

    path = next((p for p in (thumb_path(Path(thumbs), content_hash, s) for s in ("big", "small"))
                 if p.exists()), None)
    if path is None:
        raise PhotolabError("the photo has no thumbnail to cut the face from")
    im = pyvips.Image.new_from_file(str(path))
    sx, sy = im.width / width, im.height / height
    m = margin * max(right - left, bottom - top)
    x0, y0 = max(0, int((left - m) * sx)), max(0, int((top - m) * sy))
    x1, y1 = min(im.width, int((right + m) * sx)), min(im.height, int((bottom + m) * sy))
    face = im.crop(x0, y0, max(1, x1 - x0), max(1, y1 - y0))
    return face.thumbnail_image(size, height=size).jpegsave_buffer(Q=85)


def _box(box: Sequence[int], width: int | None, height: int | None,
         photo_id: int) -> tuple[int, int, int, int]:
    """`box` (top, right, bottom, left) as ints, checked against the photo's size."""
    if not width or not height:
        raise PhotolabError(f"photo {photo_id} has no pixels to draw a face on (see its error)")
    if len(box) != 4:
        raise PhotolabError(f"a face box is (top, right, bottom, left), not {tuple(box)}")
    t, r, b, left = (int(np.rint(v)) for v in box)
    if not (0 <= left < r <= width and 0 <= t < b <= height):
        raise PhotolabError(f"the box {(t, r, b, left)} is not a non-empty box inside photo "
                            f"{photo_id} ({width} x {height} pixels)")
    return t, r, b, left
