"""Each face's nearest named person, kept in the catalog and brought up to date as people
name faces, so a read does not measure every face against every person again.

Suggesting who an unnamed face is needs its distance to each named person's centroid: an
(all faces x named people) matrix, 1.5 million x 7,500 in a library of a million photos
(about 100 s, docs/scale.md). `face_nearest` holds, for every face with an encoding, its
nearest centroid and the distance, measured against the centroids kept in
`person_centroids`. On a read the centroids are recomputed from the named faces (few) and
compared with the kept ones: faces new since, or whose nearest person's centroid moved or
went away, are measured against every centroid; the others only against the centroids that
moved or appeared. A re-detected face loses its row (`store.write_faces`). A read-only
library brings the result up to date in memory and stores nothing.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from ..errors import LibraryLockedError
from .cluster import decode, nearest
from .store import encoded_faces

if TYPE_CHECKING:
    from ..catalog import Catalog
    from .labels import Labels

#: how long a read waits for another writer before it keeps its result in memory only
STORE_WAIT_S = 1.0
NEAREST_SCHEMA = {"face_id": pl.Int64, "person_id": pl.Int64, "dist": pl.Float64}


def for_labels(catalog: Catalog, labels: Labels) -> pl.DataFrame:
    """`nearest_people` for the people named in `labels` (their faces with an encoding, in
    present photos, make the centroids)."""
    assigned = labels.assignments()
    named = encoded_faces(catalog, assigned["face_id"]).join(assigned, on="face_id")
    return nearest_people(catalog, *centroids(catalog, named))


def centroids(catalog: Catalog, named: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """`people` (sorted ids) and their centroids (float64 rows): the mean encoding of the
    faces people named (`named`: `face_id`, `person_id`; faces with an encoding in present
    photos)."""
    if named.height == 0:
        return np.zeros(0, np.int64), np.zeros((0, 128))
    enc = encodings_of(catalog, named["face_id"])
    ix = named.join(enc, on="face_id").sort("face_id")  # summed in face order, as always
    people, inv = np.unique(ix["person_id"].to_numpy(), return_inverse=True)
    sums = np.zeros((len(people), 128))
    np.add.at(sums, inv, decode(ix["encoding"]))
    return people, sums / np.bincount(inv)[:, None]


def encodings_of(catalog: Catalog, face_ids: pl.Series | list[int] | None) -> pl.DataFrame:
    """`face_id`, `encoding` (blob) of these faces (None: every face with an encoding)."""
    sql = "SELECT face_id, encoding FROM faces WHERE encoding IS NOT NULL"
    schema = {"face_id": pl.Int64, "encoding": pl.Binary}
    if face_ids is None:
        return catalog.frame(sql + " ORDER BY face_id", schema=schema)
    return catalog.frame_in(sql + " AND face_id IN ({ids}) ORDER BY face_id", face_ids,
                            schema=schema)


def nearest_people(catalog: Catalog, people: np.ndarray, cents: np.ndarray) -> pl.DataFrame:
    """`face_id`, `person_id`, `dist`: for every face with an encoding, the nearest of
    `people`'s centroids (`cents`), from what the catalog keeps plus what changed since;
    kept up to date in the catalog when it can be written."""
    if len(people) == 0:
        return pl.DataFrame(schema=NEAREST_SCHEMA)
    before = dict(catalog.frame("SELECT person_id, centroid FROM person_centroids",
                                schema={"person_id": pl.Int64, "centroid": pl.Binary})
                  .iter_rows())
    now = {int(p): cents[i].tobytes() for i, p in enumerate(people)}
    moved = np.array([before.get(int(p)) != now[int(p)] for p in people])
    stale = {p for p in before if p not in now} | {int(p) for p in people[moved]}
    f = catalog.frame(
        "SELECT f.face_id, n.person_id, n.dist FROM faces f LEFT JOIN face_nearest n "
        "USING (face_id) WHERE f.encoding IS NOT NULL ORDER BY f.face_id",
        schema=NEAREST_SCHEMA)
    redo = (f["person_id"].is_null() | f["person_id"].is_in(list(stale))).to_numpy()
    touch = redo | moved.any()  # the faces whose row this read may change
    if not touch.any():
        return f
    ids = f["face_id"].to_numpy()
    wanted = pl.DataFrame({"face_id": ids[touch]})
    enc = decode(wanted.join(encodings_of(catalog, None if touch.all() else wanted["face_id"]),
                             on="face_id", how="left", maintain_order="left")["encoding"])
    person = f["person_id"].fill_null(-1).to_numpy().copy()
    dist = f["dist"].fill_null(np.inf).to_numpy().copy()
    sub_person, sub_dist, sub_redo = person[touch], dist[touch], redo[touch]
    if sub_redo.any():  # new faces, or their nearest person moved or left: every centroid
        best, d = nearest(enc[sub_redo], cents)
        sub_person[sub_redo], sub_dist[sub_redo] = people[best], d
    rest = ~sub_redo
    if rest.any() and moved.any():  # the others: only the centroids that moved or appeared
        best, d = nearest(enc[rest], cents[moved])
        cand = people[moved][best]
        old_p, old_d = sub_person[rest], sub_dist[rest]
        closer = (d < old_d) | ((d == old_d) & (cand < old_p))
        sub_person[rest] = np.where(closer, cand, old_p)
        sub_dist[rest] = np.where(closer, d, old_d)
    was_person, was_dist = person.copy(), dist.copy()
    person[touch], dist[touch] = sub_person, sub_dist
    out = pl.DataFrame({"face_id": ids, "person_id": person, "dist": dist},
                       schema=NEAREST_SCHEMA)
    if not catalog.read_only:  # only the rows that changed are written
        _store(catalog, out.filter(pl.Series((person != was_person) | (dist != was_dist))),
               before, now)
    return out


def _store(catalog: Catalog, rows: pl.DataFrame, before: dict[int, bytes],
           now: dict[int, bytes]) -> None:
    """Keep the rows and the centroids they were measured against, unless another writer
    moved the kept centroids meanwhile or holds the catalog (a read does not wait for a
    batch run: its result is used in memory, and the next read keeps it)."""
    if catalog.conn.in_transaction:  # read inside a caller's write: keep it next time
        return
    try:
        with catalog.transaction(wait_s=STORE_WAIT_S) as c:
            if dict(c.execute("SELECT person_id, centroid FROM person_centroids")) == before:
                _write(c, rows, now)
    except LibraryLockedError:
        pass


def _write(c: sqlite3.Connection, rows: pl.DataFrame, now: dict[int, bytes]) -> None:
    c.executemany("INSERT OR REPLACE INTO face_nearest (face_id, person_id, dist) "
                  "VALUES (?,?,?)", rows.iter_rows())
    c.execute("DELETE FROM person_centroids")
    c.executemany("INSERT INTO person_centroids (person_id, centroid) VALUES (?,?)",
                  now.items())
