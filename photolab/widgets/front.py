"""The widgets' front end: JavaScript modules (`*.mjs`) and stylesheets (`*.css`) in
`photolab/widgets/static/`, shipped inside the wheel and read once per process.

An anywidget module is loaded from a blob URL, so it cannot import a sibling file: `esm()`
puts the shared helpers it names before the module's own file, whole, after a line of data
for each constant the helpers need (`const NAME = <JSON>;`). Nothing in a file is rewritten.
Files are checked by `node --check` (tests/test_front.py, `.ci/run`).

| file | what |
| --- | --- |
| `image_url.mjs` | `imageUrl(buffer, type, urls)`: one URL for every image without a preview |
| `early_gone.mjs` | `earlyGone()`: removes the page's early HTML (`photolab.widgets.early`) |
| `timeline.mjs`, `viewer.mjs`, `covers.mjs`, `opened.mjs`, `chart.mjs` | the widgets |
| `tiles.css`, `covers.css` | a tile and a cover, styled once for the widgets and early HTML |
| `timeline.css`, `viewer.css`, `early.css` | what is theirs alone |
| `no_preview.svg` | what a photo without a preview shows |
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

#: the folder of the front-end files (inside the installed package)
STATIC = files("photolab.widgets") / "static"
#: the type a widget's message gives an image it has no bytes for (it sends b"")
NONE = "none"


@cache
def text(name: str) -> str:
    """One file of `static/`."""
    return (STATIC / name).read_text(encoding="utf-8")


#: what a tile or cover shows for a photo without a preview (a video, a damaged file)
NO_PREVIEW: bytes = text("no_preview.svg").strip().encode()


def esm(own: str, *helpers: str, **data: Any) -> str:
    """An anywidget module: `const NAME = <JSON>;` for each of `data`, then the `helpers`
    files and the module's `own` file, each whole."""
    consts = [f"const {name} = {json.dumps(value)};" for name, value in data.items()]
    return "\n".join([*consts, *(text(h) for h in helpers), text(own)])


def css(*names: str) -> str:
    """Stylesheets, one after another (a shared one first, so a widget's own rules win)."""
    return "\n".join(text(n) for n in names)


def image_esm(own: str) -> str:
    """A module that draws images (`imageUrl`) and replaces the early HTML (`earlyGone`)."""
    return esm(own, "image_url.mjs", "early_gone.mjs", NO_PREVIEW_SVG=NO_PREVIEW.decode(),
               NONE=NONE)
