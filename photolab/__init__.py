"""photolab: curate a personal photo library in Jupyter, as pure stages over Polars frames."""

from .errors import (
    LibraryLockedError,
    ModelNotFoundError,
    PhotolabError,
    PhotoNotFoundError,
    ToolNotFoundError,
)
from .library import IngestReport, Library

__version__ = "0.1.0"
__all__ = ["IngestReport", "Library", "LibraryLockedError", "ModelNotFoundError",
           "PhotoNotFoundError", "PhotolabError", "ToolNotFoundError", "__version__"]
