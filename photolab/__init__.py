"""photolab: curate a personal photo library in Jupyter, as pure stages over Polars frames."""

from .errors import (
    AlbumNotFoundError,
    ClusterNotFoundError,
    DecisionNotFoundError,
    EventNotFoundError,
    FaceNotFoundError,
    LibraryLockedError,
    ModelNotFoundError,
    NotFoundError,
    PersonNotFoundError,
    PhotolabError,
    PhotoNotFoundError,
    PlaceNotFoundError,
    ReadOnlyError,
    ToolNotFoundError,
)
from .ingest import IngestReport
from .library import Library

__version__ = "0.1.0"
__all__ = ["AlbumNotFoundError", "ClusterNotFoundError", "DecisionNotFoundError",
           "EventNotFoundError", "FaceNotFoundError", "IngestReport", "Library",
           "LibraryLockedError", "ModelNotFoundError", "NotFoundError", "PersonNotFoundError",
           "PhotoNotFoundError",
           "PhotolabError", "PlaceNotFoundError", "ReadOnlyError", "ToolNotFoundError",
           "__version__"]
