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

#: SQL condition: the decision was not taken back by a later 'undo' decision
NOT_UNDONE = ("decision_id NOT IN (SELECT json_extract(value, '$.undoes') FROM decisions "
              "WHERE kind = 'undo')")


def now_iso() -> str:
    """Now, in UTC, as the catalog stores times."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def record(c: sqlite3.Connection, kind: str, photo_id: int | None, value: Any, who: str) -> int:
    """Append one decision inside the caller's transaction; returns its decision_id."""
    cur = c.execute(
        "INSERT INTO decisions (kind, photo_id, value, who, at) VALUES (?,?,?,?,?)",
        (kind, photo_id, json.dumps(value), who, now_iso()))
    return int(cur.lastrowid or 0)
