"""What people decided about faces, replayed from the decision log into current labels.

Decision kinds (value JSON):

- `person_name` `{person_id, name}`: a person is (re)named; the newest name wins.
- `person_merge` `{person_id, into}`: one person is the same as another.
- `face_person` `{faces, person_id}`: these faces show this person.
- `face_unassign` `{faces, person_id}`: these faces do not show this person (never again).
- `face_ignore` `{faces}`: not a face worth naming (rejected); left out of clustering.
- `face_split` `{faces, from}`: these faces are not the same person as those.

Undo is a separate `undo` decision; the catalog leaves undone decisions out before replay.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from ..catalog import Catalog

FACE_KINDS = ("person_name", "person_merge", "face_person", "face_unassign", "face_ignore",
              "face_split")


@dataclass
class Labels:
    """The current state of people's decisions about faces."""

    person_of: dict[int, int] = field(default_factory=dict)
    rejected: set[tuple[int, int]] = field(default_factory=set)
    ignored: set[int] = field(default_factory=set)
    splits: list[tuple[list[int], list[int]]] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    merged: dict[int, int] = field(default_factory=dict)
    #: the frames below, made once per state (`replay` empties it)
    made: dict[str, pl.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    def root(self, person: int) -> int:
        """The person a (possibly merged) person id now stands for."""
        seen = set()
        while person in self.merged and person not in seen:
            seen.add(person)
            person = self.merged[person]
        return person

    def assignments(self) -> pl.DataFrame:
        """`face_id`, `person_id` for every face a person named (merges applied)."""
        if "assignments" not in self.made:
            self.made["assignments"] = pl.DataFrame(
                {"face_id": list(self.person_of),
                 "person_id": [self.root(p) for p in self.person_of.values()]},
                schema={"face_id": pl.Int64, "person_id": pl.Int64})
        return self.made["assignments"]

    def rejections(self) -> pl.DataFrame:
        """`face_id`, `person_id` pairs a face must never be suggested for."""
        pairs = {(f, self.root(p)) for f, p in self.rejected}
        return pl.DataFrame(sorted(pairs), schema={"face_id": pl.Int64, "person_id": pl.Int64},
                            orient="row")

    def people(self) -> pl.DataFrame:
        """`person_id`, `name` of every person not merged away."""
        rows = [(p, n) for p, n in self.names.items() if self.root(p) == p]
        return pl.DataFrame(rows, schema={"person_id": pl.Int64, "name": pl.String},
                            orient="row")


def replay(decisions: pl.DataFrame, into: Labels | None = None) -> Labels:
    """Fold active decisions (oldest first) into `Labels` (into `into`, in place, when given:
    the labels of the decisions before these, so new decisions cost only themselves)."""
    s = Labels() if into is None else into
    s.made.clear()
    for kind, value in decisions.select("kind", "value").iter_rows():
        v = json.loads(value)
        faces = [int(f) for f in v.get("faces", [])]
        if kind == "person_name":
            s.names[int(v["person_id"])] = v["name"]
        elif kind == "person_merge":
            if s.root(int(v["into"])) != int(v["person_id"]):  # no cycles
                s.merged[int(v["person_id"])] = int(v["into"])
        elif kind == "face_person":
            for f in faces:
                s.person_of[f] = int(v["person_id"])
                s.ignored.discard(f)
        elif kind == "face_unassign":
            for f in faces:
                if f in s.person_of and s.root(s.person_of[f]) == s.root(int(v["person_id"])):
                    del s.person_of[f]
                s.rejected.add((f, int(v["person_id"])))
        elif kind == "face_ignore":
            for f in faces:
                s.ignored.add(f)
                s.person_of.pop(f, None)
        elif kind == "face_split":
            s.splits.append((faces, [int(f) for f in v["from"]]))
    return s


#: decisions a faces answer can take in without clustering again (`face_changes`)
LOCAL_KINDS = ("person_name", "face_person", "face_unassign")


def face_changes(catalog: Catalog, since: int) -> list[dict] | None:
    """The values of the decisions about faces after `since`, and of the ones an undo
    since took back; None when one of them changes the clusters (a rejection, a split, a
    merge)."""
    new = catalog.decisions_since(since)
    undone = [int(json.loads(v)["undoes"]) for v in
              new.filter(pl.col("kind") == "undo")["value"]]
    taken = [catalog.decision(d) for d in undone]
    rows = [(k, v) for k, v in new.select("kind", "value").iter_rows()
            if k in FACE_KINDS] + [(d["kind"], d["value"]) for d in taken
                                   if d is not None and d["kind"] in FACE_KINDS]
    if any(k not in LOCAL_KINDS for k, _ in rows):
        return None
    return [json.loads(v) for _, v in rows]


class LabelMemo:
    """`Labels` kept between reads. Decisions are only ever appended, in commit order (by any
    process), so the next read folds in just the decisions recorded since; one of them
    being an undo replays from the start. With a `file`, a process that replayed from the
    start keeps what it made there, and a new process starts from it (and the decisions
    since) instead of replaying every decision: 0.2 s at a million photos' 37,500 names."""

    def __init__(self, file: Path | None = None, writable: bool = False) -> None:
        self.upto = -1  # the newest decision id folded in
        self.labels = Labels()
        self.file, self.writable = file, writable

    def current(self, catalog: Catalog) -> Labels:
        top = catalog.last_decision_id()
        if top == self.upto:
            return self.labels
        if self.upto < 0 and self.file is not None:
            self._load(catalog)
        upto = pl.col("decision_id") <= top  # what another writer adds meanwhile: next time
        new = catalog.decisions_since(self.upto).filter(upto) if self.upto >= 0 else None
        if new is not None and not (new["kind"] == "undo").any():
            replay(new.filter(pl.col("kind").is_in(FACE_KINDS)), into=self.labels)
        else:
            self.labels = replay(catalog.active_decisions(*FACE_KINDS).filter(upto))
            self.upto = top
            self._save(catalog)
        self.upto = top
        return self.labels

    @staticmethod
    def _mark(catalog: Catalog, upto: int) -> str | None:
        """What the decision `upto` was (a catalog put back from a copy has other ones)."""
        d = catalog.decision(upto)
        return None if d is None else json.dumps([d["kind"], d["value"], d["at"]])

    def _load(self, catalog: Catalog) -> None:
        try:
            kept = json.loads(self.file.read_text())
            if kept["upto"] <= 0 or self._mark(catalog, kept["upto"]) != kept["mark"]:
                return
            self.labels = Labels(
                person_of=dict(zip(*kept["person_of"], strict=True)),
                rejected={(f, p) for f, p in kept["rejected"]}, ignored=set(kept["ignored"]),
                splits=[(a, b) for a, b in kept["splits"]], names=dict(kept["names"]),
                merged=dict(kept["merged"]))
            self.upto = kept["upto"]
        except (OSError, ValueError, KeyError, TypeError):
            return  # none kept, or another version's: replayed from the start

    def _save(self, catalog: Catalog) -> None:
        if not self.writable or self.file is None or self.upto <= 0:
            return
        s = self.labels
        kept = {"upto": self.upto, "mark": self._mark(catalog, self.upto),
                "person_of": [list(s.person_of), list(s.person_of.values())],
                "rejected": sorted(s.rejected), "ignored": sorted(s.ignored),
                "splits": s.splits, "names": list(s.names.items()),
                "merged": list(s.merged.items())}
        tmp: str | None = None
        try:
            self.file.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, suffix=".tmp")
            with os.fdopen(fd, "w") as out:
                json.dump(kept, out)
            os.replace(tmp, self.file)
        except OSError:  # a full or read-only disk: the next process replays
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
