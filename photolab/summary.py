"""A plain-text summary of what a library holds."""

from __future__ import annotations

import polars as pl


def _counts(frame: pl.DataFrame, column: str, top: int = 8) -> str:
    c = (frame.group_by(column).len().sort(["len", column], descending=[True, False])
         .head(top))
    return ", ".join(f"{k if k is not None else '-'} {n}" for k, n in c.iter_rows())


def summarize(photos: pl.DataFrame, duplicates: pl.DataFrame | None = None,
              faces: pl.DataFrame | None = None, places: pl.DataFrame | None = None,
              errors_shown: int = 10, scene_tags: pl.DataFrame | None = None,
              n_embedded: int | None = None, n_captions: int | None = None,
              events: pl.DataFrame | None = None) -> str:
    """Counts by type, date source, camera, GPS, motion photos, duplicates, faces, search
    (CLIP vectors, scene tags, captions), events and errors."""
    if photos.height == 0:
        return "library is empty"
    ok = photos.filter(pl.col("error").is_null())
    kind = photos.with_columns(
        kind=pl.col("mime").str.extract(r"^(\w+)/").fill_null("unknown"))
    taken = photos["taken_at"].drop_nulls()
    lines = [
        f"photos: {photos.height} ({ok.height} fine, {photos.height - ok.height} with errors), "
        f"{photos['size_bytes'].sum() / 1e6:.1f} MB",
        f"kinds: {_counts(kind, 'kind')}",
        f"types: {_counts(photos, 'mime')}",
        f"date sources: {_counts(photos, 'taken_at_source')}",
    ]
    if taken.len():
        lines.append(f"taken: {taken.min():%Y-%m-%d} .. {taken.max():%Y-%m-%d}")
    cams = photos.filter(pl.col("camera_make").is_not_null())
    lines += [
        f"cameras: {_counts(cams, 'camera_make')}" if cams.height else "cameras: none",
        f"with GPS: {photos.filter(pl.col('lat').is_not_null()).height}",
        f"videos: {photos.filter(pl.col('mime').str.starts_with('video/')).height}, "
        f"motion photos: {photos['has_motion_video'].fill_null(False).sum()}",
    ]
    if duplicates is not None:
        lines.append(f"duplicates: {duplicates['group_id'].n_unique()} groups, "
                     f"{duplicates['reclaimable_bytes'].sum() / 1e6:.1f} MB reclaimable "
                     "(photolab dupes)")
    if places is not None:
        placed = places.filter(pl.col("country").is_not_null())
        lines.append(f"places: {placed.height} photos in {placed['country'].n_unique()} "
                     f"countries, {placed['city'].n_unique()} cities; no place: "
                     f"{_counts(places.filter(pl.col('country').is_null()), 'reason', 5)}")
    if faces is not None:
        named = faces.filter(pl.col("assigned_by") == "user")
        suggested = faces.filter(pl.col("assigned_by").is_in(["cluster", "classifier"]))
        lines.append(
            f"faces: {faces.height} in {faces['photo_id'].n_unique()} photos, "
            f"{faces['cluster_id'].drop_nulls().n_unique()} clusters, "
            f"{named['person_id'].n_unique()} people named ({named.height} faces), "
            f"{suggested.height} suggested (photolab people)")
    if n_embedded is not None:
        line = (f"search: {n_embedded} photos with CLIP vectors" if n_embedded
                else "search: no CLIP vectors (no weights: see the README's Search section)")
        if scene_tags is not None and scene_tags.height:
            line += f"; scenes: {_counts(scene_tags, 'tag', 6)}"
        if n_captions is not None:
            line += f"; {n_captions} captions"
        lines.append(line + " (photolab search)")
    if events is not None:
        longest = events.sort("n_photos", descending=True)["title"].head(1).to_list()
        lines.append(f"events: {events.height} ({events['trip'].sum()} trips), "
                     f"{events['n_photos'].sum() or 0} photos"
                     + (f"; the largest: {longest[0]}" if longest else "") + " (photolab events)")
    bad = photos.filter(pl.col("error").is_not_null())
    if bad.height:
        lines.append(f"errors ({bad.height}):")
        for path, err in bad.select("path", "error").head(errors_shown).iter_rows():
            lines.append(f"  {path}: {err}")
        if bad.height > errors_shown:
            lines.append(f"  ... {bad.height - errors_shown} more (photolab photos --errors)")
    return "\n".join(lines)
