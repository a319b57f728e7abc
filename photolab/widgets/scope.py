"""What a photos page may show and do (`Scope`): everything, on the family's pages, or one
shared album's photos on the page its link opens (`photolab.widgets.shared`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """What a page may show and do: everything (the family's pages, the default), or one
    shared album (`photolab.widgets.shared`): only `photo_ids`, people's names only with
    `names`, originals only with `download`, no change (`changes`), and nothing at all once
    `alive()` says the share has ended. Every message a page sends is checked against it
    in the kernel (a page can send any id)."""

    photo_ids: frozenset[int] | None = None
    names: bool = True
    download: bool = True
    changes: bool = True
    alive: Callable[[], bool] = lambda: True
    #: what the page says once `alive()` is false
    ended: str = "This link no longer works."

    def admits(self, photo_id: int) -> bool:
        """Whether a photo may be shown (and the share still stands)."""
        return (self.photo_ids is None or int(photo_id) in self.photo_ids) and self.alive()


EVERYTHING = Scope()
