"""Where the out-of-the-box run finds photos: the shared test corpus when it sits beside the
checkout, else the sample images that ship inside scikit-image."""

from __future__ import annotations

from pathlib import Path

from .errors import PhotolabError


def default_roots() -> list[Path]:
    """`../shared/corpus` (from the working folder or the source tree), else skimage's data."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (Path.cwd() / "../shared/corpus", here / "../shared/corpus"):
        if candidate.is_dir():
            return [candidate.resolve()]
    try:
        import skimage.data
    except ImportError as e:
        raise PhotolabError("no ../shared/corpus and no sample photos: "
                            "pip install 'photolab[sample]' or name a folder") from e
    return [Path(skimage.data.__file__).parent]
