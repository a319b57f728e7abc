"""Reading faces and people: who each face is, from the clusters, the decisions and each
face's nearest named person, kept for the catalog's generation and brought up to date as
people name faces (`photolab.materialised`).

A kept `faces()` answer carries, unseen, what its refresh needs (`HIDDEN`): a name, a move or
a removal changes only the photos it can reach (its faces, their clusters, the faces whose
nearest person moved, the faces suggested as the persons it is about, and every other face
of those photos), so a naming at a million photos reads and suggests those, not 1.5
million faces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from ..context import Service
from ..materialised import code_key, declare, kept
from . import nearest, store
from .cluster import cluster_votes, constrain, decode, encoding_column, suggest
from .labels import FACE_KINDS, LabelMemo, Labels, face_changes

if TYPE_CHECKING:
    from ..context import Context

#: `faces()`'s columns
ANSWER_COLUMNS = ["face_id", "photo_id", "top", "right", "bottom", "left", "image_width",
                "image_height", "encoding", "source", "file_name", "cluster_id", "probability",
                "person_id", "person_name", "assigned_by", "confidence", "ignored", "side_px",
                "sharpness", "detector_score", "low_quality", "has_encoding", "near_person",
                "near_dist"]
#: kept with `faces()` for its refresh (`_faces_since`), not shown
HIDDEN = ("has_encoding", "near_person", "near_dist")
#: the columns a decision about faces changes
CHANGING = ("person_id", "person_name", "assigned_by", "confidence", "near_person",
            "near_dist")


#: people's names of the faces in each photo, their own (not suggestions)
declare("named_in_photos", tables=("faces", "persons"), decisions=FACE_KINDS)


class FaceReads(Service):
    """The faces domain's reads (`FacesService` adds its verbs)."""

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self._labels: LabelMemo | None = None
        self._near_held: nearest.Held | None = None

    def labels(self) -> Labels:
        """People's decisions about faces, replayed (undone ones left out); kept between
        calls, so a call after a new decision folds in only that decision."""
        if self._labels is None:
            kept = self.materialised
            self._labels = LabelMemo(kept.folder / f"labels-{code_key()}.json", kept.writable)
        return self._labels.current(self.catalog)

    def named_in_photos(self) -> pl.DataFrame:
        """`photo_id`, `named`: the names people gave faces in each present photo (their
        own decisions, not the clusters' suggestions), without computing suggestions."""
        return store.named_in_photos(self.catalog, self.labels())

    def faces(self, encodings: bool = True) -> pl.DataFrame:
        """Every face of the present photos, with who it is.

        Columns: `face_id`, `photo_id`, the box `top`, `right`, `bottom`, `left` in pixels of
        the upright original (`image_width` x `image_height`), `encoding` (128 float32),
        `source` (`detected` or `file`), `file_name` (the name the file's own region gives),
        `cluster_id` (null: no cluster), `probability`, `person_id`, `person_name`,
        `assigned_by` (`user`, or a suggestion: `cluster` / `classifier`), `confidence`,
        `ignored` (rejected by a person), the face's quality (`side_px`: its shorter side in
        the pixels the encoder saw, `sharpness`, `detector_score`) and `low_quality` (under
        the floor: never clustered nor suggested, only named by a person).
        """
        return self._kept_faces(encodings).drop(HIDDEN)

    @kept("faces", tables=("faces", "photos", "face_clusters", "persons"), decisions=FACE_KINDS,
          settings=("suggest_tolerance", "face_min_side", "face_min_sharpness"),
          refresh="_faces_since", keep_refreshed=True)
    def _kept_faces(self, encodings: bool) -> pl.DataFrame:
        """`_faces`, kept; brought up to date by `_faces_since` as people name faces."""
        return self._faces(encodings)

    def _faces(self, encodings: bool) -> pl.DataFrame:
        """`faces()` computed from the catalog, with the `HIDDEN` columns its refresh reads."""
        rows = store.face_rows(self.catalog, encodings)
        labels = self.labels()
        ignored = pl.col("face_id").is_in(list(labels.ignored))
        rows = rows.with_columns(
            cluster_id=pl.when(ignored).then(None).otherwise("cluster_id"), ignored=ignored,
            low_quality=self._low_quality())
        has = rows.filter(pl.col("has_encoding") & ~pl.col("ignored"))
        clustered = constrain(has.select("face_id", "photo_id", "cluster_id", "probability"),
                              labels)
        near = self.nearest_people(labels)
        rows = (rows.drop("cluster_id")
                .join(clustered.select("face_id", "cluster_id"), on="face_id", how="left",
                      maintain_order="left")
                .join(near.select("face_id", near_person="person_id", near_dist="dist"),
                      on="face_id", how="left", maintain_order="left"))
        out = self._who(rows, labels).select(ANSWER_COLUMNS)
        if not encodings:
            return out.drop("encoding")
        return out.with_columns(encoding_column(pl.col("encoding").fill_null(bytes(512))))

    def _who(self, rows: pl.DataFrame, labels: Labels,
             votes: pl.DataFrame | None = None) -> pl.DataFrame:
        """`rows` (faces with their cluster and nearest person) with who each face is:
        `person_id`, `assigned_by`, `confidence`, `person_name`. `votes`: the clusters'
        votes over every face, when `rows` are some whole photos only."""
        has = rows.filter(pl.col("has_encoding") & ~pl.col("ignored"))
        who = suggest(has.select("face_id", "photo_id", "cluster_id", "probability"),
                      has.select("face_id", person_id="near_person", dist="near_dist"),
                      labels, self.settings.suggest_tolerance, votes)
        low = set(rows.filter("low_quality")["face_id"])
        if low:  # a person may name a poor face; nothing else does
            guess = pl.col("face_id").is_in(list(low)) & (pl.col("assigned_by") != "user")
            who = who.with_columns([pl.when(guess).then(None).otherwise(c).alias(c)
                                    for c in ("person_id", "assigned_by", "confidence")])
        return (rows.drop("person_id", "assigned_by", "confidence", "person_name", strict=False)
                .join(who, on="face_id", how="left", maintain_order="left")
                .join(labels.people().rename({"name": "person_name"}), on="person_id",
                      how="left", maintain_order="left"))

    def _faces_since(self, prev: pl.DataFrame, since: int,
                     encodings: bool) -> pl.DataFrame | None:
        """`prev` (a `_faces` answer) brought up to date with the decisions after `since`
        while no computed table changed: names, moves and removals are applied to the
        photos they can change (their faces, their clusters, the faces whose nearest
        person moved, and every face of those photos); anything that changes the
        clusters (a rejection, a split, a merge, or the undo of one) gives None. The
        hidden nearest person of a face outside the suggestion tolerance before and after
        is left as it was (it suggests nothing; the next refresh compares with it)."""
        changes = face_changes(self.catalog, since)
        if changes is None:
            return None
        if not changes:
            return prev
        labels = self.labels()
        if set(labels.ignored) != set(prev["face_id"].filter(prev["ignored"])):
            return None  # a name took a face back from the rejected ones: clusters move
        faces = {f for v in changes for f in v.get("faces", [])}
        persons = {int(v["person_id"]) for v in changes if "person_id" in v}
        present = prev["face_id"].filter(prev["has_encoding"])  # in present photos
        n_person, n_dist = _along(prev["face_id"].to_numpy(),
                                  self.nearest_people(labels, present))
        w_person = prev["near_person"].fill_null(-1).to_numpy()
        w_dist = prev["near_dist"].fill_null(-1.0).to_numpy()
        # a face's nearest person suggests only within the tolerance: one that was and
        # stays farther is suggested nobody by it either way, and keeps its old row
        tol = self.settings.suggest_tolerance
        moved = (((w_person != n_person) | (w_dist != n_dist))
                 & (((w_dist >= 0) & (w_dist < tol)) | ((n_dist >= 0) & (n_dist < tol))))
        decided = prev["face_id"].is_in(list(faces))
        hit = prev.select("person_id", "cluster_id").filter(decided)
        persons |= set(hit["person_id"].drop_nulls())
        clusters = hit["cluster_id"].drop_nulls().unique().implode()
        reached = moved | (decided | prev["cluster_id"].is_in(clusters)
                           | prev["person_id"].is_in(list(persons))).fill_null(False).to_numpy()
        photo = prev["photo_id"].to_numpy()
        mine = np.isin(photo, np.unique(photo[reached]))
        rows = prev.filter(pl.Series(mine)).with_columns(
            near_person=pl.Series(n_person[mine]), near_dist=pl.Series(n_dist[mine])
        ).with_columns(near_person=pl.when(pl.col("near_person") >= 0).then("near_person"),
                       near_dist=pl.when(pl.col("near_dist") >= 0).then("near_dist"))
        user = labels.assignments().join(
            prev.select("face_id", "cluster_id", "has_encoding", "ignored")
            .filter(pl.col("has_encoding") & ~pl.col("ignored")).drop("has_encoding", "ignored"),
            on="face_id")
        redone = self._who(rows, labels, cluster_votes(user))
        pos = prev["face_id"].search_sorted(redone["face_id"])  # prev is in face order
        return prev.with_columns([prev[c].clone().scatter(pos, redone[c]) for c in CHANGING])

    def nearest_people(self, labels: Labels | None = None,
                       present: pl.Series | None = None) -> pl.DataFrame:
        """`face_id`, `person_id`, `dist`: each encoded face's nearest named person (the
        centroid of the faces people named), kept in the catalog and updated by what changed
        since (`photolab.faces.nearest`). `present`: the encoded faces of present photos,
        when the caller has them."""
        out, self._near_held = nearest.for_labels(self.catalog, labels or self.labels(),
                                                  self._near_held, self._encodings,
                                                  nearest.KeptRows(self.materialised),
                                                  present)
        return out

    def face_encodings(self) -> tuple[np.ndarray, np.ndarray]:
        """`face_id`s and encodings (n x 128 float32) of every face with an encoding, in
        face order, kept for the catalog's computed generation (memory-mapped, shared by
        every process): what a named person's moved centroid is measured against."""
        return self._encodings()[:2]

    def _encodings(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`face_encodings` and each encoding's squared norm (float32), kept as three
        arrays: a contiguous matrix is read by BLAS 2.7x faster than one inside records."""
        m, reads = self.materialised, nearest.ENCODINGS
        gen = self.catalog.generation_sums(reads.generations())
        ids = m.array("face-encoding-ids", lambda: self.catalog.frame(
            "SELECT face_id FROM faces WHERE encoding IS NOT NULL ORDER BY face_id",
            schema={"face_id": pl.Int64})["face_id"].to_numpy(), reads)
        matrix = m.array("face-encodings", lambda: decode(
            nearest.encodings_of(self.catalog, None)["encoding"]), reads)
        if self.catalog.generation_sums(reads.generations()) != gen:  # written meanwhile:
            f = nearest.encodings_of(self.catalog, None)  # both from one read
            ids, matrix = f["face_id"].to_numpy(), decode(f["encoding"])
            return ids, matrix, nearest.norms(matrix)
        return ids, matrix, m.array("face-norms", lambda: nearest.norms(matrix), reads)

    def people(self, faces: pl.DataFrame | None = None) -> pl.DataFrame:
        """`person_id`, `name`, `n_faces` (named by people), `n_suggested`, `n_photos`;
        counted from `faces` when the caller has just read `faces()` (a widget does)."""
        if faces is None:
            return self._every_person()
        f = faces
        counts = (f.filter(pl.col("person_id").is_not_null()).group_by("person_id").agg(
            n_faces=(pl.col("assigned_by") == "user").sum(),
            n_suggested=(pl.col("assigned_by") != "user").sum(),
            n_photos=pl.col("photo_id").filter(pl.col("assigned_by") == "user").n_unique()))
        return (self.labels().people().join(counts, on="person_id", how="left")
                .with_columns(pl.col("n_faces", "n_suggested", "n_photos").fill_null(0)
                              .cast(pl.Int64))
                .sort(["n_faces", "person_id"], descending=[True, False]))

    @kept("people", uses=("faces",))
    def _every_person(self) -> pl.DataFrame:
        return self.people(self.faces(encodings=False))

    def _low_quality(self) -> pl.Expr:
        """Faces under the quality floor (`face_min_side`, `face_min_sharpness`); faces
        stored before quality was measured pass."""
        s = self.settings
        return ((pl.col("side_px") < s.face_min_side)
                | (pl.col("sharpness") < s.face_min_sharpness)).fill_null(False)


def _along(ids: np.ndarray, near: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """`near`'s `person_id` and `dist` for the faces `ids` (both in face order; -1 where a
    face has none), found by position instead of a join over every face."""
    nid = near["face_id"].to_numpy()
    if np.array_equal(nid, ids):  # every face has an encoding
        return near["person_id"].fill_null(-1).to_numpy(), near["dist"].fill_null(-1.0).to_numpy()
    person = np.full(len(ids), -1, dtype=np.int64)
    dist = np.full(len(ids), -1.0)
    if len(nid):
        at = np.searchsorted(nid, ids).clip(max=len(nid) - 1)
        hit = nid[at] == ids
        person[hit] = near["person_id"].fill_null(-1).to_numpy()[at[hit]]
        dist[hit] = near["dist"].fill_null(-1.0).to_numpy()[at[hit]]
    return person, dist
