"""The viewer's details panel: what a person reads beside a photo."""

from __future__ import annotations

import html
from typing import Any

from ..access import shown_path
from .scope import EVERYTHING, Scope


def details_html(d: dict[str, Any], scope: Scope = EVERYTHING) -> str:
    """The viewer's details panel: when (and from what), where, who (when the scope shows
    names), with what, and the rest (the albums it is in, but not on a shared album's
    page)."""
    def row(label: str, value: Any) -> str:
        if value in (None, "", [], ()):
            return ""
        text = ", ".join(value) if isinstance(value, list) else str(value)
        return (f"<div class='pv-row'><div class='pv-label'>{label}</div>"
                f"<div class='pv-value'>{html.escape(text)}</div></div>")

    t = d["taken_at"]
    when = f"{t:%A %d %B %Y, %H:%M}" if t is not None else "no date"
    if t is not None and d["tz_offset"]:
        when += f" (UTC{d['tz_offset']})"
    place = " › ".join(x for x in (d["country"], d["region"], d["city"]) if x)
    camera = " ".join(x for x in (d["camera_make"], d["camera_model"]) if x)
    named = sorted({f["person_name"] for f in d["faces"] if f["person_name"]}
                   | set(d["people"] or []))
    size = f"{d['size_bytes'] / 1e6:.1f} MB" if d["size_bytes"] else None
    dims = f"{d['width']} × {d['height']}" if d["width"] and d["height"] else None
    return "<div class='pv-rows'>" + "".join([
        row("Taken", when), row("Date from", d["taken_at_source"]), row("Place", place),
        row("People", named if scope.names else None), row("Camera", camera),
        row("Lens", d["lens"]),
        row("Exposure", d["exposure"]), row("Keywords", d["keywords"]),
        row("Rating", "★" * d["rating"] if d["rating"] else None), row("Title", d["title"]),
        row("Caption", d["caption"] or d["description"]),
        row("Albums", d["albums"] if scope.changes else None),
        row("File", shown_path(d["path"], guest=True)),  # the name, never the server's folders
        row("RAW", shown_path(d["raw_path"], guest=True)
            if d.get("raw_path") and d["raw_id"] != d["photo_id"] else None),
        row("Size", " · ".join(x for x in (dims, size) if x))]) + "</div>"
