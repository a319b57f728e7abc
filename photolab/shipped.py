"""The notebooks and dashboards that ship with photolab.

In the repository they are the top-level `notebooks/` and `dashboards/` folders; a wheel maps
them into the package (`photolab/notebooks`, `photolab/dashboards`, see pyproject.toml), where
`importlib.resources` finds them. A checkout or an editable install reads the top-level ones.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from .errors import PhotolabError

KINDS = ("notebooks", "dashboards")


def folder(kind: str) -> Path:
    """The folder of shipped `kind` ("notebooks" or "dashboards").

    >>> sorted(p.name for p in folder("dashboards").glob("*.ipynb"))[:2]
    ['albums.ipynb', 'duplicates.ipynb']
    """
    if kind not in KINDS:
        raise PhotolabError(f"{kind!r}: one of {KINDS}")
    inside = files("photolab") / kind
    if inside.is_dir():  # an installed wheel
        return Path(str(inside))
    top = Path(__file__).resolve().parent.parent / kind  # a checkout, an editable install
    if top.is_dir():
        return top
    raise PhotolabError(f"photolab's {kind} folder is missing from this installation")
