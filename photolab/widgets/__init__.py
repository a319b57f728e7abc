"""Widgets: views over a `Library` for JupyterLab and Voilà (`pip install photolab[widgets]`).

Each widget takes a Library, shows it, and calls Library verbs from its callbacks.
"""

from .covers import AlbumsPage, PeoplePage, PlacesPage
from .duplicates import DuplicateReview
from .home import HomePage
from .people import ClusterReview, PersonLabeller, embedding_view
from .photos import PhotosApp, Timeline
from .places import PlaceMap, PlaceSunburst, place_map
from .search import SearchBox
from .shared import SharedAlbum, SharePanel
from .tuner import Tuner

__all__ = ["AlbumsPage", "ClusterReview", "DuplicateReview", "HomePage", "PeoplePage",
           "PersonLabeller", "PhotosApp", "PlaceMap", "PlaceSunburst", "PlacesPage", "SearchBox",
           "SharePanel", "SharedAlbum", "Timeline", "Tuner",
           "embedding_view", "place_map"]
