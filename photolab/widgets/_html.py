"""Small HTML pieces the widgets share."""

from __future__ import annotations

import html
import json
import re

#: what a tile or cover shows for a photo without a preview (a video, a damaged file)
NO_PREVIEW = (b"<svg xmlns='http://www.w3.org/2000/svg' width='190' height='120'>"
              b"<rect width='190' height='120' fill='#f6f6f6' stroke='#ccc' "
              b"stroke-dasharray='4'/><text x='95' y='64' text-anchor='middle' "
              b"font-family='sans-serif' font-size='12' fill='#888'>no preview</text></svg>")
#: the type a widget's message gives an image it has no bytes for (it sends b"")
NONE = "none"
#: a widget module's first lines: `imageUrl(buffer, type, urls)`, one URL for every image
#: without a preview. An SVG of its own for each tile is a document Chromium decodes and
#: draws on the page's thread: a page of 60 such tiles took 0.7-1.1 s to append there, 60
#: tiles sharing one URL 0.07-0.12 s (benchmarks/tiles.py).
IMAGE_URL_JS = f"""
const NO_PREVIEW = URL.createObjectURL(
  new Blob([{json.dumps(NO_PREVIEW.decode())}], {{ type: "image/svg+xml" }}));
const imageUrl = (buffer, type, urls) => {{
  if (type === "{NONE}") return NO_PREVIEW;
  const u = URL.createObjectURL(new Blob([buffer], {{ type }}));
  urls.push(u);
  return u;
}};
"""


def image(data: bytes | None, kind: str = "image/webp") -> tuple[bytes, str]:
    """An image's bytes and type for a widget's message: (b"", NONE) when it has none."""
    return (data, kind) if data else (b"", NONE)


#: an absolute path inside a message (what a guest must not see of the server)
_PATH = re.compile(r"(?:/[^/\s'\"]+)+/([^/\s'\"]+)")


def error_html(e: Exception, guest: bool = False) -> str:
    """An error message for a widget's status line; a guest sees file names, not paths.

    >>> error_html(ValueError("no file /srv/photos/2019/a.jpg"), guest=True)
    "<span style='color:#b00'>no file a.jpg</span>"
    """
    text = str(e)
    if guest:
        text = _PATH.sub(r"\1", text)
    return f"<span style='color:#b00'>{html.escape(text)}</span>"
