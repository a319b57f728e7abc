"""Controls that hold on the kernel side whatever a browser sends.

A guest's browser can send any message over the kernel websocket, so a control's disabled
state is not trusted: `Button` ignores clicks while disabled. Changing controls are hidden for
guests (`for_guests`), and the `Library` refuses the change anyway (`photolab.access`).
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

GUEST_NOTE = ("<small style='color:#666'>View only: this library is shared read-only, so "
              "nothing here can be changed.</small>")


class Button(w.Button):
    """An `ipywidgets.Button` whose click handlers do not run while it is disabled."""

    def _handle_button_msg(self, _: Any, content: dict[str, Any], buffers: Any) -> None:
        if self.disabled:
            return
        super()._handle_button_msg(_, content, buffers)


def for_guests(read_only: bool, *controls: w.Widget) -> w.HTML:
    """Hide and disable `controls` when the library is read-only; returns a note to show
    (empty for the owner)."""
    if not read_only:
        return w.HTML()
    for c in controls:
        if hasattr(c, "disabled"):
            c.disabled = True
        c.layout.display = "none"
    return w.HTML(GUEST_NOTE)
