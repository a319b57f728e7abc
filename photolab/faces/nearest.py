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

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from ..errors import LibraryLockedError
from ..materialised import Reads
from .cluster import decode, nearest
from .store import encoded_faces

if TYPE_CHECKING:
    from ..catalog import Catalog
    from ..materialised import Materialised
    from .labels import Labels

#: how long a read waits for another writer before it keeps its result in memory only
STORE_WAIT_S = 1.0
#: what the faces' encodings are read from (`FaceReads.face_encodings`)
ENCODINGS = Reads(frozenset({"faces"}))
#: what the table's rows depend on besides the centroids they were measured against
ROWS = Reads(frozenset({"faces", "photos"}))
NEAREST_SCHEMA = {"face_id": pl.Int64, "person_id": pl.Int64, "dist": pl.Float64}


@dataclass(frozen=True)
class Held:
    """What a process's last measure gave: the table it started from may be used again
    while no computed table changed and the kept centroids are what it left them."""

    computed: int  # the catalog's computed generation then
    table: dict[int, bytes]  # the centroids `person_centroids` held after it
    now: dict[int, bytes]  # the centroids it measured against
    out: pl.DataFrame
    asked: pl.Series | None = None  # the named faces (`face_id`) it looked up
    named: pl.DataFrame | None = None  # `face_id`, `person_id`: those with an encoding


#: every encoded face's `face_id`, encoding (n x 128 float32) and its squared norm, in
#: face order
Every = Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray]]
NEAREST_RECORD = np.dtype([("face_id", "<i8"), ("person_id", "<i8"), ("dist", "<f8")])


@dataclass(frozen=True)
class KeptRows:
    """The table's rows as `cache/` keeps them, by the centroids they were measured against
    (a million rows' join is read in 2 s; the process that wrote them knows them)."""

    materialised: Materialised

    def rows(self, cents: dict[int, bytes], read: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        """The rows measured against `cents`: kept, or `read` (and kept)."""
        return from_records(self.materialised.array(
            "face-nearest", lambda: as_records(read()), ROWS, of=_digest(cents)))

    def keep(self, cents: dict[int, bytes], rows: pl.DataFrame) -> None:
        """`rows` are what the table holds for `cents` now."""
        self.materialised.put_array("face-nearest", lambda: as_records(rows), ROWS,
                                    of=_digest(cents), later=True)


def _digest(cents: dict[int, bytes]) -> str:
    return hashlib.blake2b(b"".join(k.to_bytes(8, "little") + v for k, v in
                                    sorted(cents.items())), digest_size=16).hexdigest()


def for_labels(catalog: Catalog, labels: Labels, held: Held | None = None,
               every: Every | None = None, kept: KeptRows | None = None,
               present: pl.Series | None = None) -> tuple[pl.DataFrame, Held | None]:
    """`nearest_people` for the people named in `labels` (their faces with an encoding, in
    present photos, make the centroids). `present`, given: the `face_id`s of those faces
    (what the caller read of `faces()`), so the catalog is not asked."""
    assigned = labels.assignments()
    gen = catalog.generation()[0]
    mine = held is not None and held.computed == gen and held.named is not None
    if present is not None:
        named = assigned.filter(pl.col("face_id").is_in(present.implode())).sort("face_id")
    elif mine:  # the same faces and photos: look up only the faces named since
        asked = assigned.join(held.asked.to_frame(), on="face_id", how="anti")["face_id"]
        have = pl.concat([held.named["face_id"], encoded_faces(catalog, asked)["face_id"]])
        named = assigned.filter(pl.col("face_id").is_in(have.implode())).sort("face_id")
    else:
        named = (encoded_faces(catalog, assigned["face_id"]).join(assigned, on="face_id")
                 .select("face_id", "person_id").sort("face_id"))
    people, cents = (_centroids_since(catalog, named, held, every) if mine
                     else centroids(catalog, named, every))
    out, now = nearest_people(catalog, people, cents, held, every, kept)
    if now is not None and now.computed == gen:
        now = replace(now, asked=assigned["face_id"], named=named)
    return out, now


def _centroids_since(catalog: Catalog, named: pl.DataFrame, held: Held,
                     every: Every | None) -> tuple[np.ndarray, np.ndarray]:
    """`centroids` of `named`, summed again only for the people whose named faces differ
    from `held`'s (the others' are the centroids it measured against)."""
    key = ["face_id", "person_id"]
    diff = pl.concat([named.join(held.named, on=key, how="anti"),
                      held.named.join(named, on=key, how="anti")])
    changed = set(diff["person_id"])
    people = np.unique(named["person_id"].to_numpy())
    if not changed:
        return people, _rows(held.now, people)
    sub_people, sub = centroids(catalog, named.filter(pl.col("person_id").is_in(list(changed))),
                                every)
    same = people[~np.isin(people, sub_people)]
    cents = np.empty((len(people), 128))
    cents[np.searchsorted(people, sub_people)] = sub
    cents[np.searchsorted(people, same)] = _rows(held.now, same)
    return people, cents


def _rows(cents: dict[int, bytes], people: np.ndarray) -> np.ndarray:
    """The centroids of `people` (float64 rows) from their kept bytes."""
    if len(people) == 0:
        return np.zeros((0, 128))
    return np.frombuffer(b"".join(cents[int(p)] for p in people)).reshape(-1, 128)


def as_records(rows: pl.DataFrame) -> np.ndarray:
    """`nearest_people` rows as `NEAREST_RECORD`s (null person: -1, null distance: inf)."""
    rec = np.empty(rows.height, dtype=NEAREST_RECORD)
    rec["face_id"] = rows["face_id"].to_numpy()
    rec["person_id"] = rows["person_id"].fill_null(-1).to_numpy()
    rec["dist"] = rows["dist"].fill_null(np.inf).to_numpy()
    return rec


def from_records(rec: np.ndarray) -> pl.DataFrame:
    """The rows `as_records` made."""
    return pl.DataFrame({"face_id": rec["face_id"], "person_id": rec["person_id"],
                         "dist": rec["dist"]}, schema=NEAREST_SCHEMA).with_columns(
        person_id=pl.when(pl.col("person_id") >= 0).then("person_id"),
        dist=pl.when(pl.col("dist").is_finite()).then("dist"))


def centroids(catalog: Catalog, named: pl.DataFrame,
              every: Every | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`people` (sorted ids) and their centroids (float64 rows): the mean encoding of the
    faces people named (`named`: `face_id`, `person_id`; faces with an encoding in present
    photos), taken from `every` encoding when given."""
    if named.height == 0:
        return np.zeros(0, np.int64), np.zeros((0, 128))
    ix = named.sort("person_id", "face_id")  # summed in face order
    if every is not None:
        ids, matrix, _ = every()
        enc = matrix[np.searchsorted(ids, ix["face_id"].to_numpy())]
    else:
        ix = ix.join(encodings_of(catalog, named["face_id"]), on="face_id",
                     maintain_order="left")
        enc = decode(ix["encoding"])
    who = ix["person_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, who[1:] != who[:-1]])
    sums = np.add.reduceat(enc.astype(np.float64), starts, axis=0)
    return who[starts], sums / np.diff(np.r_[starts, len(who)])[:, None]


def encodings_of(catalog: Catalog, face_ids: pl.Series | list[int] | None) -> pl.DataFrame:
    """`face_id`, `encoding` (blob) of these faces (None: every face with an encoding)."""
    sql = "SELECT face_id, encoding FROM faces WHERE encoding IS NOT NULL"
    schema = {"face_id": pl.Int64, "encoding": pl.Binary}
    if face_ids is None:
        return catalog.frame(sql + " ORDER BY face_id", schema=schema)
    return catalog.frame_in(sql + " AND face_id IN ({ids}) ORDER BY face_id", face_ids,
                            schema=schema)


def nearest_people(catalog: Catalog, people: np.ndarray, cents: np.ndarray,
                   held: Held | None = None, every: Every | None = None,
                   kept: KeptRows | None = None) -> tuple[pl.DataFrame, Held | None]:
    """`face_id`, `person_id`, `dist`: for every face with an encoding, the nearest of
    `people`'s centroids (`cents`), from what the catalog keeps (or what this process
    measured last, `held`) plus what changed since; kept up to date in the catalog when it
    can be written. Also returns what to hold for the next call. `every`, given, hands
    over every encoding (kept: no read of the table); `kept`, the table's rows as the
    process that wrote them kept them."""
    if len(people) == 0:
        return pl.DataFrame(schema=NEAREST_SCHEMA), None
    gen = catalog.generation()[0]
    before = dict(catalog.frame("SELECT person_id, centroid FROM person_centroids",
                                schema={"person_id": pl.Int64, "centroid": pl.Binary})
                  .iter_rows())
    now = {int(p): cents[i].tobytes() for i, p in enumerate(people)}
    if held is not None and held.computed == gen and before == held.table:
        base, f = held.now, held.out  # the table, with what this process measured since
    else:
        base, f = before, (read_table(catalog) if kept is None
                           else kept.rows(before, lambda: read_table(catalog)))
    moved = np.array([base.get(int(p)) != now[int(p)] for p in people])
    stale = {p for p in base if p not in now} | {int(p) for p in people[moved]}
    redo = (f["person_id"].is_null() | f["person_id"].is_in(list(stale))).to_numpy()
    if not (redo.any() or moved.any()):
        return f, Held(gen, before, now, f)
    person = f["person_id"].fill_null(-1).to_numpy().copy()
    dist = f["dist"].fill_null(np.inf).to_numpy().copy()
    ids = f["face_id"].to_numpy()
    matrix = None
    if every is not None and (moved.any() or redo.sum() > len(redo) // 2):
        all_ids, matrix, norm2 = every()
        matrix = matrix if np.array_equal(all_ids, ids) else None
    check = redo.copy()
    if moved.any():  # the faces a moved centroid may now be nearer to
        check |= ~redo if matrix is None else ~redo & _may_be_nearer(matrix, norm2, dist,
                                                                       cents[moved])
    enc = matrix[check] if matrix is not None else _encodings(catalog, ids, check)
    sub_person, sub_dist, sub_redo = person[check], dist[check], redo[check]
    if sub_redo.any() and moved.any():
        _keep_the_nearer(sub_person, sub_dist, sub_redo, enc, people, moved, cents)
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
    person[check], dist[check] = sub_person, sub_dist
    out = pl.DataFrame({"face_id": ids, "person_id": person, "dist": dist},
                       schema=NEAREST_SCHEMA)
    table = before
    if not catalog.read_only and base == before:  # only the rows that changed are written
        changed = out.filter(pl.Series((person != was_person) | (dist != was_dist)))
        if _store(catalog, changed, before, now):
            table = now
            if kept is not None:
                kept.keep(now, out)
    return out, Held(gen, table, now, out)


def _keep_the_nearer(person: np.ndarray, dist: np.ndarray, redo: np.ndarray,
                     enc: np.ndarray, people: np.ndarray, moved: np.ndarray,
                     cents: np.ndarray) -> None:
    """Faces to measure again (`redo`) whose own person's centroid moved and is now no
    farther: that person stays their nearest among the centroids that did not move (each
    of those was at least the old distance away; the first of equals is the lower id,
    which it already was), so they are measured against the moved centroids only (in
    place: `dist` becomes the new distance, `redo` False)."""
    own = redo & np.isin(person, people[moved])
    if not own.any():
        return
    diff = np.asarray(enc[own], dtype=np.float64) - cents[np.searchsorted(people, person[own])]
    d = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    stays = np.flatnonzero(own)[d <= dist[own]]
    dist[stays], redo[stays] = d[d <= dist[own]], False


def read_table(catalog: Catalog) -> pl.DataFrame:
    """The kept rows, one per face with an encoding (null where none is kept)."""
    return catalog.frame(
        "SELECT f.face_id, n.person_id, n.dist FROM faces f LEFT JOIN face_nearest n "
        "USING (face_id) WHERE f.encoding IS NOT NULL ORDER BY f.face_id",
        schema=NEAREST_SCHEMA)


def _encodings(catalog: Catalog, ids: np.ndarray, check: np.ndarray) -> np.ndarray:
    """The encodings of the faces `ids[check]`, in that order, read from the catalog."""
    wanted = pl.DataFrame({"face_id": ids[check]})
    most = check.sum() > len(check) // 2
    return decode(wanted.join(encodings_of(catalog, None if most else wanted["face_id"]),
                              on="face_id", how="left", maintain_order="left")["encoding"])


def norms(matrix: np.ndarray, chunk: int = 262_144) -> np.ndarray:
    """Each row's squared norm (float32), a chunk at a time."""
    out = np.empty(len(matrix), dtype=np.float32)
    for i in range(0, len(matrix), chunk):
        a = matrix[i:i + chunk]
        out[i:i + chunk] = np.einsum("ij,ij->i", a, a)
    return out


def _may_be_nearer(matrix: np.ndarray, norm2: np.ndarray, dist: np.ndarray,
                   moved: np.ndarray, chunk: int = 262_144) -> np.ndarray:
    """Faces (`matrix`, n x 128 float32 with squared norms `norm2`, each at `dist` from its
    nearest centroid) that one
    of the `moved` centroids may now be nearer to. Measured in float32 (one matrix product,
    about 20x cheaper than the float64 measure) with a margin of 0.01 that float32's
    rounding (about 1e-6 on a squared distance) cannot cross; the faces it keeps are then
    measured exactly. With many moved centroids, every face is measured exactly."""
    if len(moved) > 64:
        return np.ones(len(matrix), dtype=bool)
    m = moved.astype(np.float32)
    m2 = (m * m).sum(1)
    reach = (dist + 0.01) ** 2
    out = np.empty(len(matrix), dtype=bool)
    for i in range(0, len(matrix), chunk):
        a = matrix[i:i + chunk]
        d2 = norm2[i:i + chunk, None] + m2[None, :] - 2 * (a @ m.T)
        out[i:i + chunk] = d2.min(axis=1) < reach[i:i + chunk]
    return out


def _store(catalog: Catalog, rows: pl.DataFrame, before: dict[int, bytes],
           now: dict[int, bytes]) -> bool:
    """Keep the rows and the centroids they were measured against, unless another writer
    moved the kept centroids meanwhile or holds the catalog (a read does not wait for a
    batch run: its result is used in memory, and the next read keeps it)."""
    if catalog.conn.in_transaction:  # read inside a caller's write: keep it next time
        return False
    try:
        # a memo of what the faces and decisions give: no kept answer moves with it
        with catalog.transaction(wait_s=STORE_WAIT_S) as c:
            if dict(c.execute("SELECT person_id, centroid FROM person_centroids")) != before:
                return False
            _write(c, rows, before, now)
        return True
    except LibraryLockedError:
        return False


def _write(c: sqlite3.Connection, rows: pl.DataFrame, before: dict[int, bytes],
           now: dict[int, bytes]) -> None:
    """The changed rows, and the centroids that moved, appeared or went away."""
    c.executemany("INSERT INTO face_nearest (face_id, person_id, dist) VALUES (?,?,?) "
                  "ON CONFLICT (face_id) DO UPDATE SET person_id = excluded.person_id, "
                  "dist = excluded.dist", rows.iter_rows())
    c.executemany("DELETE FROM person_centroids WHERE person_id = ?",
                  [(p,) for p in before if p not in now])
    c.executemany("INSERT OR REPLACE INTO person_centroids (person_id, centroid) VALUES (?,?)",
                  [(p, v) for p, v in now.items() if before.get(p) != v])
