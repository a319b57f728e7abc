"""Where faces and people are stored: the faces stage's write (a re-detected face keeps its
id), naming people and assigning faces to them (as decisions), and the clustering.

The catalog owns the connection and its transactions; this module owns the faces' SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from .. import ledger
from ..errors import PersonNotFoundError
from ..shown import SHOWN
from .geometry import match_boxes

if TYPE_CHECKING:
    from ..catalog import Catalog
    from .labels import Labels

#: the columns of the faces table a detection writes (besides face_id and photo_id)
FACE_COLUMNS = ("top", "right", "bottom", "left", "image_width", "image_height", "encoding",
                "source", "file_name", "side_px", "sharpness", "detector_score")
FACE_UPDATE = (f"UPDATE faces SET {', '.join(k + ' = ?' for k in FACE_COLUMNS)} "
               "WHERE face_id = ?")
FACE_INSERT = (f"INSERT INTO faces (photo_id, {', '.join(FACE_COLUMNS)}) "
               f"VALUES (?{', ?' * len(FACE_COLUMNS)})")

FACE_SQL_SCHEMA = {
    "face_id": pl.Int64, "photo_id": pl.Int64, "top": pl.Int64, "right": pl.Int64,
    "bottom": pl.Int64, "left": pl.Int64, "image_width": pl.Int64, "image_height": pl.Int64,
    "encoding": pl.Binary, "source": pl.String, "file_name": pl.String, "side_px": pl.Int64,
    "sharpness": pl.Float64, "detector_score": pl.Float64, "content_hash": pl.String,
    "cluster_id": pl.Int64, "probability": pl.Float64, "seen": pl.Boolean,
    "has_encoding": pl.Boolean}

#: the person whose newest name is `?` (any case) and who was not merged into another
PERSON_BY_NAME = f"""
    SELECT json_extract(d.value, '$.person_id') FROM decisions d
    WHERE d.kind = 'person_name' AND json_extract(d.value, '$.name') = ? COLLATE NOCASE
      AND d.decision_id = (SELECT max(decision_id) FROM decisions WHERE kind = 'person_name'
                           AND json_extract(value, '$.person_id')
                               = json_extract(d.value, '$.person_id') AND {ledger.NOT_UNDONE})
      AND json_extract(d.value, '$.person_id') NOT IN (
          SELECT json_extract(value, '$.person_id') FROM decisions
          WHERE kind = 'person_merge' AND {ledger.NOT_UNDONE})
    ORDER BY d.decision_id LIMIT 1"""


def write_faces(c: sqlite3.Connection, results: pl.DataFrame) -> None:
    """The faces stage's writer: replace each photo's faces; a face whose box overlaps an old
    one keeps its face_id (and so every decision about it). A name the file gives becomes a
    decision by "file". The faces people drew (`source` "user") stay as they are, and a
    detected face over one of them is not added again."""
    for photo_id, faces in results.select("photo_id", "faces").iter_rows():
        if faces is None:  # detection failed: keep what was there
            continue
        drawn = [r for r in c.execute("SELECT top, right, bottom, left FROM faces "
                                      "WHERE photo_id = ? AND source = 'user'", (photo_id,))]
        if drawn:
            over = match_boxes(drawn, [(f["top"], f["right"], f["bottom"], f["left"])
                                       for f in faces])
            faces = [f for f, o in zip(faces, over, strict=True) if o is None]
        old = c.execute("SELECT face_id, top, right, bottom, left FROM faces "
                        "WHERE photo_id = ? AND source != 'user'", (photo_id,)).fetchall()
        keep = match_boxes([o[1:] for o in old],
                           [(f["top"], f["right"], f["bottom"], f["left"]) for f in faces])
        for i, f in enumerate(faces):
            values = [f[k] for k in FACE_COLUMNS]
            if keep[i] is not None:  # its encoding may differ: its nearest person is measured anew
                c.execute(FACE_UPDATE, (*values, old[keep[i]][0]))
                c.execute("DELETE FROM face_nearest WHERE face_id = ?", (old[keep[i]][0],))
                continue
            face_id = c.execute(FACE_INSERT, (photo_id, *values)).lastrowid
            if f["file_name"]:
                person = person_named_in(c, f["file_name"], "file")
                ledger.record(c, "face_person", photo_id,
                              {"faces": [face_id], "person_id": person}, "file")
        gone = {o[0] for o in old} - {old[k][0] for k in keep if k is not None}
        c.executemany("DELETE FROM faces WHERE face_id = ?", [(g,) for g in gone])


def add_drawn_face(c: sqlite3.Connection, photo_id: int, face: dict, who: str) -> int:
    """Store a face a person drew (`detect.encode_drawn`'s row) and its decision
    (`face_add`); returns its face_id."""
    face_id = int(c.execute(FACE_INSERT, (photo_id, *[face[k] for k in FACE_COLUMNS])).lastrowid
                  or 0)
    ledger.record(c, "face_add", photo_id, {"face_id": face_id, "box": [
        face["top"], face["right"], face["bottom"], face["left"]]}, who)
    return face_id


def undo_drawn_face(c: sqlite3.Connection, value: dict) -> None:
    """Take a drawn face out (the undo of its `face_add`)."""
    c.execute("DELETE FROM faces WHERE face_id = ? AND source = 'user'", (int(value["face_id"]),))


def person_named_in(c: sqlite3.Connection, name: str, who: str,
                    create: bool = True) -> int | None:
    """The person now called `name` (any case), made (as a decision) when there is none."""
    row = c.execute(PERSON_BY_NAME, (name,)).fetchone()
    if row is not None or not create:
        return None if row is None else int(row[0])
    person = int(c.execute("INSERT INTO persons (created_at) VALUES (?)",
                           (ledger.now_iso(),)).lastrowid or 0)
    ledger.record(c, "person_name", None, {"person_id": person, "name": name}, who)
    return person


def person_named(catalog: Catalog, name: str, who: str, create: bool = True) -> int | None:
    """The person_id of the person now called `name`, created (as a decision) if asked."""
    with catalog.transaction() as c:  # a person is made by a decision
        return person_named_in(c, name, who, create)


def assign_faces(catalog: Catalog, face_ids: Sequence[int], person: int | str,
                 who: str) -> tuple[int, int]:
    """Decide that faces show a person, given by id or by name (made when new), in one
    transaction, so two kernels naming the same new person at once make one person.
    Returns (person_id, decision_id)."""
    with catalog.transaction() as c:  # a new person's id goes with its name
        pid = person_named_in(c, person, who) if isinstance(person, str) else int(person)
        if c.execute("SELECT 1 FROM persons WHERE person_id = ?", (pid,)).fetchone() is None:
            raise PersonNotFoundError(f"no person {pid}")
        d = ledger.record(c, "face_person", None,
                          {"faces": [int(f) for f in face_ids], "person_id": pid}, who)
    return int(pid or 0), d


def face_rows(catalog: Catalog, encodings: bool = True) -> pl.DataFrame:
    """The faces of present photos with their cluster: `FACE_SQL_SCHEMA`'s columns, the
    encoding blob null unless `encodings` (512 bytes a face), `has_encoding` either way."""
    blob = "f.encoding" if encodings else "NULL AS encoding"
    return catalog.frame(
        f"""SELECT f.face_id, f.photo_id, f.top, f.right, f.bottom, f.left, f.image_width,
                   f.image_height, {blob}, f.encoding IS NOT NULL AS has_encoding,
                   f.source, f.file_name, f.side_px, f.sharpness, f.detector_score,
                   p.content_hash, c.cluster_id, c.probability, c.face_id IS NOT NULL AS seen
            FROM faces f JOIN photos p USING (photo_id)
            LEFT JOIN face_clusters c USING (face_id)
            WHERE {SHOWN} ORDER BY f.face_id""", schema=FACE_SQL_SCHEMA)


def encoded_faces(catalog: Catalog, face_ids: Sequence[int]) -> pl.DataFrame:
    """`face_id`, `photo_id` of these faces that have an encoding, in present photos."""
    return catalog.frame_in(
        "SELECT f.face_id, f.photo_id FROM faces f JOIN photos p USING (photo_id) "
        "WHERE " + SHOWN + " AND f.encoding IS NOT NULL AND f.face_id IN ({ids})",
        face_ids, schema={"face_id": pl.Int64, "photo_id": pl.Int64})


def named_in_photos(catalog: Catalog, labels: Labels) -> pl.DataFrame:
    """`photo_id`, `named`: the names `labels` give faces with an encoding, per present photo."""
    named = labels.assignments().join(labels.people().rename({"name": "named"}),
                                      on="person_id")
    return (encoded_faces(catalog, named["face_id"]).join(named, on="face_id")
            .group_by("photo_id").agg(pl.col("named").unique()))


def write_clusters(catalog: Catalog, clusters: pl.DataFrame, replace: bool = True) -> None:
    """Store a clustering (`face_id`, `cluster_id`, `probability`): all of it, or (with
    `replace=False`) the placement of some more faces."""
    with catalog.transaction() as c:
        if replace:
            c.execute("DELETE FROM face_clusters")
        c.executemany("INSERT OR REPLACE INTO face_clusters (face_id, cluster_id, probability) "
                      "VALUES (?,?,?)", clusters.select("face_id", "cluster_id",
                                                        "probability").iter_rows())
