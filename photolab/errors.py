"""Exception classes a caller can catch."""


class PhotolabError(Exception):
    """Base class of every error photolab raises on purpose."""


class LibraryLockedError(PhotolabError):
    """The catalog stayed locked by another writer longer than the busy timeout."""


class ModelNotFoundError(PhotolabError):
    """A model file a stage needs is not present; the message says where to put it."""


class ToolNotFoundError(PhotolabError):
    """An external program (exiftool, ffmpeg) is not installed."""


class PhotoNotFoundError(PhotolabError, KeyError):
    """No photo with that id is in the catalog."""


class ReadOnlyError(PhotolabError):
    """The library was opened read-only (a guest's dashboard): nothing may be written."""
