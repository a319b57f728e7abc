"""Swap a box's contents and close what it held, so a kernel's memory stays bounded while
someone pages through thousands of photos (a widget lives in the kernel until closed)."""

from __future__ import annotations

from collections.abc import Iterable

import ipywidgets as w


def close_tree(widget: w.Widget) -> None:
    """Close a widget and everything inside it (its layout and style are widgets too)."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    for part in (getattr(widget, "layout", None), getattr(widget, "style", None)):
        if isinstance(part, w.Widget):
            part.close()
    widget.close()


def replace_children(box: w.Box, new: Iterable[w.Widget]) -> None:
    """Show `new` in `box` and close the widgets it showed before."""
    old = box.children
    box.children = tuple(new)
    for child in old:
        close_tree(child)
