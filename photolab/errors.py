"""Exception classes a caller can catch (every one is exported from `photolab`)."""


class PhotolabError(Exception):
    """Base class of every error photolab raises on purpose."""


class LibraryLockedError(PhotolabError):
    """The catalog stayed locked by another writer longer than the busy timeout."""


class ModelNotFoundError(PhotolabError):
    """A model file a stage needs is not present; the message says where to put it."""


class ToolNotFoundError(PhotolabError):
    """An external program (exiftool, ffmpeg) is not installed."""


class ReadOnlyError(PhotolabError):
    """The library was opened read-only (a guest's dashboard): nothing may be written."""


class NotFoundError(PhotolabError, KeyError):
    """Something asked for by id or name is not in the library."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class PhotoNotFoundError(NotFoundError):
    """No photo with that id is in the catalog."""


class FaceNotFoundError(NotFoundError):
    """No face with that id."""


class PersonNotFoundError(NotFoundError):
    """No person with that id or name."""


class ClusterNotFoundError(NotFoundError):
    """No face cluster with that id."""


class AlbumNotFoundError(NotFoundError):
    """No album with that id or name."""


class EventNotFoundError(NotFoundError):
    """No event with that id (events are recomputed: an id lasts while the event does)."""


class DecisionNotFoundError(NotFoundError):
    """No decision with that id."""


class PlaceNotFoundError(NotFoundError):
    """No place with that id or name."""
