"""What every domain service is built with: one library's `Context`, and `Service`, their base.

A domain service (`photolab.faces.verbs.FacesService`, `photolab.albums.verbs.AlbumsService`...)
is built from the context and the other services it uses, passed to its constructor; the
constructors are the one place where a domain's dependencies on other domains are written
(`photolab.library.Library` builds them in order, and `tests/test_layout.py` checks that
they form no cycle). A service whose domain has a main read is callable as that read:
`lib.faces()` is `lib.faces.faces()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .access import may_write
from .catalog import Catalog
from .loaded import Loaded
from .materialised import Materialised
from .settings import Settings

if TYPE_CHECKING:
    from .media.dates import DateRule


@dataclass(eq=False)
class Context:
    """One open library: its folder, settings, catalog, kept answers, loaded models, and who
    acts on it (shared by its services: a change here is seen by all of them)."""

    root: Path
    settings: Settings
    catalog: Catalog
    materialised: Materialised
    loaded: Loaded
    #: the name decisions are recorded under
    who: str
    #: the family member this library acts for (None: the owner)
    member: str | None
    read_only: bool
    date_rules: list[DateRule] | None = None
    #: processes and threads a stage may use (None: every core); Ray workers set 1
    cpu_limit: int | None = None

    @property
    def thumbs_dir(self) -> Path:
        return self.root / "thumbs"


def from_context(name: str, settable: bool = False) -> Any:
    """A property that reads (and, `settable`, writes) `self.ctx.<name>`."""
    def get(self: Any) -> Any:
        return getattr(self.ctx, name)

    def put(self: Any, value: Any) -> None:
        setattr(self.ctx, name, value)

    return property(get, put if settable else None, doc=f"The context's `{name}`.")


class OnContext:
    """What `Library` and every service read of their `Context` (`self.ctx`), by name. A Ray
    worker sets `settings` to the driver's and `cpu_limit` to 1."""

    ctx: Context

    root: Path = from_context("root")
    catalog: Catalog = from_context("catalog")
    materialised: Materialised = from_context("materialised")
    loaded: Loaded = from_context("loaded")
    thumbs_dir: Path = from_context("thumbs_dir")
    read_only: bool = from_context("read_only")
    member: str | None = from_context("member")
    date_rules: list[DateRule] | None = from_context("date_rules")
    settings: Settings = from_context("settings", settable=True)
    who: str = from_context("who", settable=True)
    cpu_limit: int | None = from_context("cpu_limit", settable=True)


class Service(OnContext):
    """A domain's verbs over one library's `Context`; the other services it uses are its
    constructor's arguments."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.ctx.root)!r})"

    def _may_write(self) -> str | None:
        """Why this library may not write for its member (removed, or a viewer), or None
        (`photolab.access.writes` asks it before every writing verb)."""
        return may_write(self.catalog, self.member)
