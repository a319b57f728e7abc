"""Small HTML pieces the widgets share."""

from __future__ import annotations

import html
import re

from .front import NO_PREVIEW, NONE

__all__ = ["NONE", "NO_PREVIEW", "error_html", "image"]


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
