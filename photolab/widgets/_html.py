"""Small HTML pieces the widgets share."""

from __future__ import annotations

import html


def error_html(e: Exception) -> str:
    """An error message for a widget's status line."""
    return f"<span style='color:#b00'>{html.escape(str(e))}</span>"
