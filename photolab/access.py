"""Who may change what: read-only libraries (guests) refuse every writing verb up front.

A verb that changes anything (the catalog, the photos, sidecars, thumbnails, the trash,
backups, exports) is declared with `@writes`. On a read-only `Library`, or one acting for a
family member who is a viewer or was removed (`photolab.members`), it raises `ReadOnlyError`
before its body runs, so no side effect can happen first. The test suite
enumerates every public `Library` method, so a new verb cannot be left undeclared.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import ReadOnlyError

F = TypeVar("F", bound=Callable[..., Any])

READ_ONLY_MESSAGE = "this library is open read-only: nothing can be changed"


def writes(method: F) -> F:
    """Declare a `Library` verb as one that changes something (refused when read-only)."""

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.read_only:
            raise ReadOnlyError(f"{READ_ONLY_MESSAGE} ({method.__name__} was refused)")
        # a family member's page: their role as the catalog says now (removed, or made a
        # viewer, while the page was open)
        if (why := self._may_write()) is not None:
            raise ReadOnlyError(f"{why}: nothing can be changed ({method.__name__} was refused)")
        return method(self, *args, **kwargs)

    guarded.writes = True  # type: ignore[attr-defined]
    return guarded  # type: ignore[return-value]


def is_writing(method: object) -> bool:
    """Whether a verb was declared with `@writes`."""
    return bool(getattr(method, "writes", False))


def shown_path(path: str | None, guest: bool) -> str:
    """A photo's path as a person may see it: the whole path for the library's owner, the
    file name alone for a guest (a guest learns nothing of the server's folders)."""
    if not path:
        return ""
    return os.path.basename(path) if guest else path
