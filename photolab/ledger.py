"""The decision log's SQL, shared by the catalog and the domain stores that write decisions.

A decision is a row of `decisions` (kind, photo, JSON value, who, when); an `undo` decision
takes back an earlier one. Nothing here opens a connection: callers pass theirs, inside their
own transaction.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

#: every kind of decision people make, with what it says (`record` refuses another kind, so
#: this is the whole list: the kept answers' differential test runs after each of them)
KINDS: dict[str, str] = {
    "rating": "stars for photos",
    "favorite": "a photo is a favourite, or no longer",
    "keywords": "keywords added to or removed from photos",
    "title": "a photo's title",
    "description": "a photo's description",
    "date": "when a photo was taken, as a person says",
    "place": "where photos were taken, as a person says",
    "face_add": "a face a person drew on a photo (the detector missed it)",
    "upload": "a photo or video added from elsewhere (a phone, the served app)",
    "unpair": "a RAW and the JPEG it was taken with are two photos, not one",
    "album": "an album made, renamed, filled, emptied or deleted",
    "event_title": "an event's title",
    "face_person": "faces are a person (a name given, a face moved)",
    "person_name": "a person's name",
    "person_merge": "two people are one",
    "face_unassign": "faces are not that person",
    "face_ignore": "not faces worth naming",
    "face_split": "faces are not the same person as the rest of their cluster",
    "not_duplicate": "two photos are not duplicates",
    "keep": "the photo to keep among its duplicates",
    "resolve": "a duplicate group resolved: the other copies moved to the trash",
    "undo": "an earlier decision taken back",
}

#: SQL condition: the decision was not taken back by a later 'undo' decision
NOT_UNDONE = ("decision_id NOT IN (SELECT json_extract(value, '$.undoes') FROM decisions "
              "WHERE kind = 'undo')")


def now_iso() -> str:
    """Now, in UTC, as the catalog stores times."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def record(c: sqlite3.Connection, kind: str, photo_id: int | None, value: Any, who: str) -> int:
    """Append one decision inside the caller's transaction; returns its decision_id."""
    if kind not in KINDS:
        raise ValueError(f"unknown decision kind {kind!r}: add it to photolab.ledger.KINDS")
    cur = c.execute(
        "INSERT INTO decisions (kind, photo_id, value, who, at) VALUES (?,?,?,?,?)",
        (kind, photo_id, json.dumps(value), who, now_iso()))
    return int(cur.lastrowid or 0)
