"""Widgets: views over a `Library` for JupyterLab and Voilà (`pip install photolab[widgets]`).

Each widget takes a Library, shows it, and calls Library verbs from its callbacks.
"""

from .duplicates import DuplicateReview
from .people import ClusterReview, PersonLabeller, embedding_view

__all__ = ["ClusterReview", "DuplicateReview", "PersonLabeller", "embedding_view"]
