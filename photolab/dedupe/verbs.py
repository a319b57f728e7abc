"""The duplicates service (`lib.duplicates`): groups on demand, the decisions people make,
and `undo` (which takes back any decision)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from .. import ledger
from ..access import writes
from ..catalog import display_path
from ..context import Service
from ..errors import DecisionNotFoundError, PhotolabError
from ..faces import store as face_store
from ..materialised import kept
from ..media import pairs
from ..shown import SHOWN
from ..uploads import undo_upload
from .groups import group_duplicates, rank_keepers

if TYPE_CHECKING:
    from ..context import Context
    from ..semantic.verbs import SemanticService

TRASH = "trash"
#: the decisions the duplicate groups are computed from (a rating keeps them)
DUPLICATE_DECISIONS = ("not_duplicate", "keep")


class DuplicatesService(Service):
    """Duplicates (`lib.duplicates`; `lib.duplicates()` is `duplicates()`). Uses the
    semantic service (CLIP near-duplicates)."""

    def __init__(self, ctx: Context, semantic: SemanticService):
        super().__init__(ctx)
        self.semantic = semantic

    def __call__(self, threshold: int | None = None,
                 keeper_rule: Callable[[pl.DataFrame], pl.DataFrame] = rank_keepers,
                 clip_distance: float | None = None) -> pl.DataFrame:
        return self.duplicates(threshold, keeper_rule, clip_distance)

    def duplicate_candidates(self) -> pl.DataFrame:
        """Present photos with their hashes and what the keeper rule looks at."""
        return self.catalog.frame(
            f"""SELECT p.photo_id, p.path, p.size_bytes, p.content_hash, h.phash, h.phash_mirror,
                      h.pixel_hash,
                      m.width, m.height, m.mime, d.taken_at,
                      (SELECT count(*) FROM json_each(m.tags)) AS n_tags
               FROM photos p LEFT JOIN hashes h USING (photo_id)
               LEFT JOIN media m USING (photo_id) LEFT JOIN dates d USING (photo_id)
               WHERE {SHOWN} AND p.content_hash IS NOT NULL
               ORDER BY p.photo_id""",
            schema={"photo_id": pl.Int64, "path": pl.String, "size_bytes": pl.Int64,
                    "content_hash": pl.String, "phash": pl.Int64, "phash_mirror": pl.Int64,
                    "pixel_hash": pl.String,
                    "width": pl.Int64, "height": pl.Int64, "mime": pl.String,
                    "taken_at": pl.String, "n_tags": pl.Int64}
        ).with_columns(pl.col("taken_at").str.to_datetime(time_unit="us", strict=False))

    def duplicates(self, threshold: int | None = None,
                   keeper_rule: Callable[[pl.DataFrame], pl.DataFrame] = rank_keepers,
                   clip_distance: float | None = None) -> pl.DataFrame:
        """Groups of duplicate photos, computed now from the stored hashes.

        Parameters
        ----------
        threshold : pHash Hamming radius (default: the `dupe_threshold` setting).
        keeper_rule : ranks a group's photos best first (`photolab.dedupe.groups
            .rank_keepers` by default).
        clip_distance : also join photos whose CLIP vectors are within this cosine distance
            (default: the `dupe_clip_distance` setting; 0 : pHash only).

        Returns
        -------
        `group_id`, `photo_id`, `kind`, `distance`, `is_keeper`, `reclaimable_bytes`, with
        `path`, `size_bytes`, `width`, `height`, `taken_at` joined for display. Every "not a
        duplicate" and "keep this one" decision is applied.
        """
        if keeper_rule is rank_keepers:  # the default rule: kept for the generation
            s = self.settings
            key = (s.dupe_threshold if threshold is None else threshold,
                   s.dupe_clip_distance if clip_distance is None else clip_distance)
            return self._kept_duplicates(*key)
        return self._duplicates(threshold, keeper_rule, clip_distance)

    @kept("duplicates", tables=("photos", "hashes", "media", "dates", "embeddings"),
          decisions=DUPLICATE_DECISIONS)
    def _kept_duplicates(self, threshold: int, clip_distance: float) -> pl.DataFrame:
        return self._duplicates(threshold, rank_keepers, clip_distance)

    def _duplicates(self, threshold: int | None,
                    keeper_rule: Callable[[pl.DataFrame], pl.DataFrame],
                    clip_distance: float | None) -> pl.DataFrame:
        t = self.settings.dupe_threshold if threshold is None else threshold
        photos = self.duplicate_candidates()
        pairs, singles = [], []
        for v in self.catalog.active_decisions("not_duplicate")["value"]:
            ids = json.loads(v)["photos"]
            (pairs.append(tuple(ids)) if len(ids) == 2 else singles.extend(ids))
        keepers = self.catalog.active_decisions("keep")["photo_id"].to_list()
        cd = self.settings.dupe_clip_distance if clip_distance is None else clip_distance
        extra = self.semantic.embedding_pairs(cd) if cd > 0 else None
        groups = group_duplicates(photos, t, pairs, singles, keepers, keeper_rule,
                                  extra_pairs=extra)
        return groups.join(photos.select("photo_id", "path", "size_bytes", "width", "height",
                                         "taken_at"),
                           on="photo_id", how="left", maintain_order="left")

    @writes
    def not_duplicate(self, photo_id: int, other: int | None = None,
                      who: str | None = None) -> int:
        """Record that two photos are not duplicates (or that one is no duplicate at all)."""
        ids = [int(photo_id)] + ([int(other)] if other is not None else [])
        return self.catalog.add_decision("not_duplicate", int(photo_id), {"photos": ids},
                                         who or self.who)

    @writes
    def keep(self, photo_id: int, who: str | None = None) -> int:
        """Record that this copy is the one to keep in its duplicate group."""
        return self.catalog.add_decision("keep", int(photo_id), {}, who or self.who)

    @writes
    def resolve_duplicates(self, photo_id: int, threshold: int | None = None,
                           who: str | None = None) -> int:
        """Move every copy but the keeper of `photo_id`'s group into the library's trash.

        Nothing is deleted: `undo(decision_id)` puts the files back. Returns the decision id.
        """
        groups = self.duplicates(threshold)
        gid = groups.filter(pl.col("photo_id") == photo_id)["group_id"]
        if gid.len() == 0:
            raise PhotolabError(f"photo {photo_id} is in no duplicate group")
        group = groups.filter(pl.col("group_id") == gid[0])
        keeper = int(group.filter("is_keeper")["photo_id"][0])
        others = group.filter(~pl.col("is_keeper"))["photo_id"].to_list()
        raws = self.catalog.raw_paths(others)
        moves: list[dict[str, str | int]] = [
            {"photo_id": pid, "from_raw": raws[pid].hex(), "from": display_path(raws[pid]),
             "to": str(self.root / TRASH / f"{pid}" / os.fsdecode(os.path.basename(raws[pid])))}
            for pid in others]
        # the decision comes first, naming every planned move: a run killed between two files
        # leaves nothing unrecorded, and `undo` puts back whichever files did move
        who = who or self.who
        decision = self.catalog.add_decision("resolve", keeper,
                                             {"keeper": keeper, "moves": moves}, who)
        for m in moves:
            src, dest = bytes.fromhex(str(m["from_raw"])), Path(str(m["to"]))
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(src, os.fsencode(dest))
            except OSError as e:
                self.catalog.set_trashed(self._move_back(moves), False)
                self.catalog.add_decision("undo", keeper, {"undoes": decision}, who)
                raise PhotolabError(f"could not move {m['from']} to the trash: {e}; "
                                    "nothing was changed") from e
            self.catalog.set_trashed([int(m["photo_id"])], True)
        pairs.update(self.catalog)  # a RAW whose JPEG went to the trash is shown alone
        return decision

    @staticmethod
    def _move_back(moves: Sequence[dict[str, str | int]]) -> list[int]:
        back = []
        for m in moves:
            src, dest = bytes.fromhex(str(m["from_raw"])), str(m["to"])
            if os.path.exists(dest) and not os.path.lexists(src):
                os.makedirs(os.path.dirname(src), exist_ok=True)
                shutil.move(dest, src)
                back.append(int(m["photo_id"]))
        return back

    @writes
    def undo(self, decision_id: int, who: str | None = None) -> int:
        """Take a decision back; for a resolved group, the files return to where they were."""
        d = self.catalog.decision(decision_id)
        if d is None:
            raise DecisionNotFoundError(f"no decision {decision_id}")
        if d["kind"] == "resolve":
            back = self._move_back(json.loads(d["value"])["moves"])
            self.catalog.set_trashed(back, False)
        with self.catalog.transaction() as c:
            if d["kind"] == "face_add":  # a drawn face goes with its decision
                face_store.undo_drawn_face(c, json.loads(d["value"]))
            if d["kind"] == "upload":  # an uploaded file goes to the trash, its rows out
                undo_upload(self.root, json.loads(d["value"]), d["photo_id"])
                c.execute("DELETE FROM photos WHERE photo_id = ?", (d["photo_id"],))
            undo = ledger.record(c, "undo", d["photo_id"], {"undoes": int(decision_id)},
                                 who or self.who)
        if d["kind"] in ("unpair", "resolve"):  # a pair made again, or its JPEG back
            pairs.update(self.catalog)
        return undo
