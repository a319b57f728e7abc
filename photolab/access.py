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
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import ReadOnlyError

if TYPE_CHECKING:
    from .catalog import Catalog

F = TypeVar("F", bound=Callable[..., Any])

READ_ONLY_MESSAGE = "this library is open read-only: nothing can be changed"


def writes(method: F) -> F:
    """Declare a verb (of a service, `photolab.context.Service`) as one that changes
    something (refused when read-only)."""

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


def active_member(catalog: Catalog, name: str) -> dict[str, Any] | None:
    """An active member by name (`member_id`, `name`, `role`), or None."""
    row = catalog.frame("SELECT member_id, name, role FROM members WHERE name = ? "
                        "AND removed_at IS NULL", [name])
    return row.row(0, named=True) if row.height else None


def may_write(catalog: Catalog, member: str | None) -> str | None:
    """Why a library acting for `member` may not write (removed, or a viewer), or None (the
    owner, or an editor), as the catalog says now."""
    if member is None:
        return None
    m = active_member(catalog, member)
    if m is None:
        return f"{member} is no longer a member of this library"
    if m["role"] != "editor":
        return f"{member} may look, not change (a viewer)"
    return None


def is_writing(method: object) -> bool:
    """Whether a verb was declared with `@writes`."""
    return bool(getattr(method, "writes", False))


def shown_path(path: str | None, guest: bool) -> str:
    """A photo's path as a person may see it: the whole path for the library's owner, the
    file name alone for a guest (a guest learns nothing of the server's folders)."""
    if not path:
        return ""
    return os.path.basename(path) if guest else path
