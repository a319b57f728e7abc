"""What a library has loaded and keeps between calls: exiftool processes, the face detector,
the CLIP model, its label vectors, the vector index, the captioner. One owner for all of them,
so a verb asks for what it needs by name and key and `Library.close()` closes each once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Loaded:
    """Things loaded once and kept while their key (their parameters) stays the same."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[Any, Any, Callable[[Any], None] | None]] = {}

    def get(self, name: str, key: Any, make: Callable[[], T],
            close: Callable[[T], None] | None = None) -> T:
        """The thing called `name` loaded for `key`; made (and the one loaded for another key
        closed) when there is none for this key."""
        held = self._items.get(name)
        if held is not None and held[0] == key:
            return held[1]  # type: ignore[no-any-return]
        self.drop(name)
        value = make()
        self._items[name] = (key, value, close)  # type: ignore[assignment]
        return value

    def peek(self, name: str) -> Any:
        """The thing called `name` if loaded, else None (nothing is made)."""
        held = self._items.get(name)
        return None if held is None else held[1]

    def drop(self, name: str) -> None:
        """Close and forget the thing called `name`."""
        held = self._items.pop(name, None)
        if held is not None and held[2] is not None:
            held[2](held[1])

    def close(self) -> None:
        """Close everything, newest first."""
        for name in reversed(list(self._items)):
            self.drop(name)
